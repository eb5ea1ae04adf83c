"""Where the webhook-verifying copy of each app's client secret is (the vault keys, never the
value). Writes are compare-and-set on the current key, so two replicas syncing at once cannot
both win."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg

from hub_oauth.domain.app_webhook_secret import Mirror

_COLUMNS = (
    "tenant_id, connector_id, app_kind, client_id, fingerprint, current_key, previous_key, "
    "previous_valid_until, rotated_at"
)


def _mirror(row: Any) -> Mirror | None:
    return Mirror(**dict(row)) if row else None


async def get(conn: asyncpg.Connection, tenant_id: str, connector_id: str) -> Mirror | None:
    return _mirror(
        await conn.fetchrow(
            f"SELECT {_COLUMNS} FROM app_webhook_secrets "  # noqa: S608
            "WHERE tenant_id = $1 AND connector_id = $2",
            tenant_id,
            connector_id,
        )
    )


async def insert(
    conn: asyncpg.Connection,
    tenant_id: str,
    connector_id: str,
    app_kind: str,
    client_id: str,
    fingerprint: str,
    key: str,
) -> Mirror | None:
    """The first copy; None when another replica made one meanwhile."""
    return _mirror(
        await conn.fetchrow(
            "INSERT INTO app_webhook_secrets "  # noqa: S608
            "(tenant_id, connector_id, app_kind, client_id, fingerprint, current_key) "
            "VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (tenant_id, connector_id) DO NOTHING "
            f"RETURNING {_COLUMNS}",
            tenant_id,
            connector_id,
            app_kind,
            client_id,
            fingerprint,
            key,
        )
    )


async def rotate(
    conn: asyncpg.Connection,
    tenant_id: str,
    connector_id: str,
    *,
    expected_key: str,
    app_kind: str,
    client_id: str,
    fingerprint: str,
    key: str,
    previous_valid_until: datetime,
) -> Mirror | None:
    """The new copy becomes current, the old one previous until ``previous_valid_until``; None
    when the current key is no longer ``expected_key`` (another replica rotated first)."""
    return _mirror(
        await conn.fetchrow(
            "UPDATE app_webhook_secrets SET app_kind = $4, client_id = $5, fingerprint = $6, "  # noqa: S608
            "current_key = $7, previous_key = current_key, previous_valid_until = $8, rotated_at = now() "
            "WHERE tenant_id = $1 AND connector_id = $2 AND current_key = $3 "
            f"RETURNING {_COLUMNS}",
            tenant_id,
            connector_id,
            expected_key,
            app_kind,
            client_id,
            fingerprint,
            key,
            previous_valid_until,
        )
    )


async def clear_previous(
    conn: asyncpg.Connection, tenant_id: str, connector_id: str, previous_key: str
) -> Mirror | None:
    return _mirror(
        await conn.fetchrow(
            "UPDATE app_webhook_secrets SET previous_key = NULL, previous_valid_until = NULL "  # noqa: S608
            "WHERE tenant_id = $1 AND connector_id = $2 AND previous_key = $3 "
            f"RETURNING {_COLUMNS}",
            tenant_id,
            connector_id,
            previous_key,
        )
    )


async def delete(conn: asyncpg.Connection, tenant_id: str, connector_id: str) -> Mirror | None:
    return _mirror(
        await conn.fetchrow(
            "DELETE FROM app_webhook_secrets WHERE tenant_id = $1 AND connector_id = $2 "  # noqa: S608
            f"RETURNING {_COLUMNS}",
            tenant_id,
            connector_id,
        )
    )
