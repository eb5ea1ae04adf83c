"""Composition root of the oauth service."""

from __future__ import annotations

import contextlib

from hub_common.clients.vault import VaultClient
from hub_common.composition import CompositionRoot, close_with
from hub_common.db import Database
from hub_common.errors import ConfigurationError
from hub_common.infrastructure import Infrastructure
from hub_common.ssrf_http import PolicyTransport
from hub_common.web.auth import ServiceTokenMinter
from hub_common.web.health import ReadinessCheck
from hub_oauth.adapters.connections import ConnectionDirectory, HttpConnectionDirectory
from hub_oauth.adapters.locks import RedisLocks
from hub_oauth.adapters.provider_http import ProviderOAuthClient
from hub_oauth.config import NEEDS, SCHEMA, OAuthSettings
from hub_oauth.domain.apps import parse_default_apps
from hub_oauth.services.app_webhook_secrets import AppWebhookSecrets
from hub_oauth.services.apps import AppService
from hub_oauth.services.capture import CredentialCapture
from hub_oauth.services.flows import FlowService
from hub_oauth.services.oauth_context import ContextResolver
from hub_oauth.services.refresh import Refresher
from hub_oauth.services.revoke import Revoker
from hub_oauth.services.scheduler import RefreshScheduler
from hub_oauth.services.token_store import TokenStore


class Container(CompositionRoot):
    def __init__(
        self,
        settings: OAuthSettings,
        *,
        directory: ConnectionDirectory | None = None,
        provider: ProviderOAuthClient | None = None,
        run_scheduler: bool = True,
    ) -> None:
        self.settings = settings
        self.infra = Infrastructure(settings, schema=SCHEMA, needs=NEEDS)
        self.minter = ServiceTokenMinter.from_settings(settings)
        try:
            self.default_apps = parse_default_apps(settings.oauth_default_apps)
        except ValueError as exc:
            raise ConfigurationError(str(exc)) from None
        self._directory = directory
        self._provider = provider
        self.run_scheduler = run_scheduler

    async def _open(self, stack: contextlib.AsyncExitStack) -> None:
        s = self.settings
        await self.infra.start()
        stack.push_async_callback(self.infra.stop)
        self.db = Database(self.infra.pool)
        minter = self.minter
        self.vault = close_with(stack, VaultClient(s.vault_url, minter))
        directory = self._directory
        if directory is None:
            directory = close_with(stack, HttpConnectionDirectory(s.connectors_url, minter))
        self.directory: ConnectionDirectory = directory
        provider = self._provider
        if provider is None:
            provider = close_with(
                stack,
                ProviderOAuthClient(
                    attempts=s.provider_attempts,
                    backoff_s=s.provider_backoff_s,
                    # The SSRF policy again at every connect: a name may resolve elsewhere than it did
                    # when check_url judged it (DNS rebinding).
                    transport=PolicyTransport(allowlist=s.outbound_allowlist_entries),
                    max_answer_bytes=s.oauth_provider_max_answer_bytes,
                ),
            )
        self.provider: ProviderOAuthClient = provider
        self.locks = RedisLocks(self.infra.redis)
        stack.push_async_callback(self.locks.aclose)
        self.resolver = ContextResolver(
            db=self.db,
            directory=self.directory,
            vault=self.vault,
            provider=self.provider,
            default_apps=self.default_apps,
            outbound_allowlist=s.outbound_allowlist_entries,
        )
        self.store = TokenStore(self.db, self.vault, self.locks)
        self.webhook_secrets = AppWebhookSecrets(
            self.db, self.vault, self.resolver, overlap_s=s.oauth_app_secret_overlap_s
        )
        self.apps = AppService(self.db, self.vault, self.resolver, self.webhook_secrets)
        self.flows = FlowService(
            settings=s, db=self.db, resolver=self.resolver, provider=self.provider, store=self.store
        )
        self.refresher = Refresher(
            db=self.db,
            vault=self.vault,
            resolver=self.resolver,
            provider=self.provider,
            locks=self.locks,
            store=self.store,
        )
        self.revoker = Revoker(
            db=self.db,
            vault=self.vault,
            resolver=self.resolver,
            provider=self.provider,
            locks=self.locks,
        )
        self.capture = CredentialCapture(
            resolver=self.resolver, vault=self.vault, connectors_url=s.connectors_url, minter=minter
        )
        stack.push_async_callback(self.capture.aclose)
        self.scheduler = RefreshScheduler(
            db=self.db,
            refresher=self.refresher,
            interval_s=s.refresh_scheduler_interval_s,
            margin_s=s.refresh_margin_s,
            idle_s=s.refresh_idle_s,
        )
        if self.run_scheduler:
            self.scheduler.start()
            stack.push_async_callback(self.scheduler.stop)

    def readiness(self) -> list[ReadinessCheck]:
        return self.infra.readiness()
