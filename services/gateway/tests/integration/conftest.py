"""Gateway integration tests: two REAL gateway processes (``hub-gateway serve``), the REAL vault
process, real Postgres/Kafka/Redis; the provider, the connectors service's lookup and the oauth
refresh route are stand-ins (tests/gateway_support.py says exactly what each one replaces).

One set of processes serves the whole session (starting them takes seconds); tests keep apart
by using their own tenants and connection ids.
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from gateway_support import (
    ConnectionLookup,
    OAuthRefreshStandIn,
    OtlpCollector,
    ProviderSimulator,
    connection,
    manifest,
)

from hub_common.clients.vault import VaultClient
from hub_common.events.models import IntegrationDisconnected
from hub_common.kafka.admin import ensure_topics
from hub_common.kafka.producer import EventProducer
from hub_common.settings import HubSettings
from hub_common.testing.service_keys import service_key_settings, service_minter
from hub_common.web.auth import mint_user_token
from hub_e2e.processes import ServiceProcess

SETTINGS = HubSettings(environment="test")
# Small quotas for the writerpro tier, so the shared-quota test can exhaust one quickly; teams and
# enterprise keep generous defaults for every other test.
QUOTAS = '{"writerpro": {"connection": {"rate": 0.05, "burst": 10}, "tenant": {"rate": 0.05, "burst": 1000}}}'


@dataclass
class Hub:
    gateways: list[ServiceProcess]
    vault: ServiceProcess
    sim: ProviderSimulator
    lookup: ConnectionLookup
    oauth: OAuthRefreshStandIn
    otlp: OtlpCollector
    kafka_bootstrap: str
    pg_dsn: str
    http: httpx.AsyncClient
    tenants: list[str] = field(default_factory=list)

    @property
    def a(self) -> str:
        return self.gateways[0].url

    @property
    def b(self) -> str:
        return self.gateways[1].url

    def tenant(self) -> str:
        t = f"t-{uuid.uuid4().hex[:10]}"
        self.tenants.append(t)
        return t

    def user_headers(self, tenant: str, tier: str = "teams", user: str = "alice") -> dict[str, str]:
        token = mint_user_token(SETTINGS, tenant=tenant, user=user, tier=tier)
        return {"Authorization": f"Bearer {token}"}

    def service_headers(self, tenant: str | None, service: str = "connectors") -> dict[str, str]:
        minter = service_minter(service)
        headers = minter.headers_for("gateway")
        if tenant is not None:
            headers["X-Hub-Tenant"] = tenant
        return headers

    def vault_as(self, service: str) -> VaultClient:
        return VaultClient(self.vault.url, service_minter(service))

    async def store(self, tenant: str, cid: str, values: dict[str, str], service: str = "connectors") -> None:
        vault = self.vault_as(service)
        try:
            for key, value in values.items():
                await vault.store(tenant, cid, key, value)
        finally:
            await vault.aclose()

    async def connect(
        self,
        tenant: str,
        *,
        method: str = "api_key",
        secrets: dict[str, str] | None = None,
        config: dict[str, Any] | None = None,
        status: str = "active",
        **manifest_kw: Any,
    ) -> str:
        """A connection served by the lookup stand-in, its secrets stored in the real vault."""
        manifest_kw.setdefault("base_url", self.sim.url)
        body = connection(
            tenant_id=tenant,
            manifest_body=manifest(method=method, **manifest_kw),
            config=config,
            status=status,
        )
        self.lookup.add(body)
        if secrets:
            service = "oauth" if method == "oauth2" else "connectors"
            await self.store(tenant, body["id"], secrets, service=service)
        return str(body["id"])

    def proxy(self, gateway: str, cid: str, path: str) -> str:
        return f"{gateway}/v1/proxy/{cid}/{path}"

    async def publish_disconnect(self, tenant: str, cid: str) -> float:
        """What the connectors service publishes when a user disconnects (the lookup stand-in
        still says "active": only the event can make the gateways refuse); returns the
        monotonic time the broker acknowledged it."""
        producer = EventProducer(self.kafka_bootstrap, source="/tests/connectors")
        await producer.start()
        try:
            await producer.publish(
                IntegrationDisconnected(
                    tenant_id=tenant, connection_id=uuid.UUID(cid), connector_id="simapi", reason="user"
                )
            )
            return time.monotonic()
        finally:
            await producer.stop()


def _env(**extra: str) -> dict[str, str]:
    return {"HUB_ENVIRONMENT": "test", "HUB_LOG_JSON": "true", **extra}


@pytest.fixture(scope="session")
def servers() -> Iterator[tuple[ProviderSimulator, OtlpCollector]]:
    sim = ProviderSimulator().start()
    otlp = OtlpCollector().start()
    yield sim, otlp
    sim.stop()
    otlp.stop()


@pytest.fixture(scope="session")
async def hub(
    pg_dsn: str,
    kafka_bootstrap: str,
    redis_url: str,
    tmp_path_factory: pytest.TempPathFactory,
    servers: tuple[ProviderSimulator, OtlpCollector],
) -> AsyncIterator[Hub]:
    sim, otlp = servers
    await ensure_topics(
        kafka_bootstrap,
        [
            "integration.api-request",
            "integration.disconnected",
            "integration.status-changed",
            "integration.connected",
            "credential.changed",
        ],
    )
    keyring: Path = tmp_path_factory.mktemp("vault") / "keyring.json"
    stack = {"HUB_POSTGRES_DSN": pg_dsn, "HUB_KAFKA_BOOTSTRAP": kafka_bootstrap, "HUB_REDIS_URL": redis_url}
    vault = ServiceProcess(
        "vault", _env(**stack, HUB_VAULT_DEV_KEYRING_PATH=str(keyring), HUB_OUTBOX_POLL_INTERVAL_S="0.2")
    )
    await asyncio.to_thread(vault.migrate)
    await asyncio.to_thread(vault.start)
    # Stand-ins for connectors and oauth: each trusts the gateway's key, as the real ones do.
    lookup = ConnectionLookup(HubSettings(environment="test", **service_key_settings("connectors"))).start()
    oauth = OAuthRefreshStandIn(
        HubSettings(environment="test", **service_key_settings("oauth")), vault.url
    ).start()
    env = _env(
        **stack,
        HUB_VAULT_URL=vault.url,
        HUB_CONNECTORS_URL=lookup.url,
        HUB_OAUTH_URL=oauth.url,
        HUB_OUTBOUND_ALLOWLIST="127.0.0.1",
        HUB_LOG_LEVEL="DEBUG",
        HUB_OTLP_ENDPOINT=otlp.url,
        OTEL_BSP_SCHEDULE_DELAY="100",
        HUB_GATEWAY_QUOTAS=QUOTAS,
        HUB_GATEWAY_READ_TIMEOUT_S="1",
        HUB_GATEWAY_BODY_IDLE_TIMEOUT_S="0.5",
        HUB_GATEWAY_CONNECT_TIMEOUT_S="1",
        HUB_GATEWAY_MAX_RETRY_AFTER_S="1",
        HUB_GATEWAY_CIRCUIT_FAILURES="3",
        HUB_GATEWAY_CIRCUIT_OPEN_S="2",
        HUB_GATEWAY_MAX_BODY_BYTES=str(4 * 1024 * 1024),
        HUB_GATEWAY_REPLAY_BUFFER_BYTES=str(64 * 1024),
        HUB_GATEWAY_PROVIDER_DEFAULT_BACKOFF_S="1",
        HUB_GATEWAY_PROPAGATE_CONTEXT_TO="traced",
    )
    gateways = [ServiceProcess("gateway", env), ServiceProcess("gateway", env)]
    await asyncio.to_thread(gateways[0].migrate)
    await asyncio.gather(*(asyncio.to_thread(g.start, 60) for g in gateways))
    async with httpx.AsyncClient(timeout=30) as http:
        yield Hub(gateways, vault, sim, lookup, oauth, otlp, kafka_bootstrap, pg_dsn, http)
    for g in gateways:
        g.stop()
    vault.stop()
    lookup.stop()
    oauth.stop()
    if os.environ.get("HUB_KEEP_LOGS"):
        print("gateway logs:", *(g.log_path for g in gateways))


@pytest.fixture
def tenant(hub: Hub) -> str:
    return hub.tenant()
