"""Settings of the oauth service (``HUB_*`` environment variables)."""

from __future__ import annotations

from hub_common.settings import HubSettings

SCHEMA = "oauth"
NEEDS = ("postgres", "kafka", "redis")


class OauthSettings(HubSettings):
    service_name: str = "oauth"
    port: int = 8082
