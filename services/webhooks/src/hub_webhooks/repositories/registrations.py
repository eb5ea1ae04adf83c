"""``webhook_registrations``: every query but the intake's lookup by id is tenant-scoped."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

from hub_common.pagination import Cursor
from hub_webhooks.domain.registration import Mode, Registration, SecretSource, Status

_COLUMNS = (
    "id, tenant_id, user_id, connection_id, connector_id, mode, status, trigger_ids, filter, events, "
    "routing_key, external_id, provider_metadata, signature_spec, secret_key, previous_secret_key, "
    "previous_valid_until, expires_at, received_count, last_received_at, last_error, last_error_at, "
    "created_at, updated_at, secret_source"
)


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def _of(row: asyncpg.Record) -> Registration:
    return Registration(
        id=row["id"],
        tenant_id=row["tenant_id"],
        user_id=row["user_id"],
        connection_id=row["connection_id"],
        connector_id=row["connector_id"],
        mode=Mode(row["mode"]),
        status=Status(row["status"]),
        trigger_ids=list(row["trigger_ids"]),
        filter=_json(row["filter"]),
        events=list(row["events"]),
        routing_key=row["routing_key"],
        external_id=row["external_id"],
        provider_metadata=_json(row["provider_metadata"]) or {},
        signature_spec=_json(row["signature_spec"]),
        secret_key=row["secret_key"],
        previous_secret_key=row["previous_secret_key"],
        previous_valid_until=row["previous_valid_until"],
        expires_at=row["expires_at"],
        received_count=row["received_count"],
        last_received_at=row["last_received_at"],
        last_error=row["last_error"],
        last_error_at=row["last_error_at"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        secret_source=SecretSource(row["secret_source"]),
    )


async def insert(
    conn: asyncpg.Connection,
    *,
    id: UUID,
    tenant_id: str,
    user_id: str,
    connection_id: UUID,
    connector_id: str,
    mode: Mode,
    status: Status,
    trigger_ids: Sequence[str],
    filter: dict[str, Any] | None,
    routing_key: str | None,
    signature_spec: dict[str, Any],
    secret_key: str | None,
    secret_source: SecretSource = SecretSource.REGISTRATION,
) -> Registration:
    row = await conn.fetchrow(
        "INSERT INTO webhook_registrations (id, tenant_id, user_id, connection_id, connector_id, mode, "  # noqa: S608
        "status, trigger_ids, filter, routing_key, signature_spec, secret_key, secret_source) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb, $10, $11::jsonb, $12, $13) "
        f"RETURNING {_COLUMNS}",
        id,
        tenant_id,
        user_id,
        connection_id,
        connector_id,
        str(mode),
        str(status),
        list(trigger_ids),
        json.dumps(filter) if filter is not None else None,
        routing_key,
        json.dumps(signature_spec),
        secret_key,
        str(secret_source),
    )
    assert row is not None
    return _of(row)


async def get(conn: asyncpg.Connection, tenant_id: str, registration_id: UUID) -> Registration | None:
    row = await conn.fetchrow(
        f"SELECT {_COLUMNS} FROM webhook_registrations "  # noqa: S608
        "WHERE tenant_id = $1 AND id = $2 AND status <> 'deleted'",
        tenant_id,
        registration_id,
    )
    return _of(row) if row else None


async def get_for_intake(conn: asyncpg.Connection, registration_id: UUID) -> Registration | None:
    """The intake knows only the URL: the id in it is the capability, the tenant comes from the row."""
    row = await conn.fetchrow(
        f"SELECT {_COLUMNS} FROM webhook_registrations WHERE id = $1 AND status <> 'deleted'",  # noqa: S608
        registration_id,
    )
    return _of(row) if row else None


async def by_routing_key(conn: asyncpg.Connection, connector_id: str, key: str) -> Registration | None:
    row = await conn.fetchrow(
        f"SELECT {_COLUMNS} FROM webhook_registrations "  # noqa: S608
        "WHERE connector_id = $1 AND routing_key = $2 AND status <> 'deleted'",
        connector_id,
        key,
    )
    return _of(row) if row else None


async def list_for(
    conn: asyncpg.Connection,
    tenant_id: str,
    connection_id: UUID | None,
    *,
    limit: int = 100,
    after: Cursor | None = None,
) -> list[Registration]:
    """Newest first; ``after`` is the last row of the previous page (keyset)."""
    rows = await conn.fetch(
        f"SELECT {_COLUMNS} FROM webhook_registrations WHERE tenant_id = $1 AND status <> 'deleted' "  # noqa: S608
        "AND ($2::uuid IS NULL OR connection_id = $2) "
        "AND ($4::timestamptz IS NULL OR (created_at, id) < ($4, $5)) "
        "ORDER BY created_at DESC, id DESC LIMIT $3",
        tenant_id,
        connection_id,
        limit,
        after.created_at if after else None,
        after.id if after else None,
    )
    return [_of(r) for r in rows]


async def record_provider(
    conn: asyncpg.Connection,
    registration_id: UUID,
    *,
    external_id: str,
    events: Sequence[str],
    expires_at: datetime | None,
    metadata: dict[str, Any],
    secret_key: str | None,
) -> Registration:
    """What the provider answered to an ``auto`` registration (a secret it issued replaces ours)."""
    row = await conn.fetchrow(
        "UPDATE webhook_registrations SET external_id = $2, events = $3, expires_at = $4, "  # noqa: S608
        "provider_metadata = $5::jsonb, secret_key = COALESCE($6, secret_key), status = 'active', "
        f"updated_at = now() WHERE id = $1 RETURNING {_COLUMNS}",
        registration_id,
        external_id,
        list(events),
        expires_at,
        json.dumps(metadata),
        secret_key,
    )
    assert row is not None
    return _of(row)


async def rotate_secret(
    conn: asyncpg.Connection, tenant_id: str, registration_id: UUID, new_key: str, overlap_until: datetime
) -> Registration | None:
    """The new key becomes current; the old one keeps verifying until ``overlap_until``."""
    row = await conn.fetchrow(
        "UPDATE webhook_registrations SET previous_secret_key = secret_key, "  # noqa: S608
        "previous_valid_until = CASE WHEN secret_key IS NULL THEN NULL ELSE $4::timestamptz END, "
        "secret_key = $3, status = 'active', updated_at = now() "
        f"WHERE tenant_id = $1 AND id = $2 AND status <> 'deleted' RETURNING {_COLUMNS}",
        tenant_id,
        registration_id,
        new_key,
        overlap_until,
    )
    return _of(row) if row else None


async def activate_with_secret(conn: asyncpg.Connection, registration_id: UUID, key: str) -> bool:
    """Notion's handshake: only a registration still waiting for its first secret takes one."""
    done = await conn.fetchval(
        "UPDATE webhook_registrations SET secret_key = $2, status = 'active', updated_at = now() "
        "WHERE id = $1 AND status = 'pending_secret' AND secret_key IS NULL RETURNING 1",
        registration_id,
        key,
    )
    return done is not None


