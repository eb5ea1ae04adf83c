"""Authorization flows: created pending, claimed exactly once by the callback."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

import asyncpg


@dataclass(frozen=True)
class FlowRow:
    id: UUID
    tenant_id: str
    user_id: str
    connection_id: UUID
    connector_id: str
    code_verifier: str | None
    redirect_uri: str
    scopes: list[str]
    return_to: str | None
    expected_iss: str | None
    status: str
    expires_at: datetime


REVOKED = "connection_revoked"  # error_code of the flows a revoke ended

_COLUMNS = (
    "id, tenant_id, user_id, connection_id, connector_id, code_verifier, redirect_uri, scopes, "
    "return_to, expected_iss, status, expires_at"
)


async def insert(conn: asyncpg.Connection | asyncpg.Pool, flow: FlowRow, state_hash: bytes) -> None:
    await conn.execute(
        """INSERT INTO flows (id, tenant_id, user_id, connection_id, connector_id, state_hash, code_verifier,
                              redirect_uri, scopes, return_to, expected_iss, status, expires_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 'pending', $12)""",
        flow.id,
        flow.tenant_id,
        flow.user_id,
        flow.connection_id,
        flow.connector_id,
        state_hash,
        flow.code_verifier,
        flow.redirect_uri,
        flow.scopes,
        flow.return_to,
        flow.expected_iss,
        flow.expires_at,
    )


async def claim_by_state(conn: asyncpg.Connection | asyncpg.Pool, state_hash: bytes) -> FlowRow | None:
    """Atomically move a live pending flow to 'exchanging': a state works exactly once."""
    row = await conn.fetchrow(
        f"""UPDATE flows SET status = 'exchanging'
            WHERE state_hash = $1 AND status = 'pending' AND expires_at > now()
            RETURNING {_COLUMNS}""",  # noqa: S608 - constant column list
        state_hash,
    )
    return FlowRow(**dict(row)) if row else None


async def claim_by_id(
    conn: asyncpg.Connection | asyncpg.Pool, flow_id: UUID, tenant_id: str
) -> FlowRow | None:
    row = await conn.fetchrow(
        f"""UPDATE flows SET status = 'exchanging'
            WHERE id = $1 AND tenant_id = $2 AND status = 'pending' AND expires_at > now()
            RETURNING {_COLUMNS}""",  # noqa: S608
        flow_id,
        tenant_id,
    )
    return FlowRow(**dict(row)) if row else None


_WHY = "status, error_code, expires_at <= now() AS expired"


async def why_unclaimable(
    conn: asyncpg.Connection | asyncpg.Pool,
    *,
    state_hash: bytes | None = None,
    flow_id: UUID | None = None,
    tenant_id: str | None = None,
) -> str:
    """unknown | expired | used | revoked — for a precise error after a failed claim."""
    if state_hash is not None:
        row = await conn.fetchrow(
            "SELECT status, error_code, expires_at <= now() AS expired FROM flows WHERE state_hash = $1",
            state_hash,
        )
    else:
        row = await conn.fetchrow(
            f"SELECT {_WHY} FROM flows WHERE id = $1 AND tenant_id = $2",  # noqa: S608
            flow_id,
            tenant_id,
        )
    if row is None:
        return "unknown"
    if row["status"] == "failed" and row["error_code"] == REVOKED:
        return "revoked"
    if row["status"] != "pending":
        return "used"
    return "expired" if row["expired"] else "unknown"


async def finish(
    conn: asyncpg.Connection | asyncpg.Pool, flow_id: UUID, *, ok: bool, error_code: str | None = None
) -> None:
    await conn.execute(
        """UPDATE flows SET status = $2, error_code = $3, finished_at = now(), code_verifier = NULL
           WHERE id = $1""",
        flow_id,
        "completed" if ok else "failed",
        error_code,
    )


async def end_open(conn: asyncpg.Connection | asyncpg.Pool, connection_id: UUID) -> int:
    """A revoke ends the connection's open flows: one the user finishes later (or one already
    at the provider) must not bring the revoked connection back with a fresh grant."""
    result: str = await conn.execute(
        """UPDATE flows SET status = 'failed', error_code = $2, finished_at = now(), code_verifier = NULL
           WHERE connection_id = $1 AND status IN ('pending', 'exchanging')""",
        connection_id,
        REVOKED,
    )
    return int(result.split()[-1])


async def is_exchanging(conn: asyncpg.Connection | asyncpg.Pool, flow_id: UUID) -> bool:
    """Still claimed by its callback, i.e. not ended by a revoke meanwhile."""
    status = await conn.fetchval("SELECT status FROM flows WHERE id = $1", flow_id)
    return bool(status == "exchanging")


async def purge(conn: asyncpg.Connection | asyncpg.Pool, older_than_s: int) -> int:
    result: str = await conn.execute(
        "DELETE FROM flows WHERE expires_at < now() - make_interval(secs => $1)", older_than_s
    )
    return int(result.split()[-1])
