"""Composition root of the webhooks service: settings in, wired use cases out.

Intake half (ADR 0019): registrations (through the connectors service), signing secrets from
the vault (read, cached briefly), durable dedupe with the outbox, counters, retention.
Outbound half (ADR 0020) adds its parts next to these.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Coroutine
from typing import Any

import httpx

from hub_common.clients.service import ServiceClient
from hub_common.clients.vault import VaultClient
from hub_common.composition import CompositionRoot, close_with
from hub_common.db import Database
from hub_common.infrastructure import Infrastructure
from hub_common.kafka import ConsumerRunner, dlq_topic
from hub_common.kafka.admin import ensure_topics
from hub_common.web.auth import ServiceTokenMinter
from hub_common.web.health import ReadinessCheck
from hub_webhooks.config import NEEDS, SCHEMA, WebhooksSettings
from hub_webhooks.consumers.intake_events import TOPICS as INTAKE_TOPICS
from hub_webhooks.consumers.intake_events import IntakeEvents
from hub_webhooks.services.app_secrets import AppSecretDirectory
from hub_webhooks.services.connectors_client import ConnectorsClient
from hub_webhooks.services.counters import Counters
from hub_webhooks.services.gap_filling import GitHubGapFiller
from hub_webhooks.services.intake import Intake, RegistrationCache
from hub_webhooks.services.outbound import Outbound
from hub_webhooks.services.refusals import RefusalAudit
from hub_webhooks.services.registrations import RegistrationService
from hub_webhooks.services.retention import Retention
from hub_webhooks.services.secrets import SecretCache


class Container(CompositionRoot):
    def __init__(
        self,
        settings: WebhooksSettings,
        *,
        vault: VaultClient | None = None,
        connectors: ServiceClient | None = None,
        oauth: ServiceClient | None = None,
        background: bool | None = None,
        push_transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self.infra = Infrastructure(settings, schema=SCHEMA, needs=NEEDS)
        self.minter = ServiceTokenMinter.from_settings(settings)
        self._vault = vault
        self._connectors = connectors
        self._oauth = oauth
        self._push_transport = push_transport
        self._clock = clock
        self.run_background = settings.webhooks_background if background is None else background
        self.intake_consumer: ConsumerRunner | None = None

    @property
    def public_url(self) -> str:
        return (self.settings.webhooks_public_url or self.settings.webhooks_url).rstrip("/")

    async def _open(self, stack: contextlib.AsyncExitStack) -> None:
        settings = self.settings
        await self.infra.start()
        stack.push_async_callback(self.infra.stop)
        vault = self._vault
        if vault is None:
            vault = close_with(stack, VaultClient(settings.vault_url, self.minter))
        self.vault = vault
        connectors_http = self._connectors
        if connectors_http is None:
            connectors_http = close_with(
                stack,
                ServiceClient(
                    settings.connectors_url,
                    self.minter,
                    audience="connectors",
                    timeout_s=settings.webhooks_connectors_timeout_s,
                ),
            )
        self.connectors_http = connectors_http
        oauth_http = self._oauth
        if oauth_http is None:
            oauth_http = close_with(
                stack,
                ServiceClient(
                    settings.oauth_url,
                    self.minter,
                    audience="oauth",
                    timeout_s=settings.webhooks_oauth_timeout_s,
                ),
            )
        self.app_secrets = AppSecretDirectory(oauth_http, ttl_s=settings.webhooks_app_secret_cache_s)
        self.db = Database(self.infra.pool)
        self.secrets = SecretCache(self.vault, ttl_s=settings.webhooks_secret_cache_s)
        self.registration_cache = RegistrationCache(self.db, ttl_s=settings.webhooks_registration_cache_s)
        self.counters = Counters(self.db, interval_s=settings.webhooks_counter_flush_s)
        self.refusals = RefusalAudit(self.db, per_minute=settings.webhooks_audit_per_minute)
        self.intake = Intake(
            self.db,
            schema=SCHEMA,
            source=f"/integration-hub/{settings.service_name}",
            secrets=self.secrets,
            cache=self.registration_cache,
            counters=self.counters,
            refusals=self.refusals,
            clock=self._clock,
            app_secrets=self.app_secrets,
        )
        self.connectors = ConnectorsClient(self.connectors_http)
        self.registrations = RegistrationService(
            self.db,
            self.connectors,
            self.secrets,
            self.registration_cache,
            public_url=self.public_url,
            rotation_overlap_s=settings.webhooks_rotation_overlap_s,
            app_secrets=self.app_secrets,
        )
        self.retention = Retention(self.db)
        self.intake_events = IntakeEvents(self.db, self.secrets, self.registration_cache, self.app_secrets)
        self.gap_filler = GitHubGapFiller(
            self.db, self.minter, settings.gateway_url, lookback_s=settings.webhooks_gap_fill_lookback_s
        )
        # Outbound half (docs/adr/0020): subscriptions, fan-out, dispatcher, delivery log.
        self.outbound = Outbound(settings, self.db, self.secrets, transport=self._push_transport)
        self.subscriptions = self.outbound.subscriptions
        self.dispatcher = self.outbound.dispatcher
        self.delivery_log = self.outbound.delivery_log
        self.counters.start()
        stack.push_async_callback(self.counters.stop)
        await self.outbound.start(self.infra.producer, self.infra.redis)
        stack.push_async_callback(self.outbound.stop)
        if self.run_background:
            await self._open_background(stack)

    async def _open_background(self, stack: contextlib.AsyncExitStack) -> None:
        settings = self.settings
        topics = list(INTAKE_TOPICS)
        await ensure_topics(settings.kafka_bootstrap, sorted({*topics, *map(dlq_topic, topics)}))
        self.intake_consumer = ConsumerRunner(
            bootstrap=settings.kafka_bootstrap,
            group_id=settings.webhooks_intake_group,
            topics=topics,
            handler=self.intake_events,
            dlq_producer=self.infra.producer,
        )
        await self.intake_consumer.start()
        stack.push_async_callback(self.intake_consumer.stop)
        _loop(stack, self.retention.run_every(settings.webhooks_retention_interval_s), "webhook-retention")
        _loop(
            stack,
            self.registrations.run_renewals(
                settings.webhooks_renewal_interval_s, settings.webhooks_renew_before_s
            ),
            "webhook-renewals",
        )
        # Started after an outage: ask GitHub for what it could not deliver meanwhile.
        _loop(stack, self.gap_filler.run_every(settings.webhooks_gap_fill_interval_s), "webhook-gap-filling")

    def readiness(self) -> list[ReadinessCheck]:
        return self.infra.readiness()


def _loop(stack: contextlib.AsyncExitStack, job: Coroutine[Any, Any, None], name: str) -> None:
    """Runs ``job`` until the root stops (cancelled then, its end awaited)."""
    task = asyncio.create_task(job, name=name)

    async def cancel() -> None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task

    stack.push_async_callback(cancel)
