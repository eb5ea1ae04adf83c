"""The delivery log (every attempt of every delivery), replays and dead-letter redrive
(docs/adr/0020). Tenant-scoped like everything else; WriterPro and above."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any
from uuid import UUID

from hub_common.db import Database
from hub_common.errors import NotFound, Unprocessable
from hub_webhooks.domain.tiers import require_webhooks
from hub_webhooks.repositories import deliveries as repo
from hub_webhooks.services.registrations import Caller

STATUSES = ("pending", "delivered", "dead", "cancelled")


class DeliveryNotFound(NotFound):
    code = "delivery_not_found"

    def __init__(self) -> None:
        super().__init__("no such webhook delivery")


def _public(row: Any, attempts: list[dict[str, Any]]) -> dict[str, Any]:
    out = {k: row[k] for k in row.keys() if k != "seq"}  # noqa: SIM118 - asyncpg Record
    for key in ("id", "subscription_id", "connection_id"):
        out[key] = str(out[key]) if out[key] is not None else None
    out["webhook_id"] = out["id"]
    out["attempt_log"] = attempts
    return out


class DeliveryLog:
    def __init__(self, db: Database, *, wake: Callable[[], None]) -> None:
        self._db = db
        self._wake = wake

    async def search(
        self,
        caller: Caller,
        *,
        subscription_id: UUID | None,
        connection_id: UUID | None,
        status: str | None,
        since: datetime | None,
        until: datetime | None,
        cursor: str | None,
        limit: int,
    ) -> dict[str, Any]:
        require_webhooks(caller.tier)
        if status is not None and status not in STATUSES:
            raise Unprocessable(f"status is one of {', '.join(STATUSES)}", code="invalid_status")
        try:
            before = int(cursor) if cursor else None
        except ValueError:
            raise Unprocessable("cursor is not one this API returned", code="invalid_cursor") from None
        async with self._db.connection() as conn:
            rows = await repo.search(
                conn,
                caller.tenant_id,
                subscription_id=subscription_id,
                connection_id=connection_id,
                status=status,
                since=since,
                until=until,
                before_seq=before,
                limit=limit,
            )
            attempts = await repo.attempts_of(conn, caller.tenant_id, [r["id"] for r in rows])
        return {
            "deliveries": [_public(r, attempts[r["id"]]) for r in rows],
            "next_cursor": str(rows[-1]["seq"]) if len(rows) == limit else None,
        }

    async def get(self, caller: Caller, delivery_id: UUID) -> dict[str, Any]:
        require_webhooks(caller.tier)
        async with self._db.connection() as conn:
            row = await repo.get(conn, caller.tenant_id, delivery_id)
            if row is None:
                raise DeliveryNotFound()
            attempts = await repo.attempts_of(conn, caller.tenant_id, [delivery_id])
        return _public(row, attempts[delivery_id])

    async def replay(self, caller: Caller, delivery_id: UUID) -> dict[str, Any]:
        """Push a finished delivery again (same webhook-id)."""
        require_webhooks(caller.tier)
        async with self._db.connection() as conn:
            row = await repo.get(conn, caller.tenant_id, delivery_id)
            if row is None:
                raise DeliveryNotFound()
            if row["status"] not in ("delivered", "dead"):
                raise Unprocessable(
                    f"the delivery is {row['status']}; only delivered or dead ones are replayed",
                    code="delivery_not_finished",
                )
            await repo.replay(conn, caller.tenant_id, delivery_id=delivery_id)
        self._wake()
        return {"replayed": 1}

    async def replay_range(
        self,
        caller: Caller,
        *,
        subscription_id: UUID | None,
        since: datetime,
        until: datetime | None,
        dead_only: bool,
    ) -> dict[str, Any]:
        """Replay every finished delivery created in [since, until) — or only dead letters (redrive)."""
        require_webhooks(caller.tier)
        async with self._db.connection() as conn:
            count = await repo.replay(
                conn,
                caller.tenant_id,
                subscription_id=subscription_id,
                since=since,
                until=until,
                statuses=("dead",) if dead_only else ("delivered", "dead"),
            )
        self._wake()
        return {"replayed": count}
