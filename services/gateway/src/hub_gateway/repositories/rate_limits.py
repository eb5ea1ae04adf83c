"""``gateway.rate_limits``: the latest provider budget per (connection, budget name)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

import asyncpg


class _Limit(Protocol):
    @property
    def api_name(self) -> str: ...
    @property
    def limit(self) -> int | None: ...
    @property
    def remaining(self) -> int | None: ...
    @property
    def reset_at(self) -> float | None: ...


class _Snapshot(Protocol):
    @property
    def connection_id(self) -> uuid.UUID: ...
    @property
    def tenant_id(self) -> str: ...
    @property
    def connector_id(self) -> str: ...
    @property
    def limit(self) -> _Limit: ...
    @property
    def observed_at(self) -> float: ...


@dataclass(frozen=True, slots=True)
class RateLimitRow:
    api_name: str
    requests_limit: int | None
    requests_remaining: int | None
    reset_at: datetime | None
    updated_at: datetime | None


def _ts(epoch: float | None) -> datetime | None:
    return None if epoch is None else datetime.fromtimestamp(epoch, UTC)


_UPSERT = """
INSERT INTO rate_limits (connection_id, api_name, tenant_id, connector_id, requests_limit,
                         requests_remaining, reset_at, updated_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
ON CONFLICT (connection_id, api_name) DO UPDATE SET
    requests_limit = excluded.requests_limit,
    requests_remaining = excluded.requests_remaining,
    reset_at = excluded.reset_at,
    updated_at = excluded.updated_at
WHERE rate_limits.updated_at <= excluded.updated_at
"""


async def upsert_many(conn: asyncpg.Connection, snapshots: Sequence[_Snapshot]) -> None:
    rows = [
        (
            s.connection_id,
            s.limit.api_name,
            s.tenant_id,
            s.connector_id,
            s.limit.limit,
            s.limit.remaining,
            _ts(s.limit.reset_at),
            _ts(s.observed_at),
        )
        for s in sorted(snapshots, key=lambda s: (s.connection_id, s.limit.api_name))  # lock order
    ]
    await conn.executemany(_UPSERT, rows)


async def for_connection(
    conn: asyncpg.Connection, tenant_id: str, connection_id: uuid.UUID
) -> list[RateLimitRow]:
    rows = await conn.fetch(
        "SELECT api_name, requests_limit, requests_remaining, reset_at, updated_at FROM rate_limits "
        "WHERE connection_id = $1 AND tenant_id = $2 ORDER BY api_name",
        connection_id,
        tenant_id,
    )
    return [RateLimitRow(**r) for r in rows]
