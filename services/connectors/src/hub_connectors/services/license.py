"""``GET /v1/license``: the caller's tier, its limits and what is left."""

from __future__ import annotations

from typing import Any

from hub_common.db import Database
from hub_common.license import policy_for
from hub_connectors.repositories import connections
from hub_connectors.services.caller import Caller


class LicenseService:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def describe(self, caller: Caller) -> dict[str, Any]:
        policy = policy_for(caller.tier)
        async with self._db.connection() as conn:
            used = await connections.count_in_use(conn, caller.tenant_id)
        return {
            "tier": str(policy.tier),
            "limits": {
                "connections": policy.max_connections,
                "webhooks": policy.webhooks,
                "custom_connectors": policy.custom_connectors,
                "gateway": str(policy.gateway),
                "audit_log": policy.audit,
                "audit_retention_days": policy.audit_retention_days,
            },
            "connections_used": used,
            "remaining_connections": policy.remaining(used),
            "features": policy.features(),
        }
