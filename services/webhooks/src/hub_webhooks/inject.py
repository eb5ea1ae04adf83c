"""Composition root of the webhooks service: settings in, wired use cases out.

Intake half (ADR 0019): connector manifests from the connectors service, signing secrets from
the vault (read, cached briefly), registrations, durable dedupe, retention, gap filling.
Outbound half (ADR 0020) adds its parts next to these.
"""

from __future__ import annotations

import asyncio
import contextlib

from hub_common.clients.service import ServiceClient
from hub_common.clients.vault import VaultClient
from hub_common.infrastructure import Infrastructure
from hub_common.web.auth import ServiceTokenMinter
from hub_webhooks.config import NEEDS, SCHEMA, WebhooksSettings


class Container:
    def __init__(
        self,
        settings: WebhooksSettings,
        *,
        vault: VaultClient | None = None,
        connectors: ServiceClient | None = None,
        background: bool | None = None,
    ) -> None:
        self.settings = settings
        self.infra = Infrastructure(settings, schema=SCHEMA, needs=NEEDS)
        self.minter = ServiceTokenMinter.from_settings(settings)
        self.vault = vault or VaultClient(settings.vault_url, self.minter)
        self.connectors = connectors or ServiceClient(
            settings.connectors_url,
            self.minter,
            audience="connectors",
            timeout_s=settings.webhooks_connectors_timeout_s,
        )
        self.run_background = settings.webhooks_background if background is None else background
        self._tasks: list[asyncio.Task[None]] = []

    @property
    def public_url(self) -> str:
        return (self.settings.webhooks_public_url or self.settings.webhooks_url).rstrip("/")

    async def start(self) -> None:
        await self.infra.start()

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await self.vault.aclose()
        await self.connectors.aclose()
        await self.infra.stop()
