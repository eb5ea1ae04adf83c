"""Who calls the gateway. (The connectors and webhooks services' ``Caller`` is a user of a
tenant; the gateway's callers are also hub services and plugins, hence its own name.)"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from hub_common.web.auth import Tier


@dataclass(frozen=True, slots=True)
class GatewayCaller:
    """Who calls the gateway, verified (api/callers.py): a user, a hub service or a plugin."""

    kind: str  # "user" | "service" | "plugin"
    tenant_id: str
    tier: Tier
    subject: str
    # A plugin token grants one connection: every other id is "not found" for it.
    connection_id: uuid.UUID | None = None
    # A plugin token minted for a health check (claim purpose=health-check).
    health_check: bool = False
