"""``webhook_inbound``: the durable dedupe of verified deliveries, written together with the
outbox row of their ``webhook.received`` event."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import asyncpg

from hub_common.db.outbox import OutboxRow, channel_for

# One statement, so one implicit transaction: either the dedupe row AND the outbox row exist
# (and the NOTIFY wakes the relay on commit), or, for a delivery id seen before, neither is
# written. A returned row means "new".
_ACCEPT = """
WITH d AS (
    INSERT INTO webhook_inbound (registration_id, delivery_id, tenant_id, event_id, event_name, body_bytes)
    VALUES ($1, $2, $3, $4, $5, $6)
    ON CONFLICT (registration_id, delivery_id) DO NOTHING
    RETURNING event_id
), o AS (
    INSERT INTO outbox (event_id, topic, key, value, headers)
    SELECT d.event_id, $7, $8, $9, $10 FROM d
    RETURNING id
)
SELECT pg_notify($11, '') FROM o
"""


async def accept(
    conn: asyncpg.Connection,
    *,
    schema: str,
    registration_id: UUID,
    delivery_id: str,
    tenant_id: str,
    event_name: str | None,
    body_bytes: int,
    row: OutboxRow,
) -> bool:
    """True when the delivery is new (now durable), False for a duplicate (nothing written)."""
    rows = await conn.fetch(
        _ACCEPT,
        registration_id,
        delivery_id,
        tenant_id,
        row.event_id,
        event_name,
        body_bytes,
        row.topic,
        row.key,
        row.value,
        row.headers,
        channel_for(schema),
    )
    return bool(rows)


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
