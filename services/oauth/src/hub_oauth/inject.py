"""Composition root of the oauth service."""

from __future__ import annotations

from hub_common.infrastructure import Infrastructure
from hub_oauth.config import NEEDS, SCHEMA, OauthSettings


class Container:
    def __init__(self, settings: OauthSettings) -> None:
        self.settings = settings
        self.infra = Infrastructure(settings, schema=SCHEMA, needs=NEEDS)

    async def start(self) -> None:
        await self.infra.start()

    async def stop(self) -> None:
        await self.infra.stop()
