"""``gateway.transforms``: one transform spec per (tenant, connector)."""

from __future__ import annotations

from typing import Any

import asyncpg


async def get(pool: asyncpg.Pool, tenant_id: str, connector_id: str) -> dict[str, Any] | None:
    row = await pool.fetchrow(
        "SELECT connector_id, spec, version, updated_by, created_at, updated_at FROM transforms "
        "WHERE tenant_id = $1 AND connector_id = $2",
        tenant_id,
        connector_id,
    )
    return dict(row) if row else None


async def put(
    pool: asyncpg.Pool, tenant_id: str, connector_id: str, spec: dict[str, Any], updated_by: str
) -> dict[str, Any]:
    row = await pool.fetchrow(
        """INSERT INTO transforms (tenant_id, connector_id, spec, updated_by)
           VALUES ($1, $2, $3, $4)
           ON CONFLICT (tenant_id, connector_id) DO UPDATE SET
               spec = excluded.spec, updated_by = excluded.updated_by,
               version = transforms.version + 1, updated_at = now()
           RETURNING connector_id, spec, version, updated_by, created_at, updated_at""",
        tenant_id,
        connector_id,
        spec,
        updated_by,
    )
    assert row is not None
    return dict(row)


async def delete(pool: asyncpg.Pool, tenant_id: str, connector_id: str) -> bool:
    result = await pool.execute(
        "DELETE FROM transforms WHERE tenant_id = $1 AND connector_id = $2", tenant_id, connector_id
    )
    return bool(result.endswith(" 1"))


async def list_for_tenant(pool: asyncpg.Pool, tenant_id: str) -> list[dict[str, Any]]:
    rows = await pool.fetch(
        "SELECT connector_id, spec, version, updated_by, created_at, updated_at FROM transforms "
        "WHERE tenant_id = $1 ORDER BY connector_id",
        tenant_id,
    )
    return [dict(r) for r in rows]
