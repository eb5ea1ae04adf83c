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
    # SHA-256 of the browser binding its start link set; None while no browser opened it.
    binding_hash: bytes | None = None


REVOKED = "connection_revoked"  # error_code of the flows a revoke ended

_COLUMNS = (
    "id, tenant_id, user_id, connection_id, connector_id, code_verifier, redirect_uri, scopes, "
    "return_to, expected_iss, status, expires_at, binding_hash"
)


async def insert(
    conn: asyncpg.Connection,
    flow: FlowRow,
    state_hash: bytes,
    *,
    start_hash: bytes | None = None,
    start_expires_at: datetime | None = None,
    authorization_url: str | None = None,
) -> None:
    await conn.execute(
        """INSERT INTO flows (id, tenant_id, user_id, connection_id, connector_id, state_hash, code_verifier,
                              redirect_uri, scopes, return_to, expected_iss, status, expires_at,
                              start_hash, start_expires_at, authorization_url)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 'pending', $12, $13, $14, $15)""",
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
        start_hash,
        start_expires_at,
        authorization_url,
    )


async def open_start(
    conn: asyncpg.Connection, flow_id: UUID, start_hash: bytes, binding_hash: bytes
) -> tuple[str, datetime] | None:
    """Use a start link (once): bind the flow to the browser's value and hand back where to send
    it. The link's ticket and the stored URL (it holds the state) are cleared in the same step."""
    row = await conn.fetchrow(
        # RETURNING shows the new row, so the URL comes from the row as it was; a concurrent
        # second use re-checks start_hash on the updated row and matches nothing.
        """UPDATE flows f SET start_hash = NULL, authorization_url = NULL, binding_hash = $3
           FROM (SELECT authorization_url FROM flows WHERE id = $1) AS before
           WHERE f.id = $1 AND f.start_hash = $2 AND f.binding_hash IS NULL AND f.status = 'pending'
             AND f.expires_at > now() AND f.start_expires_at > now()
           RETURNING before.authorization_url AS url, f.expires_at""",
        flow_id,
        start_hash,
        binding_hash,
    )
    return (row["url"], row["expires_at"]) if row else None


async def why_start_unusable(conn: asyncpg.Connection, flow_id: UUID) -> str:
    """unknown | used | expired | revoked — for a precise error after a failed start."""
    row = await conn.fetchrow(
        """SELECT status, error_code, binding_hash IS NOT NULL AS opened,
                  expires_at <= now() OR start_expires_at <= now() AS expired
           FROM flows WHERE id = $1""",
        flow_id,
    )
    if row is None:
        return "unknown"
    if row["status"] == "failed" and row["error_code"] == REVOKED:
        return "revoked"
    if row["opened"] or row["status"] != "pending":
        return "used"
    return "expired" if row["expired"] else "unknown"


async def claim_by_state(conn: asyncpg.Connection, state_hash: bytes) -> FlowRow | None:
    """Atomically move a live pending flow to 'exchanging': a state works exactly once."""
    row = await conn.fetchrow(
        f"""UPDATE flows SET status = 'exchanging'
            WHERE state_hash = $1 AND status = 'pending' AND expires_at > now()
            RETURNING {_COLUMNS}""",  # noqa: S608 - constant column list
        state_hash,
    )
    return FlowRow(**dict(row)) if row else None


async def claim_by_id(
    conn: asyncpg.Connection, flow_id: UUID, tenant_id: str, user_id: str
) -> FlowRow | None:
    """The API client's claim: only the user who started the flow, and only while no browser
    opened its start link (a browser-bound flow completes at the callback, in that browser)."""
    row = await conn.fetchrow(
        f"""UPDATE flows SET status = 'exchanging'
            WHERE id = $1 AND tenant_id = $2 AND user_id = $3 AND binding_hash IS NULL
              AND status = 'pending' AND expires_at > now()
            RETURNING {_COLUMNS}""",  # noqa: S608
        flow_id,
        tenant_id,
        user_id,
    )
    return FlowRow(**dict(row)) if row else None


_WHY = "status, error_code, expires_at <= now() AS expired, user_id, binding_hash IS NOT NULL AS opened"


async def why_unclaimable(
    conn: asyncpg.Connection,
    *,
    state_hash: bytes | None = None,
    flow_id: UUID | None = None,
    tenant_id: str | None = None,
    user_id: str | None = None,
) -> str:
    """unknown | expired | used | revoked | other_user | browser_bound — for a precise error
    after a failed claim (the last two only for a claim by id, which names its user)."""
    if state_hash is not None:
        row = await conn.fetchrow(
            f"SELECT {_WHY} FROM flows WHERE state_hash = $1",  # noqa: S608
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
    if user_id is not None and row["user_id"] != user_id:
        return "other_user"  # before anything else: nothing more about another user's flow
    if row["status"] == "failed" and row["error_code"] == REVOKED:
        return "revoked"
    if row["status"] != "pending":
        return "used"
    if row["expired"]:
        return "expired"
    return "browser_bound" if user_id is not None and row["opened"] else "unknown"


async def finish(conn: asyncpg.Connection, flow_id: UUID, *, ok: bool, error_code: str | None = None) -> None:
    await conn.execute(
        """UPDATE flows SET status = $2, error_code = $3, finished_at = now(), code_verifier = NULL,
                            start_hash = NULL, authorization_url = NULL
           WHERE id = $1""",
        flow_id,
        "completed" if ok else "failed",
        error_code,
    )


async def end_open(conn: asyncpg.Connection, connection_id: UUID) -> int:
    """A revoke ends the connection's open flows: one the user finishes later (or one already
    at the provider) must not bring the revoked connection back with a fresh grant."""
    result: str = await conn.execute(
        """UPDATE flows SET status = 'failed', error_code = $2, finished_at = now(), code_verifier = NULL,
                            start_hash = NULL, authorization_url = NULL
           WHERE connection_id = $1 AND status IN ('pending', 'exchanging')""",
        connection_id,
        REVOKED,
    )
    return int(result.split()[-1])


async def is_exchanging(conn: asyncpg.Connection, flow_id: UUID) -> bool:
    """Still claimed by its callback, i.e. not ended by a revoke meanwhile."""
    status = await conn.fetchval("SELECT status FROM flows WHERE id = $1", flow_id)
    return bool(status == "exchanging")


async def purge(conn: asyncpg.Connection, older_than_s: int) -> int:
    result: str = await conn.execute(
        "DELETE FROM flows WHERE expires_at < now() - make_interval(secs => $1)", older_than_s
    )
    return int(result.split()[-1])
