"""Transactional outbox.

``write_event`` inserts the encoded CloudEvent in the caller's transaction and issues a
``NOTIFY`` (delivered only on commit, so a rolled-back event neither exists nor wakes anyone).
``OutboxRelay`` claims unpublished rows with ``FOR UPDATE SKIP LOCKED``, publishes them with
acks=all, and deletes them in the same transaction. A crash between publish and delete
republishes the same ``ce_id`` (at-least-once; consumers dedupe on it). One relay per schema
publishes at a time (a transaction-scoped advisory lock), which keeps per-key order across
replicas; the others stand by. An event too large for Kafka is refused when it is written; a
row Kafka refuses anyway for a reason no retry fixes (too large, invalid topic, not authorised)
is counted on the row (``attempts``, ``last_error``) while the rest of its batch goes out one by
one, and after ``MAX_ATTEMPTS`` it stays in the table for an operator
(``hub_outbox_given_up_total``) instead of holding up every row behind it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from dataclasses import dataclass

import asyncpg
from aiokafka import errors as aiokafka_errors
from prometheus_client import Counter

from hub_common.db.pool import check_identifier, connect
from hub_common.events.envelope import encode
from hub_common.events.models import HubEvent
from hub_common.kafka.producer import EventProducer

log = logging.getLogger(__name__)
RELAYED = Counter("hub_outbox_relayed_total", "Outbox rows published to Kafka", ["schema"])
GIVEN_UP = Counter("hub_outbox_given_up_total", "Outbox rows Kafka refused for good", ["schema"])
# Below the broker's default max.message.bytes (1 MiB) with room for the record's framing: an
# event larger than this could never be published, so it is refused when it is written.
MAX_EVENT_BYTES = 900 * 1024
# A row Kafka refuses for a reason retrying cannot fix is tried this many times, then left in
# the table (attempts, last_error) for an operator and no longer holds up the rows after it.
MAX_ATTEMPTS = 5
_PERMANENT = (
    aiokafka_errors.MessageSizeTooLargeError,
    aiokafka_errors.RecordTooLargeError,
    aiokafka_errors.InvalidTopicError,
    aiokafka_errors.TopicAuthorizationFailedError,
    aiokafka_errors.UnsupportedForMessageFormatError,
    aiokafka_errors.CorruptRecordException,
)


def channel_for(schema: str) -> str:
    return f"hub_outbox_{check_identifier(schema)}"


@dataclass(frozen=True, slots=True)
class OutboxRow:
    """An event encoded for the outbox, for hot paths that insert it inside a statement of their
    own (one round trip for the change, its audit and its event): the columns ``write_event``
    inserts, in its order, so the relay publishes it unchanged."""

    event_id: uuid.UUID
    topic: str
    key: bytes
    value: bytes
    headers: list[list[str]]

    @classmethod
    def of(cls, event: HubEvent, source: str, event_id: uuid.UUID | None = None) -> OutboxRow:
        """``event_id``: a stable ce_id (derived from what the event is about) instead of a new one."""
        event_id = event_id or uuid.uuid4()
        key, value, headers = encode(event, source=source, event_id=str(event_id))
        if len(value) > MAX_EVENT_BYTES:
            raise ValueError(f"{event.topic} event of {len(value)} bytes exceeds {MAX_EVENT_BYTES}")
        return cls(event_id, event.topic, key, value, [[k, v.decode()] for k, v in headers])

    def params(self) -> tuple[uuid.UUID, str, bytes, bytes, list[list[str]]]:
        return self.event_id, self.topic, self.key, self.value, self.headers


# The NOTIFY rides in the same statement: delivered on commit, and one round trip fewer.
_WRITE_EVENT = """
WITH o AS (
    INSERT INTO outbox (event_id, topic, key, value, headers) VALUES ($1, $2, $3, $4, $5) RETURNING id
)
SELECT pg_notify($6, '') FROM o
"""


async def write_event(
    conn: asyncpg.Connection,
    event: HubEvent,
    *,
    source: str,
    schema: str,
    event_id: uuid.UUID | None = None,
) -> str:
    """Stage ``event`` in the outbox inside the caller's open transaction; returns its ce_id."""
    if not conn.is_in_transaction():
        raise RuntimeError("write_event must run inside the caller's transaction")
    row = OutboxRow.of(event, source, event_id)
    await conn.execute(_WRITE_EVENT, *row.params(), channel_for(schema))
    return str(row.event_id)


