"""Idempotent consumers: remember applied event ids in the handler's own transaction."""

from __future__ import annotations

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
