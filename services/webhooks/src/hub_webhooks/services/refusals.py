"""The audit of refused deliveries, rate-limited: a flood of forged requests costs at most
``per_minute`` rows per registration (or connector) and minute; the rest are counted into the
next row's ``suppressed``."""

from __future__ import annotations

import logging
import time
from uuid import UUID

from hub_common.db import Database
from hub_webhooks.repositories import audit

log = logging.getLogger(__name__)


class RefusalAudit:
    def __init__(self, db: Database, *, per_minute: int) -> None:
        self._db = db
        self._per_minute = per_minute
        # key -> (minute, rows written this minute, suppressed since the last row)
        self._windows: dict[str, tuple[int, int, int]] = {}

    async def record(
        self,
        *,
        connector_id: str,
        code: str,
        tenant_id: str | None = None,
        registration_id: UUID | None = None,
        remote_addr: str | None = None,
    ) -> bool:
        """True when a row was written, False when it was only counted."""
        key = str(registration_id) if registration_id else f"connector:{connector_id}"
        minute = int(time.time() // 60)
        window, written, suppressed = self._windows.get(key, (minute, 0, 0))
        if window != minute:
            written = 0
        if written >= self._per_minute:
            self._windows[key] = (minute, written, suppressed + 1)
            return False
        self._windows[key] = (minute, written + 1, 0)
        if len(self._windows) > 10_000:  # forged ids must not grow this without bound
            self._windows = {k: v for k, v in self._windows.items() if v[0] == minute}
        try:
            async with self._db.connection() as conn:
                await audit.insert(
                    conn,
                    tenant_id=tenant_id,
                    registration_id=registration_id,
                    connector_id=connector_id,
                    code=code,
                    remote_addr=remote_addr,
                    suppressed=suppressed,
                )
        except Exception:
            log.warning("refused webhook not audited", exc_info=True)
            return False
        return True
