"""Composition root of the connectors service: settings in, wired use cases out.

Tests replace the parts that stand for the outside world: the connector registry (test
connectors), the credential store (the real vault, or a fake at unit level), the revoker, and the
HTTP transport provider calls use (no gateway yet).
"""

from __future__ import annotations

import contextlib

from hub_common.clients.vault import VaultClient
from hub_common.composition import CompositionRoot, close_with
from hub_common.db import Database
from hub_common.infrastructure import Infrastructure
from hub_common.kafka import RetryPolicy
from hub_common.web.auth import ServiceTokenMinter
from hub_common.web.health import ReadinessCheck
from hub_connectors.adapters.gateway_rate_limits import GatewayRateLimits
from hub_connectors.adapters.oauth_flows import OAuthFlowStarter
from hub_connectors.adapters.oauth_revoker import NoRevoker, OAuthRevoker
from hub_connectors.adapters.vault_store import VaultCredentialStore
from hub_connectors.adapters.webhooks_registrations import WebhooksRegistrations
from hub_connectors.background import BackgroundWorkers
from hub_connectors.config import NEEDS, SCHEMA, ConnectorsSettings
from hub_connectors.registry import ConnectorRegistry, load_registry
from hub_connectors.runtime import ConnectorRuntime, PluginTokens, ProcessIsolation, ProviderClientFactory
from hub_connectors.runtime.provider_client import TransportFactory
from hub_connectors.services.actions import ActionService
from hub_connectors.services.audit import AuditService
from hub_connectors.services.automation_engine import AutomationEngine
from hub_connectors.services.automations import AutomationService
from hub_connectors.services.connection_admin import ConnectionAdmin
from hub_connectors.services.connection_events import ConnectionEvents
from hub_connectors.services.connection_lookup import ConnectionLookup
from hub_connectors.services.connections import ConnectionService
from hub_connectors.services.content_exports import ContentExportService, ExportRunner
from hub_connectors.services.health import HealthService
from hub_connectors.services.license import LicenseService
from hub_connectors.services.ports import CredentialStore, RateLimits, Revoker, WebhookRegistrations
from hub_connectors.services.sweeper import InitializingSweeper
from hub_connectors.services.tenants import TenantDirectory
from hub_connectors.services.trigger_polls import TriggerPolls
from hub_connectors.services.trigger_webhooks import TriggerWebhooks
from hub_connectors.services.triggers import TriggerProcessor
from hub_connectors.services.ui_sessions import UiSessions
from hub_connectors.services.webhook_registrations import WebhookRegistrar


def default_registry(settings: ConnectorsSettings) -> ConnectorRegistry:
    return load_registry(
        settings.connectors_hub_version,
        plugins=settings.connectors_load_plugins,
        operator_allowlist=settings.outbound_allowlist_entries,
        sandbox=settings.connectors_plugin_sandbox,
    )


