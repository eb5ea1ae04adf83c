"""Settings of the connectors service (``HUB_*`` environment variables)."""

from __future__ import annotations

from hub_common.settings import HubSettings

SCHEMA = "connectors"
NEEDS = ("postgres", "kafka")


class ConnectorsSettings(HubSettings):
    service_name: str = "connectors"
    port: int = 8081
