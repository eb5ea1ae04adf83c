"""Composition root of the gateway service."""

from __future__ import annotations

from hub_common.infrastructure import Infrastructure
from hub_gateway.config import NEEDS, SCHEMA, GatewaySettings


class Container:
    def __init__(self, settings: GatewaySettings) -> None:
        self.settings = settings
        self.infra = Infrastructure(settings, schema=SCHEMA, needs=NEEDS)

    async def start(self) -> None:
        await self.infra.start()

    async def stop(self) -> None:
        await self.infra.stop()
