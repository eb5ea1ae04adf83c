"""``gateway.token_usage``: running token totals per connection (every query names the tenant)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import asyncpg

_ADD = """
INSERT INTO token_usage (connection_id, tenant_id, connector_id, input_tokens, output_tokens, responses)
VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (connection_id) DO UPDATE SET
    input_tokens = token_usage.input_tokens + excluded.input_tokens,
    output_tokens = token_usage.output_tokens + excluded.output_tokens,
    responses = token_usage.responses + excluded.responses,
    updated_at = now()
"""


async def add_many(pool: asyncpg.Pool, rows: Sequence[tuple[uuid.UUID, str, str, int, int, int]]) -> None:
    async with pool.acquire() as conn:
        await conn.executemany(_ADD, sorted(rows, key=lambda r: r[0]))  # one lock order for every replica


async def for_connection(
    pool: asyncpg.Pool, tenant_id: str, connection_id: uuid.UUID
) -> dict[str, Any] | None:
    row = await pool.fetchrow(
        "SELECT input_tokens, output_tokens, responses, first_at, updated_at FROM token_usage "
        "WHERE connection_id = $1 AND tenant_id = $2",
        connection_id,
        tenant_id,
    )
    return dict(row) if row is not None else None


async def for_tenant(pool: asyncpg.Pool, tenant_id: str, connector_id: str) -> dict[str, Any]:
    row = await pool.fetchrow(
        "SELECT coalesce(sum(input_tokens), 0)::bigint AS input_tokens, "
        "coalesce(sum(output_tokens), 0)::bigint AS output_tokens, "
        "coalesce(sum(responses), 0)::bigint AS responses FROM token_usage "
        "WHERE tenant_id = $1 AND connector_id = $2",
        tenant_id,
        connector_id,
    )
    return dict(row) if row is not None else {"input_tokens": 0, "output_tokens": 0, "responses": 0}
