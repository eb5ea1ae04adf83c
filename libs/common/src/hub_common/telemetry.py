"""OpenTelemetry traces and metrics, W3C context across HTTP and Kafka, Prometheus /metrics.

Spans are always created (so trace ids reach logs and propagate to other services); they are
exported over OTLP/HTTP only when ``HUB_OTLP_ENDPOINT`` is set.
"""

from __future__ import annotations

import logging
from collections.abc import MutableMapping

from opentelemetry import metrics, propagate, trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

log = logging.getLogger(__name__)
_configured = False


def setup_telemetry(service_name: str, otlp_endpoint: str | None = None) -> None:
    global _configured
    if _configured:
        return
    _configured = True
    resource = Resource.create({"service.name": service_name, "service.namespace": "integration-hub"})
    tracer_provider = TracerProvider(resource=resource)
    if otlp_endpoint:
        from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader

        base = otlp_endpoint.rstrip("/")
        tracer_provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(f"{base}/v1/traces")))
        reader = PeriodicExportingMetricReader(OTLPMetricExporter(f"{base}/v1/metrics"))
        metrics.set_meter_provider(MeterProvider(resource=resource, metric_readers=[reader]))
        log.info("OTLP export enabled", extra={"endpoint": base})
    trace.set_tracer_provider(tracer_provider)


def inject_trace_headers(headers: MutableMapping[str, str]) -> MutableMapping[str, str]:
    """Add ``traceparent``/``tracestate`` of the current span to outgoing HTTP headers."""
    propagate.inject(headers)
    return headers
