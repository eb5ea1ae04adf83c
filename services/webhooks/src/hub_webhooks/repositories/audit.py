"""``webhook_intake_audit``: refused deliveries, without their payloads."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import asyncpg


async def insert(
    conn: asyncpg.Connection,
    *,
    tenant_id: str | None,
    registration_id: UUID | None,
    connector_id: str,
    code: str,
    remote_addr: str | None,
    suppressed: int,
) -> None:
    await conn.execute(
        "INSERT INTO webhook_intake_audit (tenant_id, registration_id, connector_id, code, remote_addr, "
        "suppressed) VALUES ($1, $2, $3, $4, $5, $6)",
        tenant_id,
        registration_id,
        connector_id[:100],
        code,
        remote_addr,
        suppressed,
    )


async def recent(conn: asyncpg.Connection, registration_id: UUID) -> list[dict[str, object]]:
    rows = await conn.fetch(
        "SELECT code, suppressed, at FROM webhook_intake_audit WHERE registration_id = $1 ORDER BY id",
        registration_id,
    )
    return [dict(r) for r in rows]


async def purge(conn: asyncpg.Connection, tenant_id: str | None, older_than: datetime) -> int:
    """A tenant's refused-delivery rows older than ``older_than``; ``None``: rows of no tenant
    (unknown registrations)."""
    deleted = await conn.fetchval(
        "WITH gone AS (DELETE FROM webhook_intake_audit WHERE tenant_id IS NOT DISTINCT FROM $1 "
        "AND at < $2 RETURNING 1) SELECT count(*) FROM gone",
        tenant_id,
        older_than,
    )
    return int(deleted or 0)
