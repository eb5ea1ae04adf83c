from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timedelta

import pytest
from aiokafka.record.default_records import DefaultRecordBatch

from hub_common.events.envelope import decode
from hub_common.events.models import IntegrationApiRequest
from hub_gateway.adapters.event_sink import ApiRequestRecord, EventSink, _rfc3339, encode
from hub_gateway.domain.circuit import CLOSED, HALF_OPEN, OPEN, Circuit, CircuitBoard
from hub_gateway.services.cache import TtlCache

pytestmark = pytest.mark.unit


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def test_cache_ttl_bound_and_single_flight():
    clock = Clock()
    cache: TtlCache[str, int] = TtlCache(ttl_s=10, max_entries=2, clock=clock)
    loads = 0

    async def load() -> int:
        nonlocal loads
        loads += 1
        await asyncio.sleep(0.01)
        return loads

    assert await asyncio.gather(*(cache.get("a", load) for _ in range(5))) == [1] * 5
    assert loads == 1
    clock.now = 11
    assert await cache.get("a", load) == 2
    await cache.get("b", load)
    await cache.get("c", load)
    assert len(cache) == 2 and cache.peek("a") is None


async def test_invalidation_during_a_load_wins():
    cache: TtlCache[str, str] = TtlCache(ttl_s=60, max_entries=10)
    gate = asyncio.Event()

    async def slow() -> str:
        await gate.wait()
        return "active"

    pending = asyncio.create_task(cache.get("c", slow))
    await asyncio.sleep(0)
    cache.invalidate("c")  # e.g. integration.disconnected arrives while the lookup is in flight
    gate.set()
    assert await pending == "active"  # that caller gets its answer...
    assert cache.peek("c") is None  # ...but it is not cached


async def test_a_caller_after_an_invalidation_does_not_join_the_older_load():
    cache: TtlCache[str, str] = TtlCache(ttl_s=60, max_entries=10)
    old_gate, loads = asyncio.Event(), []

    async def old() -> str:
        loads.append("old")
        await old_gate.wait()
        return "OLD-credential"

    async def new() -> str:
        loads.append("new")
        return "NEW-credential"

    first = asyncio.create_task(cache.get("c", old))
    await asyncio.sleep(0)
    cache.invalidate("c")  # credential.changed while a slow vault read is in flight
    assert await cache.get("c", new) == "NEW-credential"  # a fresh load, not the old one's answer
    old_gate.set()
    assert await first == "OLD-credential"  # the caller that was already waiting gets its answer
    assert loads == ["old", "new"] and cache.peek("c") == "NEW-credential"


async def test_untrusted_cache_always_reloads():
    trusted = False
    cache: TtlCache[str, int] = TtlCache(ttl_s=60, max_entries=10, trusted=lambda: trusted)
    calls = 0

    async def load() -> int:
        nonlocal calls
        calls += 1
        return calls

    await cache.get("a", load)
    await cache.get("a", load)
    assert calls == 2
    trusted = True  # events flow again: the last load is served from memory
    await cache.get("a", load)
    await cache.get("a", load)
    assert calls == 2


async def test_failed_loads_are_not_cached_and_reach_joiners():
    cache: TtlCache[str, int] = TtlCache(ttl_s=60, max_entries=10)

    async def boom() -> int:
        await asyncio.sleep(0.01)
        raise RuntimeError("down")

    results = await asyncio.gather(*(cache.get("x", boom) for _ in range(3)), return_exceptions=True)
    assert all(isinstance(r, RuntimeError) for r in results)
    assert cache.peek("x") is None


def test_circuit_breaker_lifecycle():
    c = Circuit(failure_threshold=3, open_s=10)
    assert c.allow(0)
    c.failure(0)
    c.failure(0)
    c.success()
    assert c.state == CLOSED and c.failures == 0
    for _ in range(3):
        opened = c.failure(1)
    assert opened and c.state == OPEN and not c.allow(5) and c.retry_after(5) == 6
    assert c.allow(11) and c.state == HALF_OPEN
    assert not c.allow(11)  # one trial at a time
    c.failure(12)
    assert c.state == OPEN and not c.allow(13)
    assert c.allow(22)
    c.success()
    assert c.state == CLOSED and c.allow(22)


def test_a_trial_without_a_verdict_does_not_keep_the_circuit_shut():
    c = Circuit(failure_threshold=1, open_s=10)
    c.failure(0)
    assert c.allow(10) and c.on_trial
    c.abandon(10)  # e.g. the caller went away while sending its body
    assert c.allow(10)  # the next call may try
    assert not c.allow(15)  # ... one at a time
    assert c.allow(20)  # a trial not heard of for open_s is presumed lost: a new one starts
    c.abandon(10)  # the lost trial ending late frees nothing: the newer one still runs
    assert not c.allow(21)
    c.success()
    assert c.state == CLOSED and not c.on_trial
    c.abandon(20)  # harmless outside a trial
    assert c.state == CLOSED and c.allow(22)


def test_circuit_board_is_bounded():
    board = CircuitBoard(3, 10, max_hosts=10)
    for i in range(25):
        board.get(f"h{i}")
    assert len(board.states()) <= 10


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
