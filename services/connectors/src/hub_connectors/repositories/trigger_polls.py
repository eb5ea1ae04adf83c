"""The ``trigger_polls`` table: a polling trigger's cursor per connection (docs/adr/0021).

Every query names the tenant, except the poller's claim (it serves every tenant)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from uuid import UUID

import asyncpg


@dataclass(frozen=True)
class TriggerPoll:
    connection_id: UUID
    trigger_id: str
    tenant_id: str
    connector_id: str
    cursor: str | None
    fired: int


_COLUMNS = "connection_id, trigger_id, tenant_id, connector_id, cursor, fired"


def _row(record: asyncpg.Record | None) -> TriggerPoll | None:
    return TriggerPoll(**dict(record)) if record is not None else None


async def lock_for_watch(
    conn: asyncpg.Connection, tenant_id: str, connection_id: UUID, connector_id: str, trigger_id: str
) -> TriggerPoll:
    """The row (created if new), locked until the caller's transaction ends."""
    await conn.execute(
        "INSERT INTO trigger_polls (connection_id, trigger_id, tenant_id, connector_id) "
        "VALUES ($1, $2, $3, $4) ON CONFLICT (connection_id, trigger_id) DO NOTHING",
        connection_id,
        trigger_id,
        tenant_id,
        connector_id,
    )
    found = _row(
        await conn.fetchrow(
            f"SELECT {_COLUMNS} FROM trigger_polls "  # noqa: S608
            "WHERE tenant_id = $1 AND connection_id = $2 AND trigger_id = $3 FOR UPDATE",
            tenant_id,
            connection_id,
            trigger_id,
        )
    )
    assert found is not None
    return found


async def set_cursor(
    conn: asyncpg.Connection, poll: TriggerPoll, cursor: str, first_poll_in: timedelta
) -> None:
    await conn.execute(
        "UPDATE trigger_polls SET cursor = $4, next_poll_at = least(next_poll_at, now() + $5) "
        "WHERE tenant_id = $1 AND connection_id = $2 AND trigger_id = $3",
        poll.tenant_id,
        poll.connection_id,
        poll.trigger_id,
        cursor,
        first_poll_in,
    )


async def claim_due(conn: asyncpg.Connection) -> TriggerPoll | None:
    """One due row nobody else is polling, locked until the caller's transaction ends."""
    return _row(
        await conn.fetchrow(
            f"SELECT {_COLUMNS} FROM trigger_polls WHERE next_poll_at <= now() "  # noqa: S608
            "ORDER BY next_poll_at FOR UPDATE SKIP LOCKED LIMIT 1"
        )
    )


async def advance(
    conn: asyncpg.Connection, poll: TriggerPoll, cursor: str | None, fired: int, next_in: timedelta
) -> None:
    await conn.execute(
        "UPDATE trigger_polls SET cursor = $4, fired = fired + $5, next_poll_at = now() + $6, "
        "last_polled_at = now(), last_error = NULL "
        "WHERE tenant_id = $1 AND connection_id = $2 AND trigger_id = $3",
        poll.tenant_id,
        poll.connection_id,
        poll.trigger_id,
        cursor,
        fired,
        next_in,
    )


async def postpone(conn: asyncpg.Connection, poll: TriggerPoll, wait: timedelta, error: str) -> None:
    await conn.execute(
        "UPDATE trigger_polls SET next_poll_at = now() + $4, last_polled_at = now(), last_error = $5 "
        "WHERE tenant_id = $1 AND connection_id = $2 AND trigger_id = $3",
        poll.tenant_id,
        poll.connection_id,
        poll.trigger_id,
        wait,
        error,
    )


async def delete(conn: asyncpg.Connection, poll: TriggerPoll) -> None:
    await conn.execute(
        "DELETE FROM trigger_polls WHERE tenant_id = $1 AND connection_id = $2 AND trigger_id = $3",
        poll.tenant_id,
        poll.connection_id,
        poll.trigger_id,
    )


async def for_connection(conn: asyncpg.Connection, tenant_id: str, connection_id: UUID) -> list[TriggerPoll]:
    records = await conn.fetch(
        f"SELECT {_COLUMNS} FROM trigger_polls WHERE tenant_id = $1 AND connection_id = $2 "  # noqa: S608
        "ORDER BY trigger_id",
        tenant_id,
        connection_id,
    )
    return [p for p in (_row(r) for r in records) if p is not None]
