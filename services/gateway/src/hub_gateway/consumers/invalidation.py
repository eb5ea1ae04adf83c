"""Cache invalidation on every replica: ``integration.disconnected``,
``integration.status-changed`` and ``credential.changed``.

Every replica must see every event, so there is no consumer group: each process assigns itself
all partitions of the three topics and starts at their end (what happened before it started is
not in its caches). A partition added to a topic later is read from its beginning: all of it
was written after the start, and aiokafka would place it at its end, after the events that a
producer may already have sent there before the next metadata refresh. Nothing is committed,
no group lingers in the broker after a replica goes away. ``fetch_max_wait_ms`` is short, so an
event reaches the caches in ~100 ms.

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

from aiokafka import AIOKafkaConsumer, TopicPartition
from prometheus_client import Histogram

from hub_common.events.envelope import EnvelopeError, decode
from hub_common.events.models import ConnectionStatusChanged, CredentialChanged, IntegrationDisconnected
from hub_common.kafka.admin import ensure_topics
from hub_gateway.services.resolver import Resolver

log = logging.getLogger(__name__)
TOPICS = (IntegrationDisconnected.topic, ConnectionStatusChanged.topic, CredentialChanged.topic)
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
        self._known: set[TopicPartition] = set()
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
        # Ready only once positioned: an event sent after start() returns is seen.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.started.wait(), 15)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._consumer is not None:
            await self._consumer.stop()

    async def _run(self) -> None:
        assert self._consumer is not None
        consumer = self._consumer
        while not consumer.assignment():  # noqa: ASYNC110 - aiokafka offers no event for this
            await asyncio.sleep(0.05)
        self._known = set(consumer.assignment())
        for tp in self._known:
            await consumer.position(tp)  # resolve "latest" now, before declaring ourselves ready
        self._last_poll = time.monotonic()
        self.started.set()
        while True:
            try:
                await self._read_new_partitions_from_start(consumer)
                batches = await consumer.getmany(timeout_ms=500, max_records=500)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("invalidation poll failed", extra={"error": type(exc).__name__})
                await asyncio.sleep(0.5)
                continue
            self._note_broker_contact(consumer)
            for records in batches.values():
                for record in records:
                    self._apply(record.topic, record.value, record.headers)

    async def _read_new_partitions_from_start(self, consumer: AIOKafkaConsumer) -> None:
        """Partitions first assigned since the start (a topic grew): every record in them came
        after the start. One that was known before and comes back keeps aiokafka's position."""
        new = consumer.assignment() - self._known
        if not new:
            return
        await consumer.seek_to_beginning(*new)
        self._known |= new
        log.info("new invalidation partitions read from their start", extra={"partitions": len(new)})

    def _note_broker_contact(self, consumer: AIOKafkaConsumer) -> None:
        """Healthy as of the oldest fetch answer among the assigned partitions (wall-clock ms,
        from the fetcher), if the broker has answered for every one of them."""
        stamps = [consumer.last_poll_timestamp(tp) for tp in consumer.assignment()]
        if not stamps or any(stamp is None for stamp in stamps):
            return
        age_s = max(0.0, time.time() - min(stamps) / 1000)
        self._last_poll = max(self._last_poll, time.monotonic() - age_s)

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
