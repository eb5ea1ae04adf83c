"""Keeps the ``tenants`` table current with the tier each tenant's tokens carry.

The tier in the token is authoritative for the request; the stored copy serves work that has no
token (audit projection, retention, periodic health checks). A small per-process memory avoids a
database round trip per request when nothing changed.
"""

from __future__ import annotations

from hub_common.db import Database
from hub_connectors.repositories import tenants
from hub_connectors.services.caller import Caller

MAX_REMEMBERED = 10_000


class TenantDirectory:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._seen: dict[str, str] = {}

    async def observe(self, caller: Caller) -> None:
        if self._seen.get(caller.tenant_id) == caller.tier:
            return
        async with self._db.transaction() as conn:
            await tenants.observe(conn, caller.tenant_id, str(caller.tier))
        if len(self._seen) >= MAX_REMEMBERED:
            self._seen.clear()
        self._seen[caller.tenant_id] = str(caller.tier)

    def forget(self, tenant_id: str) -> None:
        self._seen.pop(tenant_id, None)
