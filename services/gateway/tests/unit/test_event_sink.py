"""adapters/event_sink.py: integration.api-request events, hand-encoded and batched."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timedelta

import pytest
from aiokafka.record.default_records import DefaultRecordBatch

from hub_common.events.envelope import decode
from hub_common.events.models import IntegrationApiRequest
from hub_gateway.adapters.event_sink import ApiRequestRecord, EventSink, _rfc3339, encode

pytestmark = pytest.mark.unit


def record(**kw) -> ApiRequestRecord:
    base = dict(
        tenant_id="t",
        connection_id=str(uuid.uuid4()),
        connector_id="github",
        method="GET",
        endpoint="/user",
        status_code=200,
        duration_ms=3,
        rate_limit_remaining=10,
        error_code=None,
        timestamp=1_800_000_000.5,
        traceparent="00-" + "a" * 32 + "-" + "b" * 16 + "-01",
    )
    base.update(kw)
    return ApiRequestRecord(**base)


def test_hand_encoded_events_are_valid_typed_events():
    rec = record()
    key, value, headers = encode(rec, b"/integration-hub/gateway")
    event = decode(value, headers)
    parsed = event.parse(IntegrationApiRequest)
    assert parsed.connection_id == uuid.UUID(rec.connection_id) and parsed.duration_ms == 3
    assert key == rec.connection_id.encode() and event.trace_headers["traceparent"] == rec.traceparent
    assert event.subject == rec.connection_id
    ids = {uuid.UUID(event.id) for event in (decode(*encode(rec, b"/s")[1:]) for _ in range(200))}
    assert len(ids) == 200 and {(i.version, i.variant) for i in ids} == {(4, uuid.RFC_4122)}


async def test_event_queue_is_bounded_and_never_blocks():
    sink = EventSink(None, max_queue=3, flush_interval_s=1)
    for _ in range(5):
        sink.emit(record())
    assert sink.queued == 3


class _RecordingProducer:
    """Stands in for aiokafka's producer: keeps the record batches handed to it."""

    def __init__(self) -> None:
        self.batches: list[tuple[int, int]] = []  # (partition, records)

    async def partitions_for(self, topic: str) -> set[int]:
        return {0, 1, 2}

    async def send_batch(self, builder, topic: str, *, partition: int) -> asyncio.Future[None]:
        records = len(list(DefaultRecordBatch(bytes(builder._build()))))
        self.batches.append((partition, records))
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        future.set_result(None)
        return future


class _Events:
    source = "/integration-hub/gateway"

    def __init__(self) -> None:
        self.producer = _RecordingProducer()


async def test_a_flush_sends_few_large_record_batches():
    events = _Events()
    sink = EventSink(events, max_queue=10_000, flush_interval_s=1)  # type: ignore[arg-type]
    connection = str(uuid.uuid4())
    for _ in range(800):
        sink.emit(record(connection_id=connection))
    await sink._drain()
    # One connection → one partition; 800 events (~640 bytes each) fit in one batch, not ~25
    # batches of aiokafka's default 16 KiB.
    assert sum(n for _, n in events.producer.batches) == 800
    assert len(events.producer.batches) == 1 and sink.queued == 0


class _FailingOnSecondPartition(_RecordingProducer):
    async def send_batch(self, builder, topic: str, *, partition: int) -> asyncio.Future[None]:
        if self.batches:
            raise ConnectionError("broker gone")
        return await super().send_batch(builder, topic, partition=partition)


def _counted(outcome: str) -> float:
    from hub_gateway.adapters.event_sink import EVENTS

    return EVENTS.labels(outcome)._value.get()


async def test_a_batch_that_fails_partway_counts_every_event_once():
    """Events taken off the queue are published or counted failed: never lost unseen."""
    events = _Events()
    events.producer = _FailingOnSecondPartition()
    sink = EventSink(events, max_queue=10_000, flush_interval_s=1)  # type: ignore[arg-type]
    connections = [str(uuid.uuid4()) for _ in range(30)]  # spread over the three partitions
    for connection in connections:
        sink.emit(record(connection_id=connection))
    published, failed = _counted("published"), _counted("failed")
    with pytest.raises(ConnectionError):
        await sink._drain()
    sent = sum(n for _, n in events.producer.batches)
    assert 0 < sent < 30
    assert _counted("published") - published == sent
    assert _counted("failed") - failed == 30 - sent


def test_event_times_are_rfc3339_utc_to_the_microsecond():
    for epoch in (1_800_000_000.0, 1_800_000_000.5, 1_800_000_000.999999, 1_800_000_001.000001, 0.25):
        text = _rfc3339(epoch)
        parsed = datetime.fromisoformat(text)
        assert parsed.tzinfo is not None and parsed.utcoffset() == timedelta(0)
        assert abs(parsed.timestamp() - epoch) < 2e-6, (epoch, text)
    assert _rfc3339(1_800_000_000.5) == "2027-01-15T08:00:00.500000+00:00"
    assert _rfc3339(1_800_000_061.25) == "2027-01-15T08:01:01.250000+00:00"  # the next second's text
