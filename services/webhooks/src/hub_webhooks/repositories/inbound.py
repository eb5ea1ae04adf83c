"""``webhook_inbound``: the durable dedupe of verified deliveries, written together with the
outbox row of their ``webhook.received`` event."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

import asyncpg

from hub_common import jsonutil
from hub_common.db.outbox import OutboxRow, channel_for


@dataclass(frozen=True, slots=True)
class Verified:
    """A verified delivery on its way to Postgres: its dedupe row and its event."""

    registration_id: UUID
    delivery_id: str
    tenant_id: str
    event_name: str | None
    body_bytes: int
    row: OutboxRow


# One statement, so one implicit transaction, for a batch of deliveries: a dedupe row AND its
# outbox row exist (and the NOTIFY wakes the relay on commit), or, for a delivery id seen
# before, neither is written. Outbox rows keep the deliveries' arrival order; one NOTIFY if any
# row is new. The returned event ids are the new deliveries.
_ACCEPT_MANY = """
WITH input AS (
    SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::uuid[], $5::text[], $6::int[],
                         $7::text[], $8::bytea[], $9::bytea[], $10::text[])
        WITH ORDINALITY AS t(registration_id, delivery_id, tenant_id, event_id, event_name, body_bytes,
                             topic, key, value, headers, ord)
), d AS (
    INSERT INTO webhook_inbound (registration_id, delivery_id, tenant_id, event_id, event_name, body_bytes)
    SELECT registration_id, delivery_id, tenant_id, event_id, event_name, body_bytes FROM input
    ORDER BY registration_id, delivery_id  -- one lock order for every batch: concurrent ones never deadlock
    ON CONFLICT (registration_id, delivery_id) DO NOTHING
    RETURNING event_id
), o AS (
    INSERT INTO outbox (event_id, topic, key, value, headers)
    SELECT i.event_id, i.topic, i.key, i.value, i.headers::jsonb FROM input i JOIN d USING (event_id)
    ORDER BY i.ord
    RETURNING id
), n AS (
    SELECT count(pg_notify($11, '')) AS notified FROM (SELECT 1 FROM o LIMIT 1) AS any_new
)
SELECT d.event_id FROM d CROSS JOIN n
"""


async def accept_many(conn: asyncpg.Connection, *, schema: str, batch: Sequence[Verified]) -> set[UUID]:
    """The event ids of the deliveries that were new (now durable); the others were duplicates.

    A delivery id repeated within ``batch`` is new once."""
    rows = await conn.fetch(
        _ACCEPT_MANY,
        [v.registration_id for v in batch],
        [v.delivery_id for v in batch],
        [v.tenant_id for v in batch],
        [v.row.event_id for v in batch],
        [v.event_name for v in batch],
        [v.body_bytes for v in batch],
        [v.row.topic for v in batch],
        [v.row.key for v in batch],
        [v.row.value for v in batch],
        [jsonutil.dumps(v.row.headers).decode() for v in batch],
        channel_for(schema),
    )
    return {r["event_id"] for r in rows}


async def seen(conn: asyncpg.Connection, registration_id: UUID) -> list[str]:
    rows = await conn.fetch(
        "SELECT delivery_id FROM webhook_inbound WHERE registration_id = $1 ORDER BY received_at",
        registration_id,
    )
    return [r["delivery_id"] for r in rows]


async def purge(conn: asyncpg.Connection, tenant_id: str, older_than: datetime, *, batch: int = 5000) -> int:
    """Delete a tenant's intake records older than ``older_than``, in batches."""
    total = 0
    while True:
        deleted = await conn.fetchval(
            "WITH gone AS (DELETE FROM webhook_inbound WHERE ctid IN (SELECT ctid FROM webhook_inbound "
            "WHERE tenant_id = $1 AND received_at < $2 LIMIT $3) RETURNING 1) SELECT count(*) FROM gone",
            tenant_id,
            older_than,
            batch,
        )
        total += int(deleted or 0)
        if not deleted or deleted < batch:
            return total
