"""The outbound half against the real stack: Postgres, Kafka, the real vault service (in-process
uvicorn on its own port), the webhooks service in-process, and subscribers that are real HTTP
servers on loopback ports (allowed through HUB_OUTBOUND_ALLOWLIST, as an operator would)."""

from __future__ import annotations

import asyncio
import socket
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import uvicorn
from asgi_lifespan import LifespanManager
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from hub_common.db.migrations import migrate
from hub_common.testing import eventually as shared_eventually
from hub_common.testing.service_keys import service_key_settings
from hub_common.web.auth import mint_user_token
from hub_vault.app import create_app as create_vault_app
from hub_vault.cli import SPEC as VAULT_SPEC
from hub_vault.config import VaultSettings
from hub_webhooks.app import create_app
from hub_webhooks.cli import SPEC
from hub_webhooks.config import WebhooksSettings
from hub_webhooks.inject import Container


def _free_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


@asynccontextmanager
async def serve(app: Any) -> AsyncIterator[str]:
    sock = _free_socket()
    server = uvicorn.Server(uvicorn.Config(app, log_config=None, lifespan="on"))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        await task
        sock.close()


@dataclass
class Receiver:
    """A subscriber endpoint: records every push; answers what ``answers`` says (default 200)."""

    url: str = ""
    pushes: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    answers: dict[str, list[tuple[int, dict[str, str]]]] = field(default_factory=dict)  # by path

    async def hook(self, request: Request) -> Response:
        body = await request.body()
        path = request.path_params["name"]
        self.pushes.append(({k.lower(): v for k, v in request.headers.items()} | {"x-path": path}, body))
        queue = self.answers.get(path)
        status, headers = queue.pop(0) if queue else (200, {})
        return Response(status_code=status, headers=headers)

    def to(self, name: str) -> list[tuple[dict[str, str], bytes]]:
        return [p for p in self.pushes if p[0]["x-path"] == name]


@pytest.fixture(scope="session")
async def receiver() -> AsyncIterator[Receiver]:
    rec = Receiver()
    app = Starlette(routes=[Route("/hooks/{name}", rec.hook, methods=["POST"])])
    async with serve(app) as url:
        rec.url = url
        yield rec


@pytest.fixture(scope="session")
async def migrated_dsn(new_database) -> str:
    dsn = await new_database("webhooks_delivery_test")
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
def settings(migrated_dsn, kafka_bootstrap, vault_url) -> WebhooksSettings:
    return WebhooksSettings(
        environment="test",
        **service_key_settings("webhooks"),
        postgres_dsn=migrated_dsn,
        kafka_bootstrap=kafka_bootstrap,
        vault_url=vault_url,
        log_json=False,
        outbox_poll_interval_s=0.05,
        outbound_allowlist="127.0.0.1",  # the test subscribers listen on loopback
        webhooks_delivery_group=f"webhooks-delivery-test-{uuid.uuid4().hex[:8]}",
        webhooks_delivery_offset_reset="latest",
        webhooks_delivery_schedule="0,0.2,0.2,0.2",
        webhooks_delivery_jitter=0.1,
        webhooks_delivery_timeout_s=3.0,
        webhooks_delivery_lease_s=10.0,
        webhooks_delivery_poll_s=0.1,
        webhooks_background=False,
    )


@pytest.fixture(scope="session")
async def container(settings) -> AsyncIterator[Container]:
    container = Container(settings)
    app = create_app(settings, container=container)
    async with LifespanManager(app, startup_timeout=60, shutdown_timeout=60):
        assert container.outbound.consumer is not None
        await container.outbound.consumer.wait_assigned(60)
        await asyncio.sleep(1.0)  # let "latest" resolve before anything is produced
        container.app = app  # type: ignore[attr-defined]
        yield container


@pytest.fixture(scope="session")
async def api(container) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=container.app)  # type: ignore[attr-defined]
    async with httpx.AsyncClient(transport=transport, base_url="http://webhooks", timeout=30) as client:
        yield client


@pytest.fixture(scope="session")
def auth(settings) -> Callable[..., dict[str, str]]:
    def headers(tenant: str, tier: str = "writerpro", user: str = "alice") -> dict[str, str]:
        return {"Authorization": f"Bearer {mint_user_token(settings, tenant=tenant, user=user, tier=tier)}"}

    return headers


@pytest.fixture
def tenant() -> str:
    return f"tenant-{uuid.uuid4().hex[:10]}"


eventually = shared_eventually


@pytest.fixture(scope="session")
def wait_for() -> Callable[..., Any]:
    return eventually
