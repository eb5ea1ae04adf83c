"""Composition root of the gateway service: settings in, wired use cases out."""

from __future__ import annotations

import contextlib

from hub_common.clients.vault import VaultClient
from hub_common.composition import CompositionRoot, close_with
from hub_common.db import Database
from hub_common.infrastructure import Infrastructure
from hub_common.web.auth import Authenticator, ServiceTokenMinter
from hub_common.web.health import ReadinessCheck
from hub_gateway.adapters.bus import Bus
from hub_gateway.adapters.event_sink import EventSink
from hub_gateway.adapters.http1 import Http1Client
from hub_gateway.adapters.hub_services import ConnectionsClient, OAuthRefresher
from hub_gateway.adapters.redis_buckets import RedisBuckets
from hub_gateway.config import NEEDS, SCHEMA, GatewaySettings
from hub_gateway.consumers.invalidation import InvalidationConsumer
from hub_gateway.domain.circuit import CircuitBoard
from hub_gateway.domain.tiers import merged_quotas
from hub_gateway.services.connection_status import ConnectionStatus
from hub_gateway.services.limiter import QuotaLimiter
from hub_gateway.services.provider_budget import ProviderBudgets, SnapshotWriter
from hub_gateway.services.proxy import ProxyService, ProxySettings
from hub_gateway.services.resolver import Resolver
from hub_gateway.services.transforms import TransformService
from hub_gateway.services.usage import UsageMeter


class Container(CompositionRoot):
    def __init__(self, settings: GatewaySettings) -> None:
        self.settings = settings
        self.infra = Infrastructure(settings, schema=SCHEMA, needs=NEEDS, outbox=False)
        self.authenticator = Authenticator(settings)
        self.minter = ServiceTokenMinter.from_settings(settings)
        self._proxy: ProxyService | None = None
        self.invalidation: InvalidationConsumer | None = None

    @property
    def proxy(self) -> ProxyService:
        if self._proxy is None:
            raise RuntimeError("the gateway container is not started")
        return self._proxy

    async def _open(self, stack: contextlib.AsyncExitStack) -> None:
        """Each part's stop right after its start: events and snapshots drain on the way down."""
        s = self.settings
        await self.infra.start()
        stack.push_async_callback(self.infra.stop)
        redis = self.infra.redis
        self.bus = Bus(redis)
        await self.bus.start()
        stack.push_async_callback(self.bus.stop)
        self.budgets = ProviderBudgets(redis, self.bus)
        stack.push_async_callback(self.budgets.close)
        self.db = Database(self.infra.pool)
        self.snapshots = SnapshotWriter(self.db, flush_interval_s=s.gateway_snapshot_flush_interval_s)
        await self.snapshots.start()
        stack.push_async_callback(self.snapshots.stop)
        self.usage = UsageMeter(self.db, flush_interval_s=s.gateway_snapshot_flush_interval_s)
        await self.usage.start()
        stack.push_async_callback(self.usage.stop)
        self.events = EventSink(
            self.infra.producer,
            max_queue=s.gateway_events_queue_max,
            flush_interval_s=s.gateway_events_flush_interval_s,
        )
        await self.events.start()
        stack.push_async_callback(self.events.stop)
        self.vault = close_with(stack, VaultClient(s.vault_url, self.minter))
        self.connections = close_with(
            stack,
            ConnectionsClient(s.connectors_url, self.minter, path_template=s.gateway_connection_lookup_path),
        )
        self.refresher = close_with(stack, OAuthRefresher(s.oauth_url, self.minter))
        allowlist = s.outbound_allowlist_entries
        self.resolver = Resolver(
            self.connections,
            self.vault,
            self.budgets,
            target_ttl_s=s.gateway_connection_cache_ttl_s,
            credential_ttl_s=s.gateway_credential_cache_ttl_s,
            max_entries=s.gateway_cache_max_entries,
            allowlist=allowlist,
            trusted=lambda: self.invalidation is not None and self.invalidation.healthy,
        )
        invalidation = InvalidationConsumer(
            s.kafka_bootstrap, self.resolver, stale_after_s=s.gateway_invalidation_stale_s
        )
        await invalidation.start()
        self.invalidation = invalidation
        stack.push_async_callback(invalidation.stop)
        self.limiter = QuotaLimiter(
            RedisBuckets(redis), lease_max=s.gateway_lease_max, lease_ttl_s=s.gateway_lease_ttl_s
        )
        stack.push_async_callback(self.limiter.close)
        self.transforms = TransformService(self.db, self.bus)
        self.upstream = Http1Client(
            allowlist=allowlist,
            connect_timeout_s=s.gateway_connect_timeout_s,
            read_timeout_s=s.gateway_read_timeout_s,
            max_connections=s.gateway_upstream_pool_size,
            idle_timeout_s=s.gateway_upstream_idle_timeout_s,
            ca_file=s.gateway_upstream_ca_file,
        )
        stack.push_async_callback(self.upstream.close)
        self._proxy = ProxyService(
            client=self.upstream,
            resolver=self.resolver,
            limiter=self.limiter,
            budgets=self.budgets,
            snapshots=self.snapshots,
            circuits=CircuitBoard(s.gateway_circuit_failures, s.gateway_circuit_open_s),
            refresher=self.refresher,
            transforms=self.transforms,
            settings=ProxySettings(
                max_retries=s.gateway_max_retries,
                max_retry_after_s=s.gateway_max_retry_after_s,
                transform_max_body_bytes=s.gateway_transform_max_body_bytes,
                propagate_context_to=s.propagate_context_to,
                provider_default_backoff_s=s.gateway_provider_default_backoff_s,
                provider_block_max_s=s.gateway_provider_block_max_s,
                quotas=merged_quotas(s.quota_overrides),
            ),
            usage=self.usage,
        )
        self.connection_status = ConnectionStatus(
            self.db,
            resolver=self.resolver,
            quotas_for=self._proxy.quotas_for,
            limiter=self.limiter,
            snapshots=self.snapshots,
            budgets=self.budgets,
            usage=self.usage,
        )

    def readiness(self) -> list[ReadinessCheck]:
        async def invalidation_ok() -> bool:
            return self.invalidation is not None and self.invalidation.healthy

        # Not required: without the feed, cached connections are trusted for a bounded time only.
        feed = ReadinessCheck("invalidation-events", invalidation_ok, required=False)
        return [*self.infra.readiness(), feed]
