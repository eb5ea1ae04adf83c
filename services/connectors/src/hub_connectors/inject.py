"""Composition root of the connectors service."""

from __future__ import annotations

from hub_common.infrastructure import Infrastructure
from hub_connectors.config import NEEDS, SCHEMA, ConnectorsSettings


class Container:
    def __init__(self, settings: ConnectorsSettings) -> None:
        self.settings = settings
        self.infra = Infrastructure(settings, schema=SCHEMA, needs=NEEDS)

    async def start(self) -> None:
        await self.infra.start()

    async def stop(self) -> None:
        await self.infra.stop()
