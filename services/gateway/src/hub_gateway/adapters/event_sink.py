"""``integration.api-request`` events, batched off the hot path.

A request only appends a tuple to a bounded deque (no I/O, no model building); a background task
turns batches into CloudEvents records and publishes them (acks=all) every flush interval. When
the deque is full the event is dropped and counted (``hub_gateway_events_dropped_total``): a
proxied call never waits for Kafka. On shutdown the queue is drained.

Records are encoded here directly (orjson) instead of through the pydantic model, which costs
~10x more per event; a unit test pins the bytes to ``IntegrationApiRequest``'s schema.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections import deque
from datetime import UTC, datetime
from typing import Any, NamedTuple

import orjson
from aiokafka.partitioner import DefaultPartitioner
from aiokafka.producer.message_accumulator import BatchBuilder
from aiokafka.record.default_records import DefaultRecordBatch
from prometheus_client import Counter

from hub_common.background import BackgroundTask
from hub_common.events.envelope import CONTENT_TYPE, SPECVERSION
from hub_common.events.models import IntegrationApiRequest
from hub_common.kafka.producer import EventProducer

log = logging.getLogger(__name__)
EVENTS = Counter("hub_gateway_events_total", "integration.api-request events", ["outcome"])
_PUBLISHED = EVENTS.labels("published")
_DROPPED = EVENTS.labels("dropped")
_FAILED = EVENTS.labels("failed")
TOPIC = IntegrationApiRequest.topic
_TYPE = IntegrationApiRequest.event_type().encode()
# Bytes per record batch. aiokafka's default (16 KiB, ~30 of these events) made one produce
# request per 30 events, and each request costs the broker far more than its records: at ~9,000
# calls/s the broker spent ~18 us of CPU per event (on the gateway's own 2 cores, in
# bench/gateway_bench.py), ~4 us with batches this size. Below the broker's 1 MiB message limit.
RECORD_BATCH_BYTES = 512 * 1024
CONFIRM_WAIT_S = 5.0  # the longest a batch waits for the broker's acknowledgements (< stop's 10 s)


class ApiRequestRecord(NamedTuple):
    tenant_id: str
    connection_id: str
    connector_id: str | None
    method: str
    endpoint: str
    status_code: int
    duration_ms: int
    rate_limit_remaining: int | None
    error_code: str | None
    timestamp: float
    traceparent: str | None


_second: tuple[int, str] = (-1, "")  # the last whole second formatted, and its text


def _rfc3339(epoch: float) -> str:
    """RFC 3339 in UTC with microseconds; the date and time are formatted once per second (a
    ``datetime`` per event cost more than the rest of the event's encoding)."""
    global _second
    whole = int(epoch)
    if _second[0] != whole:
        _second = (whole, datetime.fromtimestamp(whole, UTC).strftime("%Y-%m-%dT%H:%M:%S"))
    return f"{_second[1]}.{int((epoch - whole) * 1_000_000):06d}+00:00"


# Version 4 and the RFC 4122 variant, set in a random 128-bit number: a UUID's text without
# building a ``uuid.UUID`` (a third of the cost; one id per event).
_UUID4_KEEP = ~((0xF000 << 64) | (0xC000 << 48)) & ((1 << 128) - 1)
_UUID4_SET = (0x4000 << 64) | (0x8000 << 48)


def _uuid4_text() -> str:
    h = f"{random.getrandbits(128) & _UUID4_KEEP | _UUID4_SET:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


_SPECVERSION = ("ce_specversion", SPECVERSION.encode())
_CONTENT_TYPE = ("content-type", CONTENT_TYPE.encode())


def encode(record: ApiRequestRecord, source: bytes) -> tuple[bytes, bytes, list[tuple[str, bytes]]]:
    ts = _rfc3339(record.timestamp)
    value = orjson.dumps(
        {
            "tenant_id": record.tenant_id,
            "timestamp": ts,
            "connection_id": record.connection_id,
            "connector_id": record.connector_id,
            "method": record.method,
            "endpoint": record.endpoint,
            "status_code": record.status_code,
            "duration_ms": record.duration_ms,
            "rate_limit_remaining": record.rate_limit_remaining,
            "error_code": record.error_code,
        }
    )
    key = record.connection_id.encode()
    headers = [
        _SPECVERSION,
        ("ce_id", _uuid4_text().encode()),
        ("ce_type", _TYPE),
        ("ce_source", source),
        ("ce_time", ts.encode()),
        _CONTENT_TYPE,
        ("ce_subject", key),
    ]
    if record.traceparent:
        headers.append(("traceparent", record.traceparent.encode()))
    return key, value, headers


def _read_outcome(future: Any) -> None:
    if not future.cancelled():
        future.exception()


def _new_batch() -> BatchBuilder:
    # Uncompressed, like the hub's producer; the producer's accumulator adds the idempotence
    # fields (producer id, sequence) when it sends the batch.
    return BatchBuilder(RECORD_BATCH_BYTES, DefaultRecordBatch.CODEC_NONE)


class EventSink:
    def __init__(
        self,
        producer: EventProducer | None,
        *,
        max_queue: int,
        flush_interval_s: float,
        batch_size: int = 1000,
    ) -> None:
        self._producer = producer
        self._queue: deque[ApiRequestRecord] = deque()
        self._max_queue = max_queue
        self._flush_interval_s = flush_interval_s
        self._batch_size = batch_size
        self._source = (producer.source if producer else "/integration-hub/gateway").encode()
        self._publisher = BackgroundTask("gateway-events")
        self._wake = asyncio.Event()
        self._partitioner = DefaultPartitioner()
        self._partitions: dict[str, tuple[int, int]] = {}

    def emit(self, record: ApiRequestRecord) -> None:
        if len(self._queue) >= self._max_queue:
            _DROPPED.inc()
            return
        self._queue.append(record)
        if len(self._queue) >= self._batch_size:
            self._wake.set()

    @property
    def queued(self) -> int:
        return len(self._queue)

    async def start(self) -> None:
        self._publisher.start(self._run())

    async def stop(self) -> None:
        await self._publisher.stop()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._drain(), 10)

    async def _run(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._flush_interval_s)
            self._wake.clear()
            try:
                await self._drain()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("api-request events not published", extra={"error": type(exc).__name__})
                await asyncio.sleep(self._flush_interval_s)

    async def _drain(self) -> None:
        """Publish what is queued as one record batch per partition (far cheaper per event than
        ``send``), keyed by connection id with Kafka's default partitioner, so every replica puts
        one connection's events on the same partition, in order."""
        while self._queue and self._producer is not None:
            batch = [self._queue.popleft() for _ in range(min(self._batch_size, len(self._queue)))]
            await self._publish(batch)

    async def _publish(self, batch: list[ApiRequestRecord]) -> None:
        """One batch, every event counted published or failed: record batches already handed
        to the producer are awaited even when a later one (or the metadata) fails, and what was
        taken off the queue but never sent is counted failed, not lost silently."""
        assert self._producer is not None
        producer = self._producer.producer
        futures: list[tuple[Any, int]] = []
        try:
            partitions = sorted(await producer.partitions_for(TOPIC))
            builders: dict[int, tuple[Any, int]] = {}
            for record in batch:
                key, value, headers = encode(record, self._source)
                partition = self._partition(record.connection_id, key, partitions)
                builder, count = builders.get(partition) or (_new_batch(), 0)
                if builder.append(key=key, value=value, timestamp=None, headers=headers) is None:
                    futures.append((await producer.send_batch(builder, TOPIC, partition=partition), count))
                    builder, count = _new_batch(), 0
                    builder.append(key=key, value=value, timestamp=None, headers=headers)
                builders[partition] = (builder, count + 1)
            for partition, (builder, count) in builders.items():
                futures.append((await producer.send_batch(builder, TOPIC, partition=partition), count))
        finally:
            # Bounded (within stop()'s drain budget): with the broker gone an answer may never
            # come, and what is not confirmed by then counts as failed, even if this task is
            # cancelled while it waits.
            try:
                if futures:
                    await asyncio.wait([f for f, _ in futures], timeout=CONFIRM_WAIT_S)
            finally:
                published = 0
                for future, n in futures:
                    if not future.done():
                        future.add_done_callback(_read_outcome)  # no stray "never retrieved"
                    elif not future.cancelled() and future.exception() is None:
                        published += n
                _PUBLISHED.inc(published)
                if len(batch) > published:
                    _FAILED.inc(len(batch) - published)

    def _partition(self, connection_id: str, key: bytes, partitions: list[int]) -> int:
        cached = self._partitions.get(connection_id)
        if cached is not None and cached[0] == len(partitions):
            return cached[1]
        partition: int = self._partitioner(key, partitions, partitions)
        self._partitions[connection_id] = (len(partitions), partition)
        if len(self._partitions) > 100_000:
            self._partitions.clear()
        return partition
