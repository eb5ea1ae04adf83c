"""``webhook_subscriptions``: every query is scoped by tenant."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

from hub_common.pagination import Cursor
from hub_webhooks.domain.subscription import Subscription

_COLUMNS = (
    "id, tenant_id, user_id, url, event_types, trigger_ids, connection_ids, rate_limit, max_concurrency,"
    " status, disabled_reason, secret_key, previous_secret_key, previous_valid_until, failing_since,"
    " created_at, updated_at"
)


def _row(r: asyncpg.Record) -> Subscription:
    return Subscription(
        id=r["id"],
        tenant_id=r["tenant_id"],
        user_id=r["user_id"],
        url=r["url"],
        event_types=tuple(r["event_types"]),
        trigger_ids=tuple(r["trigger_ids"]),
        connection_ids=tuple(r["connection_ids"]),
        rate_limit=r["rate_limit"],
        max_concurrency=r["max_concurrency"],
        status=r["status"],
        disabled_reason=r["disabled_reason"],
        secret_key=r["secret_key"],
        previous_secret_key=r["previous_secret_key"],
        previous_valid_until=r["previous_valid_until"],
        failing_since=r["failing_since"],
        created_at=r["created_at"],
        updated_at=r["updated_at"],
    )


async def insert(
    conn: asyncpg.Connection,
    *,
    id: UUID,
    tenant_id: str,
    user_id: str,
    url: str,
    event_types: Sequence[str],
    trigger_ids: Sequence[str],
    connection_ids: Sequence[UUID],
    rate_limit: int | None,
    max_concurrency: int,
    secret_key: str,
) -> Subscription:
    r = await conn.fetchrow(
        "INSERT INTO webhook_subscriptions (id, tenant_id, user_id, url, event_types, trigger_ids,"  # noqa: S608
        " connection_ids, rate_limit, max_concurrency, status, secret_key)"
        f" VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'active', $10) RETURNING {_COLUMNS}",
        id,
        tenant_id,
        user_id,
        url,
        list(event_types),
        list(trigger_ids),
        list(connection_ids),
        rate_limit,
        max_concurrency,
        secret_key,
    )
    return _row(r)


async def get(conn: asyncpg.Connection, tenant_id: str, subscription_id: UUID) -> Subscription | None:
    r = await conn.fetchrow(
        f"SELECT {_COLUMNS} FROM webhook_subscriptions"  # noqa: S608
        " WHERE id = $1 AND tenant_id = $2 AND status <> 'deleted'",
        subscription_id,
        tenant_id,
    )
    return _row(r) if r else None


async def list_for_tenant(
    conn: asyncpg.Connection, tenant_id: str, *, limit: int = 100, after: Cursor | None = None
) -> list[Subscription]:
    """Newest first; ``after`` is the last row of the previous page (keyset)."""
    rows = await conn.fetch(
        f"SELECT {_COLUMNS} FROM webhook_subscriptions"  # noqa: S608
        " WHERE tenant_id = $1 AND status <> 'deleted'"
        " AND ($3::timestamptz IS NULL OR (created_at, id) < ($3, $4))"
        " ORDER BY created_at DESC, id DESC LIMIT $2",
        tenant_id,
        limit,
        after.created_at if after else None,
        after.id if after else None,
    )
    return [_row(r) for r in rows]


async def active_for_tenant(conn: asyncpg.Connection, tenant_id: str) -> list[Subscription]:
    rows = await conn.fetch(
        f"SELECT {_COLUMNS} FROM webhook_subscriptions WHERE tenant_id = $1 AND status = 'active'",  # noqa: S608
        tenant_id,
    )
    return [_row(r) for r in rows]


async def by_ids(conn: asyncpg.Connection, ids: Sequence[UUID]) -> dict[UUID, Subscription]:
    """For the dispatcher, which works on deliveries it claimed (each names its tenant)."""
    rows = await conn.fetch(
        f"SELECT {_COLUMNS} FROM webhook_subscriptions WHERE id = ANY($1::uuid[])",  # noqa: S608
        list(ids),
    )
    return {r["id"]: _row(r) for r in rows}


_PATCHABLE = {
    "url",
    "event_types",
    "trigger_ids",
    "connection_ids",
    "rate_limit",
    "max_concurrency",
    "status",
}


async def update(
    conn: asyncpg.Connection, tenant_id: str, subscription_id: UUID, changes: dict[str, Any]
) -> Subscription | None:
    fields = [k for k in changes if k in _PATCHABLE]
    sets = [f"{k} = ${i + 3}" for i, k in enumerate(fields)]
    if "status" in changes and changes["status"] == "active":
        sets += ["disabled_reason = NULL", "failing_since = NULL"]
    sets.append("updated_at = now()")
    r = await conn.fetchrow(
        f"UPDATE webhook_subscriptions SET {', '.join(sets)}"  # noqa: S608 - names from _PATCHABLE
        f" WHERE id = $1 AND tenant_id = $2 AND status <> 'deleted' RETURNING {_COLUMNS}",
        subscription_id,
        tenant_id,
        *[list(changes[k]) if isinstance(changes[k], list | tuple) else changes[k] for k in fields],
    )
    return _row(r) if r else None


async def rotate(
    conn: asyncpg.Connection,
    tenant_id: str,
    subscription_id: UUID,
    new_key: str,
    previous_valid_until: datetime,
) -> Subscription | None:
    r = await conn.fetchrow(
        "UPDATE webhook_subscriptions SET previous_secret_key = secret_key, secret_key = $3,"  # noqa: S608
        " previous_valid_until = $4, updated_at = now()"
        f" WHERE id = $1 AND tenant_id = $2 AND status <> 'deleted' RETURNING {_COLUMNS}",
        subscription_id,
        tenant_id,
        new_key,
        previous_valid_until,
    )
    return _row(r) if r else None


async def mark_deleted(conn: asyncpg.Connection, tenant_id: str, subscription_id: UUID) -> bool:
    done = await conn.fetchval(
        "UPDATE webhook_subscriptions SET status = 'deleted', updated_at = now()"
        " WHERE id = $1 AND tenant_id = $2 AND status <> 'deleted' RETURNING 1",
        subscription_id,
        tenant_id,
    )
    return done is not None


async def record_outcome(
    conn: asyncpg.Connection, subscription_id: UUID, *, success: bool, at: datetime
) -> datetime | None:
    """Success clears ``failing_since``; a failure starts it if unset. Returns it."""
    if success:
        await conn.execute(
            "UPDATE webhook_subscriptions SET failing_since = NULL WHERE id = $1 AND failing_since IS NOT NULL",  # noqa: E501
            subscription_id,
        )
        return None
    value: datetime | None = await conn.fetchval(
        "UPDATE webhook_subscriptions SET failing_since = COALESCE(failing_since, $2) WHERE id = $1"
        " RETURNING failing_since",
        subscription_id,
        at,
    )
    return value


async def disable(conn: asyncpg.Connection, subscription_id: UUID, reason: str) -> bool:
    done = await conn.fetchval(
        "UPDATE webhook_subscriptions SET status = 'disabled', disabled_reason = $2, updated_at = now()"
        " WHERE id = $1 AND status = 'active' RETURNING 1",
        subscription_id,
        reason,
    )
    return done is not None
