"""The ``ui_sessions`` and ``connect_sessions`` tables (docs/adr/0029). Only SHA-256 hashes of the
cookie and of the connect token are stored; the values exist only in the browser."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import asyncpg

_SESSION = "tenant_id, user_id, tier, csrf_token, end_user_id, allowed_connectors, return_to, expires_at"


async def insert_session(
    conn: asyncpg.Connection,
    *,
    id_hash: bytes,
    tenant_id: str,
    user_id: str,
    tier: str,
    csrf_token: str,
    expires_at: datetime,
    end_user_id: str | None = None,
    allowed_connectors: list[str] | None = None,
    return_to: str | None = None,
) -> None:
    await conn.execute(
        "INSERT INTO ui_sessions (id_hash, tenant_id, user_id, tier, csrf_token, expires_at, end_user_id,"
        " allowed_connectors, return_to) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        id_hash,
        tenant_id,
        user_id,
        tier,
        csrf_token,
        expires_at,
        end_user_id,
        allowed_connectors,
        return_to,
    )


async def live_session(conn: asyncpg.Connection, id_hash: bytes) -> asyncpg.Record | None:
    return await conn.fetchrow(
        f"SELECT {_SESSION} FROM ui_sessions WHERE id_hash = $1 AND expires_at > now()",  # noqa: S608
        id_hash,
    )


async def delete_session(conn: asyncpg.Connection, id_hash: bytes) -> None:
    await conn.execute("DELETE FROM ui_sessions WHERE id_hash = $1", id_hash)


async def purge_expired(conn: asyncpg.Connection) -> int:
    done = await conn.execute("DELETE FROM ui_sessions WHERE expires_at < now()")
    gone = await conn.execute("DELETE FROM connect_sessions WHERE expires_at < now() - interval '1 day'")
    return int(done.split()[-1]) + int(gone.split()[-1])


async def insert_connect(
    conn: asyncpg.Connection,
    *,
    token_hash: bytes,
    session_id: UUID,
    tenant_id: str,
    created_by: str,
    tier: str,
    end_user_id: str,
    end_user_email: str | None,
    allowed_connectors: list[str],
    return_to: str | None,
    expires_at: datetime,
) -> None:
    await conn.execute(
        "INSERT INTO connect_sessions (token_hash, id, tenant_id, created_by, tier, end_user_id,"
        " end_user_email, allowed_connectors, return_to, expires_at)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        token_hash,
        session_id,
        tenant_id,
        created_by,
        tier,
        end_user_id,
        end_user_email,
        allowed_connectors,
        return_to,
        expires_at,
    )


async def use_connect(conn: asyncpg.Connection, token_hash: bytes) -> asyncpg.Record | None:
    """The connect session, consumed in the same statement: a token opens one browser session."""
    return await conn.fetchrow(
        "UPDATE connect_sessions SET used_at = now() WHERE token_hash = $1 AND used_at IS NULL"
        " AND expires_at > now() RETURNING id, tenant_id, created_by, tier, end_user_id,"
        " allowed_connectors, return_to, expires_at",
        token_hash,
    )


async def tag_end_user(
    conn: asyncpg.Connection, tenant_id: str, connection_id: UUID, end_user_id: str
) -> None:
    await conn.execute(
        "UPDATE integrations_connections SET end_user_id = $3 WHERE tenant_id = $1 AND id = $2",
        tenant_id,
        connection_id,
        end_user_id,
    )


async def end_users(conn: asyncpg.Connection, tenant_id: str) -> dict[UUID, str]:
    rows = await conn.fetch(
        "SELECT id, end_user_id FROM integrations_connections"
        " WHERE tenant_id = $1 AND end_user_id IS NOT NULL",
        tenant_id,
    )
    return {r["id"]: r["end_user_id"] for r in rows}


async def rename_connection(conn: asyncpg.Connection, tenant_id: str, connection_id: UUID, name: str) -> bool:
    """False when no such connection; raises UniqueViolationError when the name is taken."""
    done = await conn.fetchval(
        "UPDATE integrations_connections SET name = $3, updated_at = now()"
        " WHERE tenant_id = $1 AND id = $2 AND status <> 'disconnected' RETURNING 1",
        tenant_id,
        connection_id,
        name,
    )
    return done is not None
