"""Retention per tier that really deletes: dedupe rows, refused-delivery audit and finished
outbound deliveries (with their attempts) of each tenant older than its tier keeps
(domain/tiers.RETENTION_DAYS)."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta

from hub_common.db import Database
from hub_common.web.auth import Tier
from hub_webhooks.domain.tiers import RETENTION_DAYS
from hub_webhooks.repositories import audit, deliveries, inbound, tenants

log = logging.getLogger(__name__)
# Refused deliveries of no known registration have no tenant: kept as long as the shortest tier.
UNOWNED_DAYS = 1


class Retention:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def purge(self, now: datetime | None = None) -> dict[str, int]:
        """Rows deleted per table in this pass."""
        now = now or datetime.now(UTC)
        deleted = {"webhook_inbound": 0, "webhook_intake_audit": 0, "integrations_webhook_deliveries": 0}
        async with self._db.connection() as conn:
            for tenant_id, tier in await tenants.all_tiers(conn):
                days = RETENTION_DAYS[Tier(tier)]
                if days is None:
                    continue
                cutoff = now - timedelta(days=days)
                deleted["webhook_inbound"] += await inbound.purge(conn, tenant_id, cutoff)
                deleted["webhook_intake_audit"] += await audit.purge(conn, tenant_id, cutoff)
                deleted["integrations_webhook_deliveries"] += await deliveries.purge(conn, tenant_id, cutoff)
            deleted["webhook_intake_audit"] += await audit.purge(
                conn, None, now - timedelta(days=UNOWNED_DAYS)
            )
        return deleted

    async def run_every(self, interval_s: float) -> None:
        while True:
            try:
                gone = await self.purge()
                if any(gone.values()):
                    log.info("webhook retention purged %s", gone)
            except Exception:
                log.warning("webhook retention pass failed", exc_info=True)
            await asyncio.sleep(interval_s)
