"""Cache invalidation on every replica: ``integration.disconnected``,
``integration.status-changed``, ``integration.connected`` (a connection entering ``active``, e.g.
after the health check that an ``initializing`` entry was cached for) and ``credential.changed``.

Every replica must see every event, so there is no consumer group: each process assigns itself
all partitions of the three topics and starts at their end (what happened before it started is
not in its caches). When the topics' partitions change, every partition keeps its position and
new ones are read from their start (aiokafka alone would place them all at their end, past the
events written meanwhile). Nothing is committed, no group lingers in the broker after a
replica goes away. ``fetch_max_wait_ms`` is short, so an event reaches the caches in ~100 ms.

``healthy`` turns false when the broker has not answered a fetch for every assigned partition
within ``stale_after_s``; the caches then stop trusting their entries (every call reloads) until
events flow again — without events the 1-second promise cannot be kept any other way. (A poll
that returns nothing proves nothing: with the broker unreachable, aiokafka's ``getmany`` still
returns an empty batch after its timeout. The fetch responses' own timestamps are the proof.)
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import IllegalStateError, KafkaError
from opentelemetry import propagate, trace
from prometheus_client import Histogram

from hub_common.events.envelope import EnvelopeError, decode
from hub_common.events.models import (
    ConnectionStatusChanged,
    CredentialChanged,
    IntegrationConnected,
    IntegrationDisconnected,
)
from hub_common.kafka.admin import ensure_topics
from hub_common.telemetry import exporting
from hub_gateway.services.resolver import Resolver

log = logging.getLogger(__name__)
tracer = trace.get_tracer("hub_gateway.invalidation")
TOPICS = (
    IntegrationDisconnected.topic,
    ConnectionStatusChanged.topic,
    IntegrationConnected.topic,
    CredentialChanged.topic,
)
TOPICS_WAIT_S = 5.0
POSITION_WAIT_S = 1.0
MAX_PUT_BACKS = 3  # to the same offset in a row; then the broker's position is taken
LAG = Histogram(
    "hub_gateway_invalidation_lag_seconds",
    "From an event's time to its invalidation applied here",
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)


class InvalidationConsumer:
    def __init__(
        self,
        bootstrap: str,
        resolver: Resolver,
        *,
        stale_after_s: float = 5.0,
        topics: tuple[str, ...] = TOPICS,
        metadata_max_age_ms: int = 30_000,
    ) -> None:
        self._bootstrap = bootstrap
        self._resolver = resolver
        self._stale_after_s = stale_after_s
        self._topics = topics
        self._metadata_max_age_ms = metadata_max_age_ms
        self._next: dict[TopicPartition, int] = {}  # the offset after the last record applied
        self._put_backs: dict[TopicPartition, tuple[int, int]] = {}  # (offset, times in a row)
        self._consumer: AIOKafkaConsumer | None = None
        self._task: asyncio.Task[None] | None = None
        self._last_poll = 0.0
        self.started = asyncio.Event()

    @property
    def healthy(self) -> bool:
        return time.monotonic() - self._last_poll < self._stale_after_s

    async def start(self) -> None:
        with contextlib.suppress(Exception):
            await ensure_topics(self._bootstrap, self._topics)
        self._consumer = AIOKafkaConsumer(
            *self._topics,
            bootstrap_servers=self._bootstrap,
            group_id=None,
            client_id=f"gateway-cache-{uuid.uuid4().hex[:8]}",
            enable_auto_commit=False,
            auto_offset_reset="latest",
            fetch_max_wait_ms=100,
            metadata_max_age_ms=self._metadata_max_age_ms,
        )
        await self._consumer.start()
        self._task = asyncio.create_task(self._run(), name="gateway-invalidation")
        self._task.add_done_callback(_log_if_failed)
        # Ready only once positioned: an event sent after start() returns is seen.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.started.wait(), 15)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):  # a failure was logged
                await self._task
        if self._consumer is not None:
            await self._consumer.stop()

    async def _run(self) -> None:
        assert self._consumer is not None
        consumer = self._consumer
        await self._position_at_the_end(consumer)
        self._last_poll = time.monotonic()
        self.started.set()
        while True:
            try:
                batches = await consumer.getmany(timeout_ms=500, max_records=500)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("invalidation poll failed", extra={"error": type(exc).__name__})
                await asyncio.sleep(0.5)
                continue
            self._note_broker_contact(consumer)
            for tp, records in batches.items():
                for record in records:
                    if exporting():
                        self._apply_traced(record)
                    else:
                        self._apply(record.topic, record.value, record.headers)
                if records and not await self._put_back_if_skipped(consumer, tp, records[0].offset):
                    self._next[tp] = records[-1].offset + 1
            try:
                await self._undo_skips(consumer)
            except Exception as exc:  # the feed must go on; the next round looks again
                log.warning("invalidation positions not checked", extra={"error": type(exc).__name__})

    async def _position_at_the_end(self, consumer: AIOKafkaConsumer) -> None:
        """Resolve "latest" now, before declaring ourselves ready; again if the assignment
        changes meanwhile (a partition no longer assigned cannot be positioned)."""
        while True:
            await self._wait_for_every_topic(consumer)
            assigned = consumer.assignment()
            try:
                self._next = {tp: await consumer.position(tp) for tp in assigned}
            except IllegalStateError:
                await asyncio.sleep(0.05)
                continue
            return

    async def _wait_for_every_topic(self, consumer: AIOKafkaConsumer) -> None:
        """Until every topic has partitions assigned (a topic missing from the first metadata
        answer would otherwise count as new, and be read from its start), for a few seconds."""
        deadline = time.monotonic() + TOPICS_WAIT_S
        while True:
            topics = {tp.topic for tp in consumer.assignment()}
            if topics >= set(self._topics) or (topics and time.monotonic() > deadline):
                return
            await asyncio.sleep(0.05)

    async def _put_back_if_skipped(
        self, consumer: AIOKafkaConsumer, tp: TopicPartition, position: int
    ) -> bool:
        """True when ``tp`` is past the last record applied (reset to its end, or new and reset
        to its end before :meth:`_undo_skips` saw it), and was put back there, or to the log's
        start if retention removed that (the only real gap: no transactions, no compaction)."""
        applied = self._next.get(tp, 0)
        if position <= applied:
            return False
        try:
            starts = await asyncio.wait_for(consumer.beginning_offsets([tp]), POSITION_WAIT_S)
            target = max(applied, starts[tp])
        except (TimeoutError, KafkaError):
            target = applied  # unproven: put back anyway
        last_target, times = self._put_backs.get(tp, (target, 0))
        times = times + 1 if last_target == target else 1
        self._put_backs[tp] = (target, times)
        if target >= position or times > MAX_PUT_BACKS:
            if target < position:  # the broker keeps moving it: never loop on it
                log.warning(
                    "invalidation partition moved past events again; taken as it is",
                    extra={"partition": str(tp), "skipped": position - target},
                )
            self._put_backs.pop(tp, None)
            self._next[tp] = position
            return False
        try:
            consumer.seek(tp, target)
        except IllegalStateError:  # unassigned meanwhile: looked at again once it is back
            return False
        self._next[tp] = target
        log.info(
            "invalidation partition moved past unread events; put back",
            extra={"partition": str(tp), "skipped": position - target},
        )
        return True

    async def _undo_skips(self, consumer: AIOKafkaConsumer) -> None:
        """Put back every partition whose position moved past the last record applied.

        aiokafka replaces the whole assignment whenever the topics' partitions change (a topic
        grew, or a metadata answer briefly lacked one), and places every partition at its end,
        past what was written meanwhile. Each such partition goes back to where this consumer
        was; a partition it never had goes to its start (all of it came after ours). Records
        read twice are applied twice: invalidations are idempotent and order-free. The
        positions are awaited for at most a second, for partitions whose reset is under way."""
        # A partition never seen counts as applied up to 0: it goes back to the log's start.
        known = list(consumer.assignment())
        lookups = [asyncio.ensure_future(consumer.position(tp)) for tp in known]
        try:
            positions = await asyncio.wait_for(asyncio.gather(*lookups), POSITION_WAIT_S)
        except (TimeoutError, IllegalStateError):
            return  # a reset still under way, or reassigned meanwhile: looked at again next round
        finally:
            for lookup in lookups:
                lookup.cancel()
        for tp, position in zip(known, positions, strict=True):
            await self._put_back_if_skipped(consumer, tp, position)

    def _note_broker_contact(self, consumer: AIOKafkaConsumer) -> None:
        """Healthy as of the oldest fetch answer among the assigned partitions (wall-clock ms,
        from the fetcher), if the broker has answered for every one of them."""
        stamps = [consumer.last_poll_timestamp(tp) for tp in consumer.assignment()]
        if not stamps or any(stamp is None for stamp in stamps):
            return
        age_s = max(0.0, time.time() - min(stamps) / 1000)
        self._last_poll = max(self._last_poll, time.monotonic() - age_s)

    def _apply_traced(self, record: Any) -> None:
        """:meth:`_apply` in a CONSUMER span, a child of the context the event was sent in."""
        carrier = {
            k: v.decode("latin-1") for k, v in record.headers if k in ("traceparent", "tracestate") and v
        }
        with tracer.start_as_current_span(
            f"process {record.topic}",
            context=propagate.extract(carrier),
            kind=trace.SpanKind.CONSUMER,
            attributes={
                "messaging.system": "kafka",
                "messaging.operation.type": "process",
                "messaging.operation.name": "process",
                "messaging.destination.name": record.topic,
                "messaging.destination.partition.id": str(record.partition),
                "messaging.kafka.offset": record.offset,
            },
        ):
            self._apply(record.topic, record.value, record.headers)

    def _apply(self, topic: str, value: bytes | None, headers: list[tuple[str, bytes]]) -> None:
        try:
            event = decode(value, headers)
            data = event.json()
            connection_id = uuid.UUID(str(data["connection_id"]))
        except (EnvelopeError, KeyError, ValueError, TypeError):
            log.warning("unreadable invalidation event skipped", extra={"topic": topic})
            return
        if topic == IntegrationDisconnected.topic or (
            topic == ConnectionStatusChanged.topic and data.get("status") == "disconnected"
        ):
            tenant = data.get("tenant_id")
            self._resolver.tombstone(connection_id, str(tenant) if tenant else None)
        else:
            self._resolver.invalidate(connection_id, topic, credentials_only=topic == CredentialChanged.topic)
        LAG.observe(max(0.0, time.time() - event.time.timestamp()))


def _log_if_failed(task: asyncio.Task[None]) -> None:
    """The feed ending on its own leaves the caches distrusting every entry (``healthy`` turns
    false): say why, once."""
    if not task.cancelled() and task.exception() is not None:
        log.error("invalidation feed stopped", exc_info=task.exception())
