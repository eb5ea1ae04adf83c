"""The webhooks service against the real stack: Postgres, Kafka, and the real vault service
(in-process uvicorn on its own port). Registrations that need no provider are written through
the repository; the registration API is driven against the real connectors service in
test_registrations_api.py.
"""

from __future__ import annotations

import asyncio
import socket
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
import uvicorn

from hub_common.clients.vault import VaultClient
from hub_common.db.migrations import migrate
from hub_common.testing.service_keys import service_key_settings, service_minter
from hub_connector_sdk.webhook_signatures import webhook_signature
from hub_vault.app import create_app as create_vault_app
from hub_vault.cli import SPEC as VAULT_SPEC
from hub_vault.config import VaultSettings
from hub_webhooks.app import create_app
from hub_webhooks.cli import SPEC
from hub_webhooks.config import WebhooksSettings
from hub_webhooks.domain.registration import Mode, Registration, Status
from hub_webhooks.inject import Container
from hub_webhooks.repositories import registrations, tenants
from hub_webhooks.services.secrets import registration_key


def _free_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


@asynccontextmanager
async def serve(app: Any) -> AsyncIterator[str]:
    """Run an ASGI app on a free local port for the duration of the block."""
    sock = _free_socket()
    server = uvicorn.Server(uvicorn.Config(app, log_config=None, lifespan="on"))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        if task.done():
            task.result()
            raise RuntimeError("server did not start")
        await asyncio.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        await task
        sock.close()


@pytest.fixture(scope="session")
def serve_app() -> Callable[[Any], Any]:
    """``serve`` for tests that need a stand-in service on a port of its own."""
    return serve


@pytest.fixture(scope="session")
async def migrated_dsn(new_database) -> str:
    dsn = await new_database("webhooks_test")
    await migrate(dsn, VAULT_SPEC.schema, VAULT_SPEC.migration_sources())
    await migrate(dsn, SPEC.schema, SPEC.migration_sources())
    return dsn


@pytest.fixture(scope="session")
async def vault_url(migrated_dsn, kafka_bootstrap, tmp_path_factory) -> AsyncIterator[str]:
    settings = VaultSettings(
        environment="test",
        **service_key_settings("vault"),
        postgres_dsn=migrated_dsn,
        kafka_bootstrap=kafka_bootstrap,
        vault_dev_keyring_path=tmp_path_factory.mktemp("vault") / "keyring.json",
        outbox_poll_interval_s=0.2,
        log_json=False,
    )
    async with serve(create_vault_app(settings)) as url:
        yield url


@pytest.fixture(scope="session")
def settings(migrated_dsn, kafka_bootstrap, redis_url, vault_url) -> WebhooksSettings:
    return WebhooksSettings(
        environment="test",
        **service_key_settings("webhooks"),
        postgres_dsn=migrated_dsn,
        kafka_bootstrap=kafka_bootstrap,
        redis_url=redis_url,
        vault_url=vault_url,
        outbox_poll_interval_s=0.2,
        webhooks_counter_flush_s=0.2,
        webhooks_registration_cache_s=0.0,
        webhooks_background=False,
        log_json=False,
    )


class Clock:
    """The intake's clock: real time unless a test pins it (providers' published examples)."""

    def __init__(self) -> None:
        self.pinned: float | None = None

    def __call__(self) -> float:
        import time

        return time.time() if self.pinned is None else self.pinned


@pytest.fixture(scope="session")
def clock() -> Clock:
    return Clock()


@pytest.fixture(scope="session")
async def hub(settings, clock) -> AsyncIterator[tuple[str, Container]]:
    container = Container(settings, clock=clock)
    async with serve(create_app(settings, container=container)) as url:
        yield url, container


@pytest.fixture
async def http(hub) -> AsyncIterator[httpx.AsyncClient]:
    url, _ = hub
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        yield client


@pytest.fixture
def container(hub) -> Container:
    return hub[1]


@pytest.fixture(autouse=True)
def _real_time(clock) -> None:
    clock.pinned = None


@pytest.fixture
def tenant() -> str:
    return f"t-{uuid.uuid4().hex[:10]}"


def service_vault(url: str, service: str = "webhooks") -> VaultClient:
    return VaultClient(url, service_minter(service), timeout_s=10)


@pytest.fixture
def make_registration(container, tenant) -> Callable[..., Any]:
    """A registration of ``preset`` with ``secret`` in the real vault (None: waiting for one)."""

    async def make(
        preset: str | dict[str, Any],
        secret: str | None,
        *,
        connector_id: str = "acme",
        tenant_id: str | None = None,
        routing_key: str | None = None,
        tier: str = "writerpro",
    ) -> Registration:
        owner = tenant_id or tenant
        rid, connection_id = uuid.uuid4(), uuid.uuid4()
        key = registration_key(rid) if secret else None
        if secret and key:
            await container.secrets.store(owner, connection_id, key, secret)
        spec = webhook_signature(preset).model_dump(mode="json")
        async with container.db.connection() as conn:
            await tenants.observe(conn, owner, tier)
            return await registrations.insert(
                conn,
                id=rid,
                tenant_id=owner,
                user_id="u1",
                connection_id=connection_id,
                connector_id=connector_id,
                mode=Mode.MANUAL,
                status=Status.ACTIVE if secret else Status.PENDING_SECRET,
                trigger_ids=["issue_opened"],
                filter=None,
                routing_key=routing_key,
                signature_spec=spec,
                secret_key=key,
            )

    return make
