"""Fired triggers (the durable dedupe of provider events) and their counts per registration."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import asyncpg


async def record_firing(
    conn: asyncpg.Connection,
    *,
    tenant_id: str,
    connection_id: UUID,
    dedupe_key: str,
    trigger_id: str,
    registration_id: UUID | None,
    event_id: str | None,
    fired_event_id: str,
) -> bool:
    """True the first time this provider event fires this trigger of this connection."""
    row = await conn.fetchval(
        "INSERT INTO trigger_firings (tenant_id, connection_id, dedupe_key, trigger_id, registration_id,"
        " event_id, fired_event_id) VALUES ($1, $2, $3, $4, $5, $6, $7)"
        " ON CONFLICT DO NOTHING RETURNING 1",
        tenant_id,
        connection_id,
        dedupe_key,
        trigger_id,
        registration_id,
        event_id,
        fired_event_id,
    )
    return row is not None


_COUNT = {
    outcome: (
        f"INSERT INTO trigger_counts AS c (tenant_id, registration_id, trigger_id, {outcome}, last_fired_at)"  # noqa: S608 - fixed names
        f" VALUES ($1, $2, $3, 1, {'$4' if outcome == 'fired' else 'NULL'})"
        f" ON CONFLICT (tenant_id, registration_id, trigger_id) DO UPDATE SET {outcome} = c.{outcome} + 1"
        + (", last_fired_at = $4" if outcome == "fired" else "")
    )
    for outcome in ("fired", "filtered", "duplicates")
}


async def count(
    conn: asyncpg.Connection,
    *,
    tenant_id: str,
    registration_id: UUID,
    trigger_id: str,
    outcome: str,
    at: datetime,
) -> None:
    """One more ``outcome`` (fired, filtered, duplicates) for a registration's trigger."""
    args: list[object] = [tenant_id, registration_id, trigger_id]
    if outcome == "fired":
        args.append(at)
    await conn.execute(_COUNT[outcome], *args)


async def counts(conn: asyncpg.Connection, tenant_id: str, registration_id: UUID) -> list[asyncpg.Record]:
    return list(
        await conn.fetch(
            "SELECT trigger_id, fired, filtered, duplicates, last_fired_at FROM trigger_counts"
            " WHERE tenant_id = $1 AND registration_id = $2 ORDER BY trigger_id",
            tenant_id,
            registration_id,
        )
    )


async def purge(conn: asyncpg.Connection, older_than: datetime, *, batch: int = 5000) -> int:
    total = 0
    while True:
        deleted = await conn.fetchval(
            "WITH gone AS (DELETE FROM trigger_firings WHERE ctid IN ("
            "SELECT ctid FROM trigger_firings WHERE fired_at < $1 LIMIT $2) RETURNING 1) "
            "SELECT count(*) FROM gone",
            older_than,
            batch,
        )
        total += int(deleted or 0)
        if not deleted or deleted < batch:
            return total


async def counts_for_connection(
    conn: asyncpg.Connection, tenant_id: str, connection_id: UUID
) -> list[asyncpg.Record]:
    """Counts of every registration of the connection that has seen an event (the UI's detail)."""
    return list(
        await conn.fetch(
            "SELECT registration_id, trigger_id, fired, filtered, duplicates, last_fired_at"
            " FROM trigger_counts WHERE tenant_id = $1 AND registration_id IN ("
            "SELECT DISTINCT registration_id FROM trigger_firings"
            " WHERE tenant_id = $1 AND connection_id = $2 AND registration_id IS NOT NULL)"
            " ORDER BY registration_id, trigger_id",
            tenant_id,
            connection_id,
        )
    )
