"""Settings of the gateway service (``HUB_*`` environment variables)."""

from __future__ import annotations

from hub_common.settings import HubSettings

SCHEMA = "gateway"
NEEDS = ("postgres", "kafka", "redis")


class GatewaySettings(HubSettings):
    service_name: str = "gateway"
    port: int = 8080
