"""OpenTelemetry traces, W3C context across HTTP and Kafka, Prometheus /metrics.

Spans are always created for the services' own server and consumer work (so trace ids reach
logs and propagate to other services); they are exported over OTLP/HTTP only when
``HUB_OTLP_ENDPOINT`` is set. Only then are the maintained instrumentations switched on too:
CLIENT spans for aiohttp (``ServiceClient``) and httpx (the connectors' gateway client), and
PostgreSQL (asyncpg) and Redis spans. Without an exporter they would cost CPU on every query
for spans nobody receives. Metrics are Prometheus only (``GET /metrics``): see
docs/adr/0015-end-to-end-traces.md.

No secret goes into a span: the instrumentations never record bodies or headers, asyncpg's
parameters are not captured, Redis commands are sanitized (``SET ? ?``), and the URL of a
CLIENT span is recorded without its query string (:func:`url_without_query`).
"""

from __future__ import annotations

import logging
import os
import traceback
from collections.abc import Collection, MutableMapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from opentelemetry import propagate, trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.sampling import (
    ALWAYS_OFF,
    ALWAYS_ON,
    ParentBased,
    Sampler,
    SamplingResult,
)
from opentelemetry.trace import Span, SpanKind, Status, StatusCode

from hub_common.redaction import redact_text

log = logging.getLogger(__name__)
_configured = False
_exporting = False
# The stable HTTP and database conventions (``http.request.method``, ``url.full``,
# ``db.system.name``...), not the instrumentations' older default names.
SEMCONV_OPT_IN = "http,database"


INSTRUMENTED = frozenset({"asyncpg", "redis", "aiohttp", "httpx"})


def setup_telemetry(
    service_name: str, otlp_endpoint: str | None = None, *, libraries: Collection[str] = INSTRUMENTED
) -> None:
    """``libraries``: which instrumentations to switch on when exporting (a process that uses
    fewer, like the outbox relay, skips importing the others)."""
    global _configured, _exporting
    if _configured:
        return
    _configured = True
    resource = Resource.create({"service.name": service_name, "service.namespace": "integration-hub"})
    tracer_provider = TracerProvider(resource=resource, sampler=ParentBased(root=NoOrphanClientSpans()))
    if otlp_endpoint:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        base = otlp_endpoint.rstrip("/")
        tracer_provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(f"{base}/v1/traces")))
        _exporting = True
        log.info("OTLP trace export enabled", extra={"endpoint": base})
    trace.set_tracer_provider(tracer_provider)
    if _exporting:
        _instrument_libraries(libraries)


class NoOrphanClientSpans(Sampler):
    """Root spans are kept, except CLIENT spans with no parent: a database or Redis call outside
    any request or record (the outbox relay's polls, the limiter's background refills) would
    otherwise make a one-span trace every few hundred milliseconds."""

    def should_sample(
        self,
        parent_context: Any,
        trace_id: int,
        name: str,
        kind: Any = None,
        attributes: Any = None,
        links: Any = None,
        trace_state: Any = None,
    ) -> SamplingResult:
        chosen = ALWAYS_OFF if kind is SpanKind.CLIENT else ALWAYS_ON
        return chosen.should_sample(parent_context, trace_id, name, kind, attributes, links, trace_state)

    def get_description(self) -> str:
        return "NoOrphanClientSpans"


def exporting() -> bool:
    """True when spans leave the process: the optional spans (per published record, per
    upstream call) are made only then."""
    return _exporting


def _instrument_libraries(libraries: Collection[str]) -> None:
    os.environ.setdefault("OTEL_SEMCONV_STABILITY_OPT_IN", SEMCONV_OPT_IN)
    if "asyncpg" in libraries:
        from opentelemetry.instrumentation.asyncpg import AsyncPGInstrumentor

        AsyncPGInstrumentor(capture_parameters=False).instrument()  # type: ignore[no-untyped-call]
    if "redis" in libraries:
        from opentelemetry.instrumentation.redis import RedisInstrumentor

        RedisInstrumentor().instrument()
    if "aiohttp" in libraries:
        from opentelemetry.instrumentation.aiohttp_client import AioHttpClientInstrumentor

        AioHttpClientInstrumentor().instrument(request_hook=_aiohttp_url_hook)
    if "httpx" in libraries:
        from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor

        HTTPXClientInstrumentor().instrument(
            async_request_hook=_httpx_url_hook, request_hook=_httpx_sync_url_hook
        )


def url_without_query(url: str) -> str:
    """The URL as a span may hold it: no query (API keys travel there), no user info."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def _set_url(span: Span, url: str) -> None:
    if span.is_recording():
        span.set_attribute("url.full", url_without_query(url))


def _aiohttp_url_hook(span: Span, params: Any) -> None:
    _set_url(span, str(params.url))


async def _httpx_url_hook(span: Span, request: Any) -> None:
    _set_url(span, str(request.url))


def _httpx_sync_url_hook(span: Span, request: Any) -> None:
    _set_url(span, str(request.url))


def mark_server_status(span: Span, status: int, exc: BaseException | None = None) -> None:
    """A server span's outcome by the conventions: 5xx is an error (4xx is the caller's)."""
    span.set_attribute("http.response.status_code", status)
    if status >= 500:
        span.set_attribute("error.type", str(status) if exc is None else type(exc).__qualname__)
        span.set_status(Status(StatusCode.ERROR))
        if exc is not None:
            record_exception(span, exc)


def record_exception(span: Span, exc: BaseException) -> None:
    """An ``exception`` event whose message and stack trace went through the log redactor (a
    message may quote what it failed on)."""
    if not span.is_recording():
        return
    stack = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    span.record_exception(
        exc,
        attributes={
            "exception.message": redact_text(str(exc)),
            "exception.stacktrace": redact_text(stack),
        },
    )


def record_server_error(exc: BaseException, status: int) -> None:
    """Called by the error handlers: a 5xx answer's exception on the current (server) span."""
    if status >= 500:
        record_exception(trace.get_current_span(), exc)


def inject_trace_headers(headers: MutableMapping[str, str]) -> MutableMapping[str, str]:
    """Add ``traceparent``/``tracestate`` of the current span to outgoing HTTP headers."""
    propagate.inject(headers)
    return headers
