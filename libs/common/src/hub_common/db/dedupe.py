"""Idempotent consumers: remember applied event ids in the handler's own transaction."""

from __future__ import annotations

from datetime import datetime

import asyncpg


async def first_time(conn: asyncpg.Connection, consumer: str, event_id: str) -> bool:
    """True the first time ``(consumer, event_id)`` is seen; call inside the handler's transaction."""
    row = await conn.fetchval(
        "INSERT INTO processed_events (consumer, event_id) VALUES ($1, $2) "
        "ON CONFLICT DO NOTHING RETURNING 1",
        consumer,
        event_id,
    )
    return row is not None


async def purge_processed(conn: asyncpg.Connection, older_than: datetime, *, batch: int = 5000) -> int:
    """Forget ids recorded before ``older_than``, in batches (outside a transaction each is its
    own commit): a record older than the broker keeps cannot come again, so its id guards
    nothing."""
    total = 0
    while True:
        deleted = await conn.fetchval(
            "WITH gone AS (DELETE FROM processed_events WHERE ctid IN ("
            "SELECT ctid FROM processed_events WHERE processed_at < $1 LIMIT $2) RETURNING 1) "
            "SELECT count(*) FROM gone",
            older_than,
            batch,
        )
        total += int(deleted or 0)
        if not deleted or deleted < batch:
            return total
