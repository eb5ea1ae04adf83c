"""The ``integrations_connections`` table."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

from hub_connectors.domain.connection import Connection
from hub_connectors.domain.states import ConnectionStatus

_COLUMNS = (
    "id, tenant_id, user_id, connector_id, connector_version, category, custom, auth_method, name, "
    "status, base_url, config, metadata, external_account_id, external_account_name, connected_at, "
    "last_health_check_at, last_health_check_status, last_health_check_latency_ms, last_error, "
    "active_triggers_count, status_changed_at, created_at, updated_at, disconnected_at"
)


_INSERT = (
    "INSERT INTO integrations_connections (id, tenant_id, user_id, connector_id, connector_version, "  # noqa: S608
    "category, custom, auth_method, name, status, base_url, config, metadata) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) "
    f"RETURNING {_COLUMNS}"
)


class NameInUse(Exception):
    pass


def _row(record: asyncpg.Record) -> Connection:
    data = dict(record)
    data["status"] = ConnectionStatus(data["status"])
    return Connection(**data)


async def insert(conn: asyncpg.Connection, c: Connection) -> Connection:
    try:
        record = await conn.fetchrow(
            _INSERT,
            c.id,
            c.tenant_id,
            c.user_id,
            c.connector_id,
            c.connector_version,
            c.category,
            c.custom,
            c.auth_method,
            c.name,
            str(c.status),
            c.base_url,
            c.config,
            c.metadata,
        )
    except asyncpg.UniqueViolationError:
        raise NameInUse(c.name) from None
    assert record is not None
    return _row(record)


async def get(
    conn: asyncpg.Connection, tenant_id: str, connection_id: UUID, *, for_update: bool = False
) -> Connection | None:
    lock = " FOR UPDATE" if for_update else ""
    record = await conn.fetchrow(
        f"SELECT {_COLUMNS} FROM integrations_connections WHERE id = $1 AND tenant_id = $2{lock}",  # noqa: S608
        connection_id,
        tenant_id,
    )
    return _row(record) if record else None


async def get_unscoped(conn: asyncpg.Connection, connection_id: UUID) -> Connection | None:
    """For service-to-service resolution only: user requests always go through ``get``."""
    record = await conn.fetchrow(
        f"SELECT {_COLUMNS} FROM integrations_connections WHERE id = $1",  # noqa: S608
        connection_id,
    )
    return _row(record) if record else None


async def list_for_tenant(
    conn: asyncpg.Connection, tenant_id: str, *, category: str | None, include_disconnected: bool
) -> list[Connection]:
    records = await conn.fetch(
        f"SELECT {_COLUMNS} FROM integrations_connections WHERE tenant_id = $1 "  # noqa: S608
        "AND ($2::text IS NULL OR category = $2) AND ($3 OR status <> 'disconnected') "
        "ORDER BY created_at DESC, id",
        tenant_id,
        category,
        include_disconnected,
    )
    return [_row(r) for r in records]


async def count_in_use(conn: asyncpg.Connection, tenant_id: str) -> int:
    count: int = await conn.fetchval(
        "SELECT count(*) FROM integrations_connections WHERE tenant_id = $1 AND status <> 'disconnected'",
        tenant_id,
    )
    return count


async def delete(conn: asyncpg.Connection, connection_id: UUID) -> None:
    """Only for a connection that never became usable (its creation failed half-way)."""
    await conn.execute("DELETE FROM integrations_connections WHERE id = $1", connection_id)


async def update(conn: asyncpg.Connection, connection_id: UUID, **changes: Any) -> Connection:
    """Set the given columns (names from code, never from input) and bump updated_at
    (and status_changed_at when the status really changes)."""
    names = list(changes)
    assignments = ", ".join(f"{name} = ${i}" for i, name in enumerate(names, start=2))
    if "status" in changes:
        position = names.index("status") + 2
        # SET sees the old row, so this compares the previous status with the new one.
        assignments += (
            f", status_changed_at = CASE WHEN status IS DISTINCT FROM ${position} "
            "THEN now() ELSE status_changed_at END"
        )
    values = [str(v) if isinstance(v, ConnectionStatus) else v for v in changes.values()]
    record = await conn.fetchrow(
        f"UPDATE integrations_connections SET {assignments}, updated_at = now() "  # noqa: S608
        f"WHERE id = $1 RETURNING {_COLUMNS}",
        connection_id,
        *values,
    )
    assert record is not None
    return _row(record)


async def claim_due_for_health(
    conn: asyncpg.Connection,
    statuses: Sequence[str],
    older_than: datetime,
    limit: int,
    custom_tiers: Sequence[str],
) -> list[Connection]:
    """Claim connections whose last check is older than ``older_than`` by stamping them now.

    ``SKIP LOCKED`` lets replicas claim disjoint sets; the stamp keeps a claimed connection out of
    the next round even if this replica dies before checking it (it is simply checked later).
    Custom connectors are only run for tenants whose tier allows them.
    """
    records = await conn.fetch(
        f"""
        WITH due AS (
            SELECT id FROM integrations_connections
            WHERE status = ANY($1::text[])
              AND (last_health_check_at IS NULL OR last_health_check_at < $2)
              AND (NOT custom OR tenant_id IN (SELECT tenant_id FROM tenants WHERE tier = ANY($4::text[])))
            ORDER BY last_health_check_at NULLS FIRST
            LIMIT $3
            FOR UPDATE SKIP LOCKED
        )
        UPDATE integrations_connections c SET last_health_check_at = now()
        FROM due WHERE c.id = due.id
        RETURNING {", ".join("c." + col.strip() for col in _COLUMNS.split(","))}
        """,  # noqa: S608
        list(statuses),
        older_than,
        limit,
        list(custom_tiers),
    )
    return [_row(r) for r in records]


async def initializing_since(
    conn: asyncpg.Connection, older_than: datetime, limit: int, *, oauth: bool
) -> list[Connection]:
    """Connections still ``initializing`` since before ``older_than``, OAuth ones or the others.
    Unscoped: for the sweeper only."""
    records = await conn.fetch(
        f"SELECT {_COLUMNS} FROM integrations_connections "  # noqa: S608
        "WHERE status = 'initializing' AND created_at < $1 AND (auth_method = 'oauth2') = $2 "
        "ORDER BY created_at LIMIT $3",
        older_than,
        oauth,
        limit,
    )
    return [_row(r) for r in records]
