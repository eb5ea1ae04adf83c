"""The ``content_exports`` table (every query scoped to a tenant, except the worker's claim)."""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID

import asyncpg

from hub_connectors.domain.content_export import ContentExport

_COLUMNS = (
    "id, tenant_id, connection_id, connector_id, user_id, mode, status, start_cursor, cursor, pages, "
    "documents, attempts, error_code, error_message, lease_owner, lease_until, created_at, updated_at, "
    "finished_at"
)


class ExportRunning(Exception):
    """The connection already has a running export."""


def _row(record: asyncpg.Record | None) -> ContentExport | None:
    return ContentExport(**dict(record)) if record is not None else None


async def insert(
    conn: asyncpg.Connection,
    *,
    export_id: UUID,
    tenant_id: str,
    connection_id: UUID,
    connector_id: str,
    user_id: str,
    mode: str,
    start_cursor: str | None,
) -> ContentExport:
    try:
        # A savepoint: the caller's transaction stays usable after a unique violation.
        async with conn.transaction():
            record = await conn.fetchrow(
                "INSERT INTO content_exports (id, tenant_id, connection_id, connector_id, user_id, mode, "  # noqa: S608
                "status, start_cursor, cursor) VALUES ($1, $2, $3, $4, $5, $6, 'running', $7, $7) "
                f"RETURNING {_COLUMNS}",
                export_id,
                tenant_id,
                connection_id,
                connector_id,
                user_id,
                mode,
                start_cursor,
            )
    except asyncpg.UniqueViolationError:
        raise ExportRunning() from None
    found = _row(record)
    assert found is not None
    return found


async def get(
    conn: asyncpg.Connection, tenant_id: str, connection_id: UUID, export_id: UUID
) -> ContentExport | None:
    return _row(
        await conn.fetchrow(
            f"SELECT {_COLUMNS} FROM content_exports "  # noqa: S608
            "WHERE tenant_id = $1 AND connection_id = $2 AND id = $3",
            tenant_id,
            connection_id,
            export_id,
        )
    )


async def running_for(conn: asyncpg.Connection, tenant_id: str, connection_id: UUID) -> ContentExport | None:
    return _row(
        await conn.fetchrow(
            f"SELECT {_COLUMNS} FROM content_exports "  # noqa: S608
            "WHERE tenant_id = $1 AND connection_id = $2 AND status = 'running'",
            tenant_id,
            connection_id,
        )
    )


async def list_for(
    conn: asyncpg.Connection, tenant_id: str, connection_id: UUID, limit: int
) -> list[ContentExport]:
    records = await conn.fetch(
        f"SELECT {_COLUMNS} FROM content_exports "  # noqa: S608
        "WHERE tenant_id = $1 AND connection_id = $2 ORDER BY created_at DESC LIMIT $3",
        tenant_id,
        connection_id,
        limit,
    )
    return [e for e in (_row(r) for r in records) if e is not None]


async def last_completed_cursor(conn: asyncpg.Connection, tenant_id: str, connection_id: UUID) -> str | None:
    """Where the last finished export ended: the start of the next incremental one."""
    value = await conn.fetchval(
        "SELECT cursor FROM content_exports WHERE tenant_id = $1 AND connection_id = $2 "
        "AND status = 'completed' ORDER BY finished_at DESC LIMIT 1",
        tenant_id,
        connection_id,
    )
    return str(value) if value is not None else None


async def claim(conn: asyncpg.Connection, owner: str, lease: timedelta) -> ContentExport | None:
    """Take one running export nobody holds (never leased, released, or its lease ran out)."""
    return _row(
        await conn.fetchrow(
            f"""UPDATE content_exports SET lease_owner = $1, lease_until = now() + $2, updated_at = now()
            WHERE id = (
                SELECT id FROM content_exports
                WHERE status = 'running' AND (lease_until IS NULL OR lease_until < now())
                ORDER BY created_at FOR UPDATE SKIP LOCKED LIMIT 1
            ) RETURNING {_COLUMNS}""",  # noqa: S608
            owner,
            lease,
        )
    )


async def lock_held(conn: asyncpg.Connection, export_id: UUID, owner: str) -> ContentExport | None:
    """The export, locked, if this worker still holds it and it still runs (else None: it was
    cancelled, or another worker took it over after our lease ran out)."""
    return _row(
        await conn.fetchrow(
            f"SELECT {_COLUMNS} FROM content_exports "  # noqa: S608
            "WHERE id = $1 AND lease_owner = $2 AND status = 'running' FOR UPDATE",
            export_id,
            owner,
        )
    )


async def checkpoint(
    conn: asyncpg.Connection,
    export_id: UUID,
    *,
    cursor: str | None,
    documents: int,
    done: bool,
    lease: timedelta,
) -> ContentExport:
    record = await conn.fetchrow(
        f"""UPDATE content_exports SET cursor = $2, pages = pages + 1, documents = documents + $3,
            attempts = 0, updated_at = now(), lease_until = now() + $5,
            status = CASE WHEN $4 THEN 'completed' ELSE status END,
            finished_at = CASE WHEN $4 THEN now() ELSE finished_at END,
            lease_owner = CASE WHEN $4 THEN NULL ELSE lease_owner END
        WHERE id = $1 RETURNING {_COLUMNS}""",  # noqa: S608
        export_id,
        cursor,
        documents,
        done,
        lease,
    )
    found = _row(record)
    assert found is not None
    return found


async def note_attempt(
    conn: asyncpg.Connection, export_id: UUID, owner: str, code: str, message: str, lease: timedelta
) -> int:
    """Count a failed page (0: the export is no longer ours); the lease covers the wait to retry."""
    value = await conn.fetchval(
        "UPDATE content_exports SET attempts = attempts + 1, error_code = $3, error_message = $4, "
        "updated_at = now(), lease_until = now() + $5 "
        "WHERE id = $1 AND lease_owner = $2 AND status = 'running' RETURNING attempts",
        export_id,
        owner,
        code,
        message,
        lease,
    )
    return int(value or 0)


async def finish(
    conn: asyncpg.Connection,
    export_id: UUID,
    status: str,
    *,
    owner: str | None = None,
    tenant_id: str | None = None,
    code: str | None = None,
    message: str | None = None,
) -> ContentExport | None:
    """End a running export (failed or cancelled); by its worker (owner) or its tenant."""
    return _row(
        await conn.fetchrow(
            f"""UPDATE content_exports SET status = $2, error_code = COALESCE($5, error_code),
                error_message = COALESCE($6, error_message), finished_at = now(), updated_at = now(),
                lease_owner = NULL, lease_until = NULL
            WHERE id = $1 AND status = 'running'
              AND ($3::text IS NULL OR lease_owner = $3) AND ($4::text IS NULL OR tenant_id = $4)
            RETURNING {_COLUMNS}""",  # noqa: S608
            export_id,
            status,
            owner,
            tenant_id,
            code,
            message,
        )
    )


async def release(conn: asyncpg.Connection, owner: str) -> None:
    """A worker stopping cleanly hands its exports back at once (no lease to wait out)."""
    await conn.execute(
        "UPDATE content_exports SET lease_owner = NULL, lease_until = NULL WHERE lease_owner = $1 "
        "AND status = 'running'",
        owner,
    )
