"""``integrations_webhook_deliveries`` and their attempts.

The queue is the table: a delivery is ``pending`` until it is delivered, dead-lettered or
cancelled. Only the oldest pending delivery of a (subscription, connection) is ever claimable,
which keeps a subscriber's view of one connection in order; a claim is a lease, so a dispatcher
that died leaves nothing stuck for longer than the lease.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg


@dataclass(frozen=True)
class NewDelivery:
    id: UUID
    tenant_id: str
    subscription_id: UUID
    ordering_key: str
    connection_id: UUID | None
    event_type: str
    trigger_id: str | None
    source_event_id: str
    payload: Any


@dataclass(frozen=True)
class Claimed:
    id: UUID
    tenant_id: str
    subscription_id: UUID
    event_type: str
    payload: Any
    attempts: int
    created_at: datetime
    connection_id: UUID | None
    trigger_id: str | None
    attempt_id: int = 0  # the attempt the claim started (logged 'started')
    started_at: datetime | None = None


async def insert_many(conn: asyncpg.Connection, rows: Sequence[NewDelivery]) -> int:
    """Insert what is new; a (subscription, source event) seen before is skipped."""
    if not rows:
        return 0
    inserted = await conn.fetchval(
        "WITH ins AS (INSERT INTO integrations_webhook_deliveries (id, tenant_id, subscription_id,"
        " ordering_key, connection_id, event_type, trigger_id, source_event_id, payload, status)"
        " SELECT * , 'pending' FROM unnest($1::uuid[], $2::text[], $3::uuid[], $4::text[], $5::uuid[],"
        " $6::text[], $7::text[], $8::text[], $9::jsonb[])"
        " ON CONFLICT (subscription_id, source_event_id) DO NOTHING RETURNING 1) SELECT count(*) FROM ins",
        [r.id for r in rows],
        [r.tenant_id for r in rows],
        [r.subscription_id for r in rows],
        [r.ordering_key for r in rows],
        [r.connection_id for r in rows],
        [r.event_type for r in rows],
        [r.trigger_id for r in rows],
        [r.source_event_id for r in rows],
        [r.payload for r in rows],  # the pool's jsonb codec encodes
    )
    return int(inserted or 0)


# One statement leases the due heads, counts and logs their attempt as 'started' (before the
# request goes out), and marks an attempt still 'started' from a dispatcher that died mid-push as
# 'interrupted' (data-modifying CTEs share a snapshot: the new rows are not among those).
_CLAIM = """
WITH heads AS (
    SELECT DISTINCT ON (d.subscription_id, d.ordering_key) d.id, d.next_attempt_at, d.lease_until
    FROM integrations_webhook_deliveries d
    JOIN webhook_subscriptions s ON s.id = d.subscription_id AND s.status = 'active'
    WHERE d.status = 'pending' AND NOT (d.subscription_id = ANY($3::uuid[]))
    ORDER BY d.subscription_id, d.ordering_key, d.seq
), due AS (
    SELECT id FROM heads
    WHERE next_attempt_at <= now() AND (lease_until IS NULL OR lease_until < now())
    ORDER BY next_attempt_at LIMIT $1
), claimed AS (
    UPDATE integrations_webhook_deliveries d
    SET lease_until = now() + make_interval(secs => $2), attempts = d.attempts + 1
    FROM due WHERE d.id = due.id AND d.status = 'pending' AND (d.lease_until IS NULL OR d.lease_until < now())
    RETURNING d.id, d.tenant_id, d.subscription_id, d.event_type, d.payload, d.attempts, d.created_at,
              d.connection_id, d.trigger_id
), interrupted AS (
    UPDATE integrations_webhook_delivery_attempts a
    SET outcome = 'interrupted', error = 'the dispatcher stopped before the answer was recorded'
    FROM claimed WHERE a.delivery_id = claimed.id AND a.outcome = 'started'
), started AS (
    INSERT INTO integrations_webhook_delivery_attempts
        (tenant_id, delivery_id, subscription_id, attempt_number, started_at, duration_ms, outcome)
    SELECT tenant_id, id, subscription_id, attempts, clock_timestamp(), 0, 'started' FROM claimed
    RETURNING id, delivery_id, started_at
)
SELECT c.*, s.id AS attempt_id, s.started_at FROM claimed c JOIN started s ON s.delivery_id = c.id
"""


async def claim_due(
    conn: asyncpg.Connection, limit: int, lease_s: float, busy: Sequence[UUID] = ()
) -> list[Claimed]:
    """Lease up to ``limit`` due heads of their queues (skipping subscriptions in ``busy``) and
    start an attempt of each."""
    rows = await conn.fetch(_CLAIM, limit, lease_s, list(busy))
    return [
        Claimed(
            id=r["id"],
            tenant_id=r["tenant_id"],
            subscription_id=r["subscription_id"],
            event_type=r["event_type"],
            payload=r["payload"],
            attempts=r["attempts"],
            created_at=r["created_at"],
            connection_id=r["connection_id"],
            trigger_id=r["trigger_id"],
            attempt_id=r["attempt_id"],
            started_at=r["started_at"],
        )
        for r in rows
    ]


async def next_due_in(conn: asyncpg.Connection) -> float | None:
    """Seconds until the earliest pending delivery is due (None: none pending)."""
    value = await conn.fetchval(
        "SELECT EXTRACT(EPOCH FROM (min(GREATEST(next_attempt_at, COALESCE(lease_until, next_attempt_at)))"
        " - now())) FROM integrations_webhook_deliveries WHERE status = 'pending'"
    )
    return None if value is None else max(0.0, float(value))


async def record_attempt(
    conn: asyncpg.Connection,
    *,
    delivery: Claimed,
    attempt_id: int,
    duration_ms: int,
    status_code: int | None,
    outcome: str,
    error: str | None,
    next_attempt_at: datetime | None,
) -> None:
    """The attempt's result, and the delivery's next state, in the caller's transaction (with its
    events)."""
    await conn.execute(
        "UPDATE integrations_webhook_delivery_attempts SET duration_ms = $2, status_code = $3, outcome = $4,"
        " error = $5, next_attempt_at = $6 WHERE id = $1",
        attempt_id,
        duration_ms,
        status_code,
        outcome,
        error,
        next_attempt_at,
    )
    if outcome == "delivered":
        status = "delivered"
    elif next_attempt_at is None:
        status = "dead"
    else:
        status = "pending"
    await conn.execute(
        "UPDATE integrations_webhook_deliveries SET status = $2, lease_until = NULL,"
        " next_attempt_at = COALESCE($3, next_attempt_at), last_status_code = $4, last_error = $5,"
        " delivered_at = CASE WHEN $2 = 'delivered' THEN now() ELSE delivered_at END,"
        " dead_at = CASE WHEN $2 = 'dead' THEN now() ELSE dead_at END"
        " WHERE id = $1",
        delivery.id,
        status,
        next_attempt_at,
        status_code,
        error,
    )


async def release(conn: asyncpg.Connection, delivery: Claimed) -> None:
    """Give a claim back unattempted (rate limit, concurrency): its 'started' attempt never ran."""
    async with conn.transaction():
        await conn.execute(
            "DELETE FROM integrations_webhook_delivery_attempts WHERE id = $1", delivery.attempt_id
        )
        await conn.execute(
            "UPDATE integrations_webhook_deliveries SET lease_until = NULL, attempts = attempts - 1"
            " WHERE id = $1 AND status = 'pending'",
            delivery.id,
        )


_DELIVERY_COLUMNS = (
    "id, subscription_id, connection_id, event_type, trigger_id, source_event_id, status, attempts,"
    " next_attempt_at, last_status_code, last_error, created_at, delivered_at, dead_at"
)


async def search(
    conn: asyncpg.Connection,
    tenant_id: str,
    *,
    subscription_id: UUID | None = None,
    connection_id: UUID | None = None,
    status: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    before_seq: int | None = None,
    limit: int = 50,
) -> list[asyncpg.Record]:
    return list(
        await conn.fetch(
            f"SELECT {_DELIVERY_COLUMNS}, seq FROM integrations_webhook_deliveries"  # noqa: S608
            " WHERE tenant_id = $1 AND ($2::uuid IS NULL OR subscription_id = $2)"
            " AND ($3::uuid IS NULL OR connection_id = $3) AND ($4::text IS NULL OR status = $4)"
            " AND ($5::timestamptz IS NULL OR created_at >= $5)"
            " AND ($6::timestamptz IS NULL OR created_at < $6)"
            " AND ($7::bigint IS NULL OR seq < $7) ORDER BY seq DESC LIMIT $8",
            tenant_id,
            subscription_id,
            connection_id,
            status,
            since,
            until,
            before_seq,
            limit,
        )
    )


async def get(conn: asyncpg.Connection, tenant_id: str, delivery_id: UUID) -> asyncpg.Record | None:
    row: asyncpg.Record | None = await conn.fetchrow(
        f"SELECT {_DELIVERY_COLUMNS}, seq FROM integrations_webhook_deliveries"  # noqa: S608
        " WHERE id = $1 AND tenant_id = $2",
        delivery_id,
        tenant_id,
    )
    return row


async def attempts_of(
    conn: asyncpg.Connection, tenant_id: str, delivery_ids: Sequence[UUID]
) -> dict[UUID, list[dict[str, Any]]]:
    rows = await conn.fetch(
        "SELECT delivery_id, attempt_number, started_at, duration_ms, status_code, outcome, error,"
        " next_attempt_at FROM integrations_webhook_delivery_attempts"
        " WHERE tenant_id = $1 AND delivery_id = ANY($2::uuid[]) ORDER BY id",
        tenant_id,
        list(delivery_ids),
    )
    out: dict[UUID, list[dict[str, Any]]] = {d: [] for d in delivery_ids}
    for r in rows:
        item = dict(r)
        out[item.pop("delivery_id")].append(item)
    return out


async def replay(
    conn: asyncpg.Connection,
    tenant_id: str,
    *,
    delivery_id: UUID | None = None,
    subscription_id: UUID | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    statuses: Sequence[str] = ("delivered", "dead"),
) -> int:
    """Queue finished deliveries again (same ``webhook-id``; attempts go on counting)."""
    count = await conn.fetchval(
        "WITH r AS (UPDATE integrations_webhook_deliveries SET status = 'pending', next_attempt_at = now(),"
        " lease_until = NULL, dead_at = NULL"
        " WHERE tenant_id = $1 AND ($2::uuid IS NULL OR id = $2)"
        " AND ($3::uuid IS NULL OR subscription_id = $3)"
        " AND ($4::timestamptz IS NULL OR created_at >= $4) AND ($5::timestamptz IS NULL OR created_at < $5)"
        " AND status = ANY($6::text[]) RETURNING 1) SELECT count(*) FROM r",
        tenant_id,
        delivery_id,
        subscription_id,
        since,
        until,
        list(statuses),
    )
    return int(count or 0)


async def purge(conn: asyncpg.Connection, tenant_id: str, older_than: datetime) -> int:
    """Retention: finished deliveries (and their attempts, by cascade) older than the cut-off."""
    count = await conn.fetchval(
        "WITH gone AS (DELETE FROM integrations_webhook_deliveries WHERE tenant_id = $1 AND created_at < $2"
        " AND status <> 'pending' RETURNING 1) SELECT count(*) FROM gone",
        tenant_id,
        older_than,
    )
    return int(count or 0)
