"""The ``tenants`` table: the tier last seen in a tenant's tokens (drives retention)."""

from __future__ import annotations

import asyncpg


async def observe(conn: asyncpg.Connection, tenant_id: str, tier: str) -> None:
    """Record the tenant and its tier (a write only when the tier changed)."""
    await conn.execute(
        "INSERT INTO tenants (tenant_id, tier) VALUES ($1, $2) "
        "ON CONFLICT (tenant_id) DO UPDATE SET tier = EXCLUDED.tier, tier_seen_at = now() "
        "WHERE tenants.tier IS DISTINCT FROM EXCLUDED.tier",
        tenant_id,
        tier,
    )


async def all_tiers(conn: asyncpg.Connection) -> list[tuple[str, str]]:
    rows = await conn.fetch("SELECT tenant_id, tier FROM tenants ORDER BY tenant_id")
    return [(r["tenant_id"], r["tier"]) for r in rows]
