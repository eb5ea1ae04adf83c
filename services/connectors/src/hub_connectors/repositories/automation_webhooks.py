"""The ``automation_webhooks`` table: registrations made for automations; scoped to a tenant."""

from __future__ import annotations

from uuid import UUID

import asyncpg


async def lock_trigger(
    conn: asyncpg.Connection, tenant_id: str, connection_id: UUID, trigger_id: str
) -> None:
    """Until the transaction ends: one save or delete at a time per (tenant, connection, trigger),
    so a registration is not made twice, nor deleted while an automation starts to need it."""
    await conn.execute(
        "SELECT pg_advisory_xact_lock(hashtextextended($1, 29))",
        f"{tenant_id}\x1f{connection_id}\x1f{trigger_id}",
    )


async def record(
    conn: asyncpg.Connection, tenant_id: str, registration_id: UUID, connection_id: UUID, trigger_id: str
) -> None:
    await conn.execute(
        "INSERT INTO automation_webhooks (registration_id, tenant_id, connection_id, trigger_id)"
        " VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
        registration_id,
        tenant_id,
        connection_id,
        trigger_id,
    )


async def made_for(
    conn: asyncpg.Connection, tenant_id: str, connection_id: UUID, trigger_id: str
) -> list[UUID]:
    rows = await conn.fetch(
        "SELECT registration_id FROM automation_webhooks WHERE tenant_id = $1 AND connection_id = $2"
        " AND trigger_id = $3 ORDER BY created_at",
        tenant_id,
        connection_id,
        trigger_id,
    )
    return [r["registration_id"] for r in rows]


async def forget(conn: asyncpg.Connection, tenant_id: str, registration_id: UUID) -> None:
    await conn.execute(
        "DELETE FROM automation_webhooks WHERE tenant_id = $1 AND registration_id = $2",
        tenant_id,
        registration_id,
    )