async def mark_deleted(
    conn: asyncpg.Connection, tenant_id: str, registration_id: UUID
) -> Registration | None:
    row = await conn.fetchrow(
        "UPDATE webhook_registrations SET status = 'deleted', deleted_at = now(), updated_at = now() "  # noqa: S608
        f"WHERE tenant_id = $1 AND id = $2 AND status <> 'deleted' RETURNING {_COLUMNS}",
        tenant_id,
        registration_id,
    )
    return _of(row) if row else None


async def add_counts(
    conn: asyncpg.Connection,
    ids: Sequence[UUID],
    counts: Sequence[int],
    last_at: Sequence[datetime | None],
    errors: Sequence[str | None],
    error_at: Sequence[datetime | None],
) -> None:
    """Fold the intake's counters in, many registrations per statement."""
    await conn.execute(
        "UPDATE webhook_registrations r SET received_count = r.received_count + c.n, "
        "last_received_at = GREATEST(r.last_received_at, c.last_at), "
        "last_error = COALESCE(c.err, r.last_error), last_error_at = COALESCE(c.err_at, r.last_error_at) "
        "FROM unnest($1::uuid[], $2::bigint[], $3::timestamptz[], $4::text[], $5::timestamptz[]) "
        "AS c(id, n, last_at, err, err_at) WHERE r.id = c.id",
        list(ids),
        list(counts),
        list(last_at),
        list(errors),
        list(error_at),
    )


async def expiring(conn: asyncpg.Connection, before: datetime, *, limit: int = 100) -> list[Registration]:
    rows = await conn.fetch(
        f"SELECT {_COLUMNS} FROM webhook_registrations WHERE status = 'active' AND mode = 'auto' "  # noqa: S608
        "AND expires_at IS NOT NULL AND expires_at < $1 ORDER BY expires_at LIMIT $2",
        before,
        limit,
    )
    return [_of(r) for r in rows]


async def active_auto(conn: asyncpg.Connection, connector_id: str) -> list[Registration]:
    rows = await conn.fetch(
        f"SELECT {_COLUMNS} FROM webhook_registrations WHERE status = 'active' AND mode = 'auto' "  # noqa: S608
        "AND connector_id = $1 AND external_id IS NOT NULL ORDER BY created_at",
        connector_id,
    )
    return [_of(r) for r in rows]


async def by_connector(conn: asyncpg.Connection, connector_id: str, *, limit: int) -> list[Registration]:
    """Candidates for a one-URL-per-app delivery that names no workspace (Slack's
    url_verification): the connector's registrations, most recent first."""
    rows = await conn.fetch(
        f"SELECT {_COLUMNS} FROM webhook_registrations WHERE connector_id = $1 AND status = 'active' "  # noqa: S608
        "ORDER BY created_at DESC LIMIT $2",
        connector_id,
        limit,
    )
    return [_of(r) for r in rows]


async def record_error(conn: asyncpg.Connection, registration_id: UUID, error: str) -> None:
    await conn.execute(
        "UPDATE webhook_registrations SET last_error = $2, last_error_at = now() WHERE id = $1",
        registration_id,
        error[:500],
    )
