"""Token metadata (expiry, scopes, generation) — never the token values."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import asyncpg

from hub_common.db.outbox import OutboxRow


@dataclass(frozen=True)
class TokenRow:
    connection_id: UUID
    tenant_id: str
    connector_id: str
    grant_type: str
    token_type: str
    expires_at: datetime | None
    has_refresh_token: bool
    granted_scopes: list[str]
    external_account_id: str | None
    status: str
    generation: int
    last_refreshed_at: datetime | None
    metadata: dict[str, Any] = field(default_factory=dict)
    issued_at: datetime | None = None  # when the stored access token was obtained

    def more_than_half_life_left(self, now: datetime) -> bool:
        """True while the access token has more than half its lifetime ahead of it."""
        if self.expires_at is None:
            return True
        issued = self.issued_at or self.last_refreshed_at
        if issued is None or self.expires_at <= issued:
            return False
        return self.expires_at - now > (self.expires_at - issued) / 2


_COLUMNS = (
    "connection_id, tenant_id, connector_id, grant_type, token_type, expires_at, has_refresh_token, "
    "granted_scopes, external_account_id, status, generation, last_refreshed_at, metadata, "
    "issued_at"
)


async def get(conn: asyncpg.Connection, tenant_id: str, connection_id: UUID) -> TokenRow | None:
    """The tenant's token metadata; another tenant's connection is no row at all."""
    row = await conn.fetchrow(
        f"SELECT {_COLUMNS} FROM tokens WHERE connection_id = $1 AND tenant_id = $2",  # noqa: S608
        connection_id,
        tenant_id,
    )
    return TokenRow(**dict(row)) if row else None


async def get_unscoped(conn: asyncpg.Connection, connection_id: UUID) -> TokenRow | None:
    """For the refresh machinery, which acts on a connection id it was handed by a trusted caller."""
    row = await conn.fetchrow(
        f"SELECT {_COLUMNS} FROM tokens WHERE connection_id = $1",  # noqa: S608
        connection_id,
    )
    return TokenRow(**dict(row)) if row else None


_UPSERT_INITIAL = """
INSERT INTO tokens (connection_id, tenant_id, connector_id, grant_type, token_type, expires_at,
                    has_refresh_token, granted_scopes, external_account_id, metadata, status,
                    issued_at)
SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'active', now()
-- A flow's connect only while its flow is still claimed (a revoke ends it; FOR UPDATE waits for
-- such a revoke and re-reads): the statement then changes nothing and returns no row.
WHERE $11::uuid IS NULL OR EXISTS (
    SELECT 1 FROM flows WHERE id = $11 AND status = 'exchanging' FOR UPDATE
)
ON CONFLICT (connection_id) DO UPDATE SET
  grant_type = EXCLUDED.grant_type, token_type = EXCLUDED.token_type,
  expires_at = EXCLUDED.expires_at, has_refresh_token = EXCLUDED.has_refresh_token,
  granted_scopes = EXCLUDED.granted_scopes, external_account_id = EXCLUDED.external_account_id,
  metadata = EXCLUDED.metadata, status = 'active', generation = tokens.generation + 1,
  refresh_failures = 0, next_attempt_at = NULL, last_error = NULL,
  last_refreshed_at = NULL, issued_at = now(), updated_at = now()
