"""The audit log: projection from events, paged queries, and retention per tier."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from hub_common.db import Database
from hub_common.errors import BadRequest
from hub_common.events import HubEvent
from hub_common.license import TIERS, Feature, policy_for, require_feature
from hub_common.pagination import Cursor, as_utc
from hub_connectors.domain.audit import entry_for
from hub_connectors.domain.errors import ConnectionNotFound
from hub_connectors.repositories import audit, connections
from hub_connectors.services.caller import Caller

log = logging.getLogger(__name__)
MAX_PAGE = 200
AUDIT_TIERS = [p.tier.value for p in TIERS if p.audit]  # the tiers that keep an audit log
PURGE_BATCH = 5000


@dataclass(frozen=True)
class AuditPage:
    entries: list[dict[str, Any]]
    next_cursor: str | None


class AuditService:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def project(self, event_id: str, event: HubEvent) -> bool:
        """Store one event's row; False when skipped (not audited, unknown, or seen before)."""
        entry = entry_for(event_id, event)
        if entry is None:
            return False
        # Core keeps no audit; unknown tenants have no connections here; another tenant's
        # connection is nothing of ours to audit: all decided inside the one statement.
        async with self._db.connection() as conn:
            return await audit.insert_if_owned(conn, entry, AUDIT_TIERS)

    async def query(
        self,
        caller: Caller,
        *,
        connection_id: UUID | None,
        event_type: str | None,
        since: datetime | None,
        cursor: str | None,
        limit: int,
    ) -> AuditPage:
        require_feature(caller.tier, Feature.AUDIT_LOG)
        after = Cursor.decode(cursor) if cursor else None
        if since is not None:
            try:
                since = as_utc(since)
            except (OverflowError, ValueError):
                raise BadRequest("since is not a time that exists in UTC", code="invalid_since") from None
        retention = policy_for(caller.tier).audit_retention_days
        if retention is not None:
            # Rows older than the tier keeps are not shown even before the purge removes them.
            horizon = datetime.now(UTC) - timedelta(days=retention)
            since = max(since, horizon) if since else horizon
        limit = max(1, min(limit, MAX_PAGE))
        async with self._db.connection() as conn:
            if (
                connection_id is not None
                and await connections.get(conn, caller.tenant_id, connection_id) is None
            ):
                raise ConnectionNotFound()
            rows = await audit.page(
                conn,
                caller.tenant_id,
                connection_id=connection_id,
                event_type=event_type,
                since=since,
                after=after,
                limit=limit + 1,
            )
        more = len(rows) > limit
        rows = rows[:limit]
        next_cursor = Cursor(rows[-1]["created_at"], rows[-1]["id"]).encode() if more else None
        return AuditPage(rows, next_cursor)

    async def purge(self, now: datetime | None = None) -> int:
        """Delete what each tier no longer keeps (everything for tiers without audit)."""
        now = now or datetime.now(UTC)
        total = 0
        for policy in TIERS:
            days = policy.audit_retention_days
            if policy.audit and days is None:
                continue  # kept forever
            older_than = now - timedelta(days=days) if days is not None else None
            while True:
                async with self._db.transaction() as conn:
                    deleted = await audit.purge(conn, str(policy.tier), older_than, PURGE_BATCH)
                total += deleted
                if deleted < PURGE_BATCH:
                    break
        if total:
            log.info("audit retention purged rows", extra={"deleted": total})
        return total
