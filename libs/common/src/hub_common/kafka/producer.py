"""An idempotent, acks=all producer that publishes typed events as CloudEvents."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaConnectionError, KafkaError
from opentelemetry import propagate, trace

from hub_common.errors import ConfigurationError
from hub_common.events.envelope import encode
from hub_common.events.models import HubEvent
from hub_common.telemetry import exporting

log = logging.getLogger(__name__)
tracer = trace.get_tracer("hub_common.kafka")

Headers = Sequence[tuple[str, bytes]]


class EventProducer:
    def __init__(self, bootstrap: str, *, source: str, client_id: str | None = None) -> None:
        self.bootstrap = bootstrap
        self.source = source
        self._client_id = client_id or source
        self._producer: AIOKafkaProducer | None = None

    async def start(self, timeout_s: float = 15.0) -> None:
        producer = AIOKafkaProducer(
            bootstrap_servers=self.bootstrap,
            client_id=self._client_id,
            enable_idempotence=True,
            acks="all",
            linger_ms=2,
            request_timeout_ms=15000,
        )
        try:
            await asyncio.wait_for(producer.start(), timeout_s)
        except (KafkaConnectionError, KafkaError, TimeoutError, OSError) as exc:
            await producer.stop()
            raise ConfigurationError(
                f"cannot reach Kafka at {self.bootstrap} ({type(exc).__name__}); "
                "is the stack up? (hubctl stack up) or set HUB_KAFKA_BOOTSTRAP"
            ) from None
        self._producer = producer

    async def stop(self) -> None:
        if self._producer is not None:
            await self._producer.stop()
            self._producer = None

    @property
    def producer(self) -> AIOKafkaProducer:
        if self._producer is None:
            raise RuntimeError("EventProducer.start() was not awaited")
        return self._producer

    async def publish(self, event: HubEvent, *, event_id: str | None = None) -> None:
        """Publish and wait until every in-sync replica acknowledged."""
        with tracer.start_as_current_span(
            f"send {event.topic}", kind=trace.SpanKind.PRODUCER, attributes=send_attributes(event.topic)
        ) as span:
            key, value, headers = encode(event, source=self.source, event_id=event_id)
            sent = await self.producer.send_and_wait(event.topic, value, key=key, headers=headers)
            _record_delivery(span, sent)

    async def publish_raw(
        self, topic: str, value: bytes | None, *, key: bytes | None, headers: Headers
    ) -> None:
        await self.producer.send_and_wait(topic, value, key=key, headers=list(headers))

    async def publish_many(self, records: Sequence[tuple[str, bytes | None, bytes | None, Headers]]) -> None:
        """Send several records, then wait for all acks (order per partition is kept)."""
        if not exporting():
            futures = [
                await self.producer.send(topic, value, key=key, headers=list(headers))
                for topic, key, value, headers in records
            ]
            await asyncio.gather(*futures)
            return
        # One PRODUCER span per record, a child of the context the record was written in (the
        # outbox keeps the request's traceparent), whose own context then travels with it.
        spans: list[trace.Span] = []
        try:
            futures = []
            for topic, key, value, headers in records:
                span, traced = _send_span(topic, headers)
                spans.append(span)
                futures.append(await self.producer.send(topic, value, key=key, headers=traced))
            delivered = await asyncio.gather(*futures)
        except BaseException as exc:
            for span in spans:
                span.set_status(trace.Status(trace.StatusCode.ERROR))
                span.set_attribute("error.type", type(exc).__qualname__)
                span.end()
            raise
        for span, sent in zip(spans, delivered, strict=True):
            _record_delivery(span, sent)
            span.end()

    async def ping(self) -> bool:
        """True when the broker answers a metadata request (used by /readyz)."""
        try:
            await asyncio.wait_for(self.producer.client.fetch_all_metadata(), 3.0)
        except Exception:
            return False
        return True


def send_attributes(topic: str) -> dict[str, str]:
    """A PRODUCER span's messaging attributes (OpenTelemetry messaging conventions)."""
    return {
        "messaging.system": "kafka",
        "messaging.operation.type": "send",
        "messaging.operation.name": "send",
        "messaging.destination.name": topic,
    }


def _send_span(topic: str, headers: Headers) -> tuple[trace.Span, list[tuple[str, bytes]]]:
    carrier = {k: v.decode("latin-1") for k, v in headers if k in ("traceparent", "tracestate")}
    span = tracer.start_span(
        f"send {topic}",
        context=propagate.extract(carrier),
        kind=trace.SpanKind.PRODUCER,
        attributes=send_attributes(topic),
    )
    own: dict[str, str] = {}
    propagate.inject(own, context=trace.set_span_in_context(span))
    traced = [(k, v) for k, v in headers if k not in ("traceparent", "tracestate")]
    traced.extend((k, v.encode()) for k, v in own.items())
    return span, traced


def _record_delivery(span: trace.Span, sent: object) -> None:
    partition = getattr(sent, "partition", None)
    offset = getattr(sent, "offset", None)
    if partition is not None:
        span.set_attribute("messaging.destination.partition.id", str(partition))
    if offset is not None:
        span.set_attribute("messaging.kafka.offset", int(offset))
