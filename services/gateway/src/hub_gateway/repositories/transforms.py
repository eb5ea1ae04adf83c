"""``gateway.transforms``: one transform spec per (tenant, connector)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

_COLUMNS = "connector_id, spec, version, updated_by, created_at, updated_at"


@dataclass(frozen=True, slots=True)
class TransformRow:
    connector_id: str
    spec: dict[str, Any]
    version: int
    updated_by: str
    created_at: datetime
    updated_at: datetime


async def get(conn: asyncpg.Connection, tenant_id: str, connector_id: str) -> TransformRow | None:
    row = await conn.fetchrow(
        f"SELECT {_COLUMNS} FROM transforms WHERE tenant_id = $1 AND connector_id = $2",  # noqa: S608 - constant columns
        tenant_id,
        connector_id,
    )
    return TransformRow(**row) if row else None


async def put(
    conn: asyncpg.Connection, tenant_id: str, connector_id: str, spec: dict[str, Any], updated_by: str
) -> TransformRow:
    row = await conn.fetchrow(
        f"""INSERT INTO transforms (tenant_id, connector_id, spec, updated_by)
           VALUES ($1, $2, $3, $4)
           ON CONFLICT (tenant_id, connector_id) DO UPDATE SET
               spec = excluded.spec, updated_by = excluded.updated_by,
               version = transforms.version + 1, updated_at = now()
           RETURNING {_COLUMNS}""",  # noqa: S608 - constant columns
        tenant_id,
        connector_id,
        spec,
        updated_by,
    )
    assert row is not None
    return TransformRow(**row)


async def delete(conn: asyncpg.Connection, tenant_id: str, connector_id: str) -> bool:
    result = await conn.execute(
        "DELETE FROM transforms WHERE tenant_id = $1 AND connector_id = $2", tenant_id, connector_id
    )
    return bool(result.endswith(" 1"))


async def list_for_tenant(conn: asyncpg.Connection, tenant_id: str) -> list[TransformRow]:
    rows = await conn.fetch(
        f"SELECT {_COLUMNS} FROM transforms WHERE tenant_id = $1 ORDER BY connector_id",  # noqa: S608 - constant columns
        tenant_id,
    )
    return [TransformRow(**r) for r in rows]
