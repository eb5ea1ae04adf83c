"""The ``connection_idempotency`` table: Idempotency-Key → the connection its create made."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import asyncpg


async def find(conn: asyncpg.Connection, tenant_id: str, key: str) -> tuple[str, UUID] | None:
    """(fingerprint, connection id) recorded for this tenant's key, if any."""
    record = await conn.fetchrow(
        "SELECT fingerprint, connection_id FROM connection_idempotency "
        "WHERE tenant_id = $1 AND idempotency_key = $2",
        tenant_id,
        key,
    )
    return (record["fingerprint"], record["connection_id"]) if record else None


async def record(
    conn: asyncpg.Connection, tenant_id: str, key: str, fingerprint: str, connection_id: UUID
) -> bool:
    """False when a concurrent create with the same key recorded first."""
    status = await conn.execute(
        "INSERT INTO connection_idempotency (tenant_id, idempotency_key, fingerprint, connection_id) "
        "VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
        tenant_id,
        key,
        fingerprint,
        connection_id,
    )
    return bool(status.endswith(" 1"))


async def forget_older_than(conn: asyncpg.Connection, before: datetime) -> int:
    status = await conn.execute("DELETE FROM connection_idempotency WHERE created_at < $1", before)
    return int(status.rsplit(" ", 1)[-1])


async def forget(conn: asyncpg.Connection, tenant_id: str, key: str) -> None:
    await conn.execute(
        "DELETE FROM connection_idempotency WHERE tenant_id = $1 AND idempotency_key = $2", tenant_id, key
    )
