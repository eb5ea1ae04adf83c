"""Settings of the webhooks service (``HUB_*`` environment variables)."""

from __future__ import annotations

from hub_common.settings import HubSettings

SCHEMA = "webhooks"
NEEDS = ("postgres", "kafka", "redis")


class WebhooksSettings(HubSettings):
    service_name: str = "webhooks"
    port: int = 8083
