"""The ``action_idempotency`` table: Idempotency-Key → the action's recorded result."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg


@dataclass(frozen=True)
class Claim:
    fingerprint: str
    result: dict[str, Any] | None  # None: the first attempt has not recorded a result
    created_at: datetime


async def claim(conn: asyncpg.Connection, tenant_id: str, key: str, fingerprint: str) -> bool:
    """True when this call took the key; False when an earlier request holds it."""
    status = await conn.execute(
        "INSERT INTO action_idempotency (tenant_id, idempotency_key, fingerprint) "
        "VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
        tenant_id,
        key,
        fingerprint,
    )
    return bool(status.endswith(" 1"))


async def find(conn: asyncpg.Connection, tenant_id: str, key: str) -> Claim | None:
    record = await conn.fetchrow(
        "SELECT fingerprint, result, created_at FROM action_idempotency "
        "WHERE tenant_id = $1 AND idempotency_key = $2",
        tenant_id,
        key,
    )
    if record is None:
        return None
    return Claim(record["fingerprint"], record["result"], record["created_at"])  # jsonb: decoded by the pool


async def complete(conn: asyncpg.Connection, tenant_id: str, key: str, result: dict[str, Any]) -> None:
    await conn.execute(
        "UPDATE action_idempotency SET result = $3 WHERE tenant_id = $1 AND idempotency_key = $2",
        tenant_id,
        key,
        result,
    )


async def forget_older_than(conn: asyncpg.Connection, before: datetime) -> int:
    status = await conn.execute("DELETE FROM action_idempotency WHERE created_at < $1", before)
    return int(status.rsplit(" ", 1)[-1])