class Container(CompositionRoot):
    def __init__(
        self,
        settings: ConnectorsSettings,
        *,
        registry: ConnectorRegistry | None = None,
        credential_store: CredentialStore | None = None,
        revoker: Revoker | None = None,
        provider_transport: TransportFactory | None = None,
        background: bool | None = None,
        webhook_registrations: WebhookRegistrations | None = None,
        rate_limits: RateLimits | None = None,
    ) -> None:
        self.settings = settings
        self.infra = Infrastructure(settings, schema=SCHEMA, needs=NEEDS)
        # Plugins are imported here, before serving: a broken one is recorded, never fatal.
        self.registry = registry if registry is not None else default_registry(settings)
        self.minter = ServiceTokenMinter.from_settings(settings)
        self._credential_store = credential_store
        self._revoker = revoker
        self._provider_transport = provider_transport
        self._webhook_registrations = webhook_registrations
        self._rate_limits = rate_limits
        self.run_background = settings.connectors_background if background is None else background
        self.workers: BackgroundWorkers | None = None

    async def _open(self, stack: contextlib.AsyncExitStack) -> None:
        settings = self.settings
        await self.infra.start()
        stack.push_async_callback(self.infra.stop)
        store = self._credential_store
        if store is None:
            store = close_with(stack, VaultCredentialStore(VaultClient(settings.vault_url, self.minter)))
        self.credential_store: CredentialStore = store
        self.revoker = self._revoker if self._revoker is not None else self._default_revoker(stack)
        self.runtime = ConnectorRuntime(
            ProviderClientFactory(
                settings.gateway_url,
                minter=self.minter,
                timeout_s=settings.connectors_gateway_timeout_s,
                transport_factory=self._provider_transport,
            ),
            plugins=ProcessIsolation(
                gateway_url=settings.gateway_url,
                max_workers=settings.connectors_plugin_workers,
                max_per_connector=settings.connectors_plugin_calls_per_connector,
                spawn_timeout_s=settings.connectors_plugin_spawn_timeout_s,
                idle_s=settings.connectors_plugin_idle_s,
                sandbox=settings.connectors_plugin_sandbox,
            ),
            tokens=PluginTokens(self.minter),
            action_timeout_s=settings.connectors_action_timeout_s,
            health_timeout_s=settings.connectors_health_timeout_s,
            http_timeout_s=settings.connectors_gateway_timeout_s,
        )
        stack.push_async_callback(self.runtime.aclose)  # plugin workers
        self.db = Database(self.infra.pool)
        self.tenants = TenantDirectory(self.db)
        self.license = LicenseService(self.db)
        self.audit = AuditService(self.db)
        self.health = HealthService(
            self.db,
            self.registry,
            self.runtime,
            interval_s=settings.connectors_health_interval_s,
            batch_size=settings.connectors_health_batch_size,
            concurrency=settings.connectors_health_concurrency,
        )
        self.connections = ConnectionService(
            self.db,
            self.registry,
            self.credential_store,
            self.health,
            self.revoker,
            outbound_allowlist=tuple(settings.outbound_allowlist_entries),
        )
        self.sweeper = InitializingSweeper(
            self.db,
            self.health,
            self.credential_store,
            api_key_after_s=settings.connectors_abandon_api_key_after_s,
            oauth_after_s=settings.connectors_abandon_oauth_after_s,
        )
        self.trigger_polls = TriggerPolls(
            self.db,
            self.registry,
            self.runtime,
            interval_s=settings.connectors_trigger_poll_interval_s,
            retry_s=settings.connectors_trigger_poll_retry_s,
        )
        self.actions = ActionService(
            self.db,
            self.registry,
            self.runtime,
            event_result_max_bytes=settings.connectors_event_result_max_bytes,
            trigger_polls=self.trigger_polls,
        )
        self.connection_events = ConnectionEvents(
            self.db, dedupe_retention_days=settings.connectors_dedupe_retention_days
        )
        self.webhook_registrar = WebhookRegistrar(self.db, self.registry, self.runtime, self.credential_store)
        self.exports = ContentExportService(self.db, self.registry)
        self.lookup = ConnectionLookup(self.db, self.registry)
        self.export_runner = ExportRunner(
            self.db,
            self.registry,
            self.runtime,
            self.exports,
            lease_s=settings.connectors_export_lease_s,
            poll_interval_s=settings.connectors_export_poll_interval_s,
            concurrency=settings.connectors_export_concurrency,
            max_attempts=settings.connectors_export_max_attempts,
            max_text_bytes=settings.connectors_export_max_text_bytes,
        )
        self.triggers = TriggerProcessor(
            self.db,
            self.registry,
            self.runtime,
            dedupe_retention_days=settings.connectors_dedupe_retention_days,
        )
        # The neighbours the UI and automations ask for a tenant (docs/adr/0029).
        self.webhook_registrations = self._webhook_registrations or close_with(
            stack, WebhooksRegistrations(settings.webhooks_url, self.minter)
        )
        self.rate_limits = self._rate_limits or close_with(
            stack,
            GatewayRateLimits(
                settings.gateway_url, self.minter, timeout_s=settings.connectors_gateway_timeout_s
            ),
        )
        self.trigger_webhooks = TriggerWebhooks(self.webhook_registrations)
        self.automations = AutomationService(self.db, self.registry, self.trigger_webhooks)
        self.automation_engine = AutomationEngine(
            self.db,
            self.registry,
            self.actions,
            retry=RetryPolicy(attempts=settings.connectors_automation_attempts, initial_backoff_s=0.5),
            loop_window_s=settings.connectors_automation_loop_window_s,
            loop_max_runs=settings.connectors_automation_loop_max_runs,
            result_max_bytes=settings.connectors_event_result_max_bytes,
        )
        # The Integration Manager UI (docs/adr/0029)
        self.ui_sessions = UiSessions(
            self.db,
            self.registry,
            ttl_s=settings.connectors_ui_session_ttl_s,
            connect_ttl_s=settings.connectors_connect_session_ttl_s,
        )
        self.connection_admin = ConnectionAdmin(
            self.db, self.registry, self.connections, self.credential_store, self.health
        )
        self.oauth_flows = close_with(
            stack,
            OAuthFlowStarter(settings.oauth_url, self.minter, timeout_s=settings.connectors_oauth_timeout_s),
        )
        if self.run_background:
            self.workers = BackgroundWorkers(
                self.settings,
                self.infra.producer,
                health=self.health,
                audit=self.audit,
                connection_events=self.connection_events,
                sweeper=self.sweeper,
                export_runner=self.export_runner,
                trigger_polls=self.trigger_polls,
                triggers=self.triggers,
                automation_engine=self.automation_engine,
                ui_sessions=self.ui_sessions,
            )
            await self.workers.start()
            stack.push_async_callback(self.workers.stop)

    def _default_revoker(self, stack: contextlib.AsyncExitStack) -> Revoker:
        if not self.settings.connectors_oauth_revoke:
            return NoRevoker()
        revoker = OAuthRevoker(
            self.settings.oauth_url, self.minter, timeout_s=self.settings.connectors_oauth_timeout_s
        )
        return close_with(stack, revoker)

    def readiness(self) -> list[ReadinessCheck]:
        return self.infra.readiness()
