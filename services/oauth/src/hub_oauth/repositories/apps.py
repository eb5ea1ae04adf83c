"""OAuth app registrations per tenant (the client secret is in the vault)."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg


@dataclass(frozen=True)
class AppRow:
    tenant_id: str
    connector_id: str
    client_id: str
    redirect_uri: str | None
    scopes: list[str]


async def upsert(conn: asyncpg.Connection, app: AppRow) -> bool:
    """Returns True when the app was created, False when replaced."""
    created: bool = await conn.fetchval(
        """INSERT INTO apps (tenant_id, connector_id, client_id, redirect_uri, scopes)
           VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (tenant_id, connector_id) DO UPDATE
             SET client_id = EXCLUDED.client_id, redirect_uri = EXCLUDED.redirect_uri,
                 scopes = EXCLUDED.scopes, updated_at = now()
           RETURNING (xmax = 0)""",
        app.tenant_id,
        app.connector_id,
        app.client_id,
        app.redirect_uri,
        app.scopes,
    )
    return created


async def get(conn: asyncpg.Connection, tenant_id: str, connector_id: str) -> AppRow | None:
    row = await conn.fetchrow(
        "SELECT tenant_id, connector_id, client_id, redirect_uri, scopes FROM apps "
        "WHERE tenant_id = $1 AND connector_id = $2",
        tenant_id,
        connector_id,
    )
    return AppRow(**dict(row)) if row else None


async def delete(conn: asyncpg.Connection, tenant_id: str, connector_id: str) -> bool:
    result: str = await conn.execute(
        "DELETE FROM apps WHERE tenant_id = $1 AND connector_id = $2", tenant_id, connector_id
    )
    return result.endswith(" 1")