class OutboxRelay:
    def __init__(
        self,
        *,
        pool: asyncpg.Pool,
        dsn: str,
        schema: str,
        producer: EventProducer,
        batch_size: int = 200,
        poll_interval_s: float = 1.0,
        retention_s: float = 24 * 3600,
    ) -> None:
        self.pool = pool
        self.dsn = dsn
        self.schema = check_identifier(schema)
        self.producer = producer
        self.batch_size = batch_size
        self.poll_interval_s = poll_interval_s
        self.retention_s = retention_s
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._listener: asyncpg.Connection | None = None

    async def start(self) -> None:
        await self._listen()
        self._task = asyncio.create_task(self._run(), name=f"outbox-relay:{self.schema}")

    async def stop(self) -> None:
        self._stopping.set()
        self._wake.set()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._listener is not None:
            with contextlib.suppress(Exception):
                await self._listener.close()

    async def _listen(self) -> None:
        try:
            self._listener = await connect(self.dsn)
            await self._listener.add_listener(channel_for(self.schema), lambda *_: self._wake.set())
        except Exception:
            # LISTEN is only a wake-up: polling still delivers everything.
            log.warning("outbox LISTEN unavailable; polling only", extra={"schema": self.schema})
            self._listener = None

    async def _run(self) -> None:
        last_purge = 0.0
        loop = asyncio.get_running_loop()
        while not self._stopping.is_set():
            try:
                published = await self.relay_once()
            except Exception:
                log.exception("outbox relay round failed", extra={"schema": self.schema})
                published = 0
                await asyncio.sleep(self.poll_interval_s)
            if loop.time() - last_purge > 600:
                last_purge = loop.time()
                with contextlib.suppress(Exception):
                    await self.purge_published()
            if published >= self.batch_size:
                continue  # more may be waiting
            if self._listener is None or self._listener.is_closed():
                await self._listen()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.poll_interval_s)
            self._wake.clear()

    async def relay_once(self) -> int:
        """Publish one batch; returns how many rows were published."""
        async with self.pool.acquire() as conn, conn.transaction():
            leader = await conn.fetchval(
                "SELECT pg_try_advisory_xact_lock(hashtext($1))", f"hub-outbox:{self.schema}"
            )
            if not leader:
                return 0
            rows = await conn.fetch(
                "SELECT id, topic, key, value, headers FROM outbox "
                "WHERE published_at IS NULL AND attempts < $2 "
                "ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED",
                self.batch_size,
                MAX_ATTEMPTS,
            )
            if not rows:
                return 0
            records = [
                (r["topic"], r["key"], r["value"], [(k, v.encode()) for k, v in r["headers"]]) for r in rows
            ]
            try:
                await self.producer.publish_many(records)
                published = [r["id"] for r in rows]
            except _PERMANENT:
                # One row Kafka will never take: the others go one by one, that one is counted.
                published = await self._one_by_one(conn, rows, records)
            # A transient failure raises: the transaction rolls back and the rows stay unpublished.
            # Deleted, not marked: a marked row is a second heap tuple and three more index
            # entries on the pages every writer is appending to (ADR 0008); Kafka keeps the event.
            await conn.execute("DELETE FROM outbox WHERE id = ANY($1)", published)
        RELAYED.labels(self.schema).inc(len(published))
        return len(rows)

    async def _one_by_one(
        self,
        conn: asyncpg.Connection,
        rows: list[asyncpg.Record],
        records: list[tuple[str, bytes | None, bytes | None, list[tuple[str, bytes]]]],
    ) -> list[int]:
        published: list[int] = []
        for row, record in zip(rows, records, strict=True):
            try:
                await self.producer.publish_many([record])
            except _PERMANENT as exc:
                attempts = await conn.fetchval(
                    "UPDATE outbox SET attempts = attempts + 1, last_error = $2 WHERE id = $1 "
                    "RETURNING attempts",
                    row["id"],
                    type(exc).__name__,
                )
                if attempts >= MAX_ATTEMPTS:
                    GIVEN_UP.labels(self.schema).inc()
                    log.error(
                        "outbox row refused by Kafka for good; left in the table",
                        extra={
                            "schema": self.schema,
                            "outbox_id": row["id"],
                            "topic": row["topic"],
                            "error": type(exc).__name__,
                        },
                    )
                continue
            published.append(row["id"])
        return published

    async def purge_published(self) -> int:
        """Rows an earlier release marked published instead of deleting, once past retention."""
        result = await self.pool.execute(
            "DELETE FROM outbox WHERE published_at < now() - make_interval(secs => $1)",
            self.retention_s,
        )
        return int(result.split()[-1])