RETURNING generation"""

# A connection's first token set, the flow's completion and integration.connected (with its
# NOTIFY) in ONE statement: atomic by construction, one round trip instead of six. The flow
# update matches nothing when there is no flow (client credentials).
_CONNECT = f"""
WITH t AS ({_UPSERT_INITIAL}
), f AS (
    UPDATE flows SET status = 'completed', error_code = NULL, finished_at = now(), code_verifier = NULL
    WHERE $11::uuid IS NOT NULL AND id = $11 AND EXISTS (SELECT 1 FROM t)
    RETURNING id
), o AS (
    INSERT INTO outbox (event_id, topic, key, value, headers)
    SELECT $12, $13, $14, $15, $16 WHERE EXISTS (SELECT 1 FROM t)
    RETURNING id
)
SELECT t.generation, pg_notify($17, '') FROM t, o
"""  # noqa: S608 - constant SQL only


def _token_params(row: TokenRow) -> tuple[object, ...]:
    return (
        row.connection_id,
        row.tenant_id,
        row.connector_id,
        row.grant_type,
        row.token_type,
        row.expires_at,
        row.has_refresh_token,
        row.granted_scopes,
        row.external_account_id,
        row.metadata,
    )


async def connect(
    conn: asyncpg.Connection,
    row: TokenRow,
    *,
    flow_id: UUID | None,
    event: OutboxRow,
    notify_channel: str,
) -> int | None:
    """A (re)connected connection's first token set (returns its new generation), the flow
    marked completed and the event staged, atomically; None (nothing changed) when the flow is
    no longer claimed, i.e. a revoke ended it."""
    generation: int | None = await conn.fetchval(
        _CONNECT, *_token_params(row), flow_id, *event.params(), notify_channel
    )
    return generation


async def advance(
    conn: asyncpg.Connection,
    connection_id: UUID,
    *,
    expected_generation: int,
    expires_at: datetime | None,
    has_refresh_token: bool,
    granted_scopes: list[str] | None,
    completed_at: datetime | None = None,
) -> bool:
    """Compare-and-swap after a refresh: only the holder of ``expected_generation`` may advance.
    ``completed_at`` (the shared Redis clock) is what later callers coalesce on."""
    result: str = await conn.execute(
        """UPDATE tokens SET generation = generation + 1, expires_at = $3, has_refresh_token = $4,
                  granted_scopes = COALESCE($5, granted_scopes),
                  last_refreshed_at = COALESCE($6, now()), issued_at = now(),
                  refresh_failures = 0, next_attempt_at = NULL, last_error = NULL, updated_at = now()
           WHERE connection_id = $1 AND generation = $2 AND status = 'active'""",
        connection_id,
        expected_generation,
        expires_at,
        has_refresh_token,
        granted_scopes,
        completed_at,
    )
    return result.endswith(" 1")


async def record_failure(
    conn: asyncpg.Connection, connection_id: UUID, error: str, retry_in_s: float
) -> None:
    await conn.execute(
        """UPDATE tokens SET refresh_failures = refresh_failures + 1, last_error = $2,
                  next_attempt_at = now() + make_interval(secs => $3), updated_at = now()
           WHERE connection_id = $1""",
        connection_id,
        error[:300],
        retry_in_s,
    )


async def set_status(
    conn: asyncpg.Connection, connection_id: UUID, status: str, error: str | None = None
) -> bool:
    result: str = await conn.execute(
        "UPDATE tokens SET status = $2, last_error = COALESCE($3, last_error), updated_at = now() "
        "WHERE connection_id = $1 AND status <> $2",
        connection_id,
        status,
        error,
    )
    return result.endswith(" 1")


async def mark_revoked(conn: asyncpg.Connection, connection_id: UUID) -> str | None:
    """Status ``revoked`` and no refresh token any more (its value is gone from the vault);
    returns the status it had, None when the connection has no token row."""
    previous: str | None = await conn.fetchval(
        """UPDATE tokens t SET status = 'revoked', has_refresh_token = false, updated_at = now()
           FROM (SELECT connection_id, status FROM tokens WHERE connection_id = $1 FOR UPDATE) old
           WHERE t.connection_id = old.connection_id
           RETURNING old.status""",
        connection_id,
    )
    return previous


async def due_for_refresh(
    conn: asyncpg.Connection, *, margin_s: float, idle_s: float, limit: int, lease_s: float = 60.0
) -> list[UUID]:
    """Claim the active tokens due for a proactive refresh: expiring within the margin -- capped
    at half the token's lifetime, so a margin longer than the lifetime does not make every round
    refresh again -- or idle for too long (refresh tokens that are never used still stay alive).

    Claiming sets ``next_attempt_at`` ``lease_s`` ahead, so the other replicas' rounds skip the
    connection while this one refreshes it (a successful refresh clears it; a replica that dies
    leaves it to expire). SKIP LOCKED keeps two concurrent rounds from claiming the same row."""
    rows = await conn.fetch(
        """UPDATE tokens SET next_attempt_at = now() + make_interval(secs => $4)
           WHERE connection_id IN (
             SELECT connection_id FROM tokens
             WHERE status = 'active'
               AND (has_refresh_token OR grant_type = 'client_credentials')
               AND (next_attempt_at IS NULL OR next_attempt_at <= now())
               AND (expires_at < now() + LEAST(
                        make_interval(secs => $1),
                        (expires_at - COALESCE(issued_at, last_refreshed_at, created_at)) / 2)
                    OR (has_refresh_token
                        AND COALESCE(last_refreshed_at, created_at) < now() - make_interval(secs => $2)))
             ORDER BY expires_at NULLS LAST
             LIMIT $3
             FOR UPDATE SKIP LOCKED)
           RETURNING connection_id, expires_at""",
        margin_s,
        idle_s,
        limit,
        lease_s,
    )
    never = datetime.max.replace(tzinfo=UTC)
    rows = sorted(rows, key=lambda r: r["expires_at"] or never)  # soonest expiry first
    return [r["connection_id"] for r in rows]


async def release_claim(conn: asyncpg.Connection, connection_id: UUID) -> None:
    """Give back a scheduler claim that led to no refresh (someone else's did), so the next due
    time is the token's, not the lease's."""
    await conn.execute(
        "UPDATE tokens SET next_attempt_at = NULL WHERE connection_id = $1 AND refresh_failures = 0",
        connection_id,
    )
