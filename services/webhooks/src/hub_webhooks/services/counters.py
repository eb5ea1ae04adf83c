"""Per-registration counters (received_count, last_received_at, last_error), folded into the
registrations table about once a second.

Updating the registration row inside every delivery's transaction would serialise all
deliveries of one registration on its row lock (ADR 0019); the event and its dedupe row are
durable per request, the counters lag by at most one flush (and a crash loses at most that).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import UUID

from hub_common.background import BackgroundTask
from hub_common.db import Database
from hub_webhooks.repositories import registrations

log = logging.getLogger(__name__)


@dataclass(slots=True)
class _Pending:
    count: int = 0
    last_at: datetime | None = None
    error: str | None = None
    error_at: datetime | None = None


class Counters:
    def __init__(self, db: Database, *, interval_s: float) -> None:
        self._db = db
        self._interval = interval_s
        self._pending: dict[UUID, _Pending] = {}
        self._flusher = BackgroundTask("webhook-counters")

    def received(self, registration_id: UUID) -> None:
        slot = self._pending.setdefault(registration_id, _Pending())
        slot.count += 1
        slot.last_at = datetime.now(UTC)

    def refused(self, registration_id: UUID, code: str) -> None:
        slot = self._pending.setdefault(registration_id, _Pending())
        slot.error = code
        slot.error_at = datetime.now(UTC)

    async def flush(self) -> None:
        if not self._pending:
            return
        batch, self._pending = self._pending, {}
        ids = list(batch)
        try:
            async with self._db.connection() as conn:
                await registrations.add_counts(
                    conn,
                    ids,
                    [batch[i].count for i in ids],
                    [batch[i].last_at for i in ids],
                    [batch[i].error for i in ids],
                    [batch[i].error_at for i in ids],
                )
        except Exception:
            log.warning("webhook counters not flushed; kept for the next flush", exc_info=True)
            for i in ids:
                slot = self._pending.setdefault(i, _Pending())
                slot.count += batch[i].count
                slot.last_at = slot.last_at or batch[i].last_at
                slot.error = slot.error or batch[i].error
                slot.error_at = slot.error_at or batch[i].error_at

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            await self.flush()

    def start(self) -> None:
        self._flusher.start(self._run())

    async def stop(self) -> None:
        await self._flusher.stop()
        await self.flush()
