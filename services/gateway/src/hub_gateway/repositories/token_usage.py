"""``gateway.token_usage``: running token totals per connection (every query names the tenant)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import asyncpg


@dataclass(frozen=True, slots=True)
class TokenTotals:
    input_tokens: int = 0
    output_tokens: int = 0
    responses: int = 0


@dataclass(frozen=True, slots=True)
class ConnectionUsageRow:
    totals: TokenTotals
    first_at: datetime
    updated_at: datetime


_ADD = """
INSERT INTO token_usage (connection_id, tenant_id, connector_id, input_tokens, output_tokens, responses)
VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (connection_id) DO UPDATE SET
    input_tokens = token_usage.input_tokens + excluded.input_tokens,
    output_tokens = token_usage.output_tokens + excluded.output_tokens,
    responses = token_usage.responses + excluded.responses,
    updated_at = now()
"""


async def add_many(
    conn: asyncpg.Connection, rows: Sequence[tuple[uuid.UUID, str, str, int, int, int]]
) -> None:
    await conn.executemany(_ADD, sorted(rows, key=lambda r: r[0]))  # one lock order for every replica


async def for_connection(
    conn: asyncpg.Connection, tenant_id: str, connection_id: uuid.UUID
) -> ConnectionUsageRow | None:
    row = await conn.fetchrow(
        "SELECT input_tokens, output_tokens, responses, first_at, updated_at FROM token_usage "
        "WHERE connection_id = $1 AND tenant_id = $2",
        connection_id,
        tenant_id,
    )
    if row is None:
        return None
    totals = TokenTotals(row["input_tokens"], row["output_tokens"], row["responses"])
    return ConnectionUsageRow(totals, row["first_at"], row["updated_at"])


async def for_tenant(conn: asyncpg.Connection, tenant_id: str, connector_id: str) -> TokenTotals:
    row = await conn.fetchrow(
        "SELECT coalesce(sum(input_tokens), 0)::bigint AS input_tokens, "
        "coalesce(sum(output_tokens), 0)::bigint AS output_tokens, "
        "coalesce(sum(responses), 0)::bigint AS responses FROM token_usage "
        "WHERE tenant_id = $1 AND connector_id = $2",
        tenant_id,
        connector_id,
    )
    if row is None:
        return TokenTotals()
    return TokenTotals(int(row["input_tokens"]), int(row["output_tokens"]), int(row["responses"]))
