"""The ``tenants`` table: tier last seen, and the row that serialises a tenant's creates."""

from __future__ import annotations

import asyncpg


async def observe(conn: asyncpg.Connection, tenant_id: str, tier: str) -> None:
    """Record the tenant and its current tier (a write only when the tier changed)."""
    await conn.execute(
        "INSERT INTO tenants (tenant_id, tier) VALUES ($1, $2) "
        "ON CONFLICT (tenant_id) DO UPDATE SET tier = EXCLUDED.tier, tier_seen_at = now() "
        "WHERE tenants.tier IS DISTINCT FROM EXCLUDED.tier",
        tenant_id,
        tier,
    )


async def lock(conn: asyncpg.Connection, tenant_id: str) -> None:
    """Hold the tenant's row until the transaction ends: creates for one tenant run one at a time."""
    await conn.execute("SELECT 1 FROM tenants WHERE tenant_id = $1 FOR UPDATE", tenant_id)


async def tier_of(conn: asyncpg.Connection, tenant_id: str) -> str | None:
    tier: str | None = await conn.fetchval("SELECT tier FROM tenants WHERE tenant_id = $1", tenant_id)
    return tier
