"""Integration fixtures: the real vault as a process, a strict OAuth simulator as a process, the
real Postgres/Kafka/Redis, and the oauth app in-process. The connectors service is represented by
a static directory of connections (the e2e suite runs the real one)."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager

from hub_common.clients.vault import VaultClient
from hub_common.errors import NotFound
from hub_common.settings import HubSettings
from hub_common.testing.service_keys import service_key_settings, service_minter
from hub_common.web.auth import mint_user_token
from hub_connector_sdk import (
    ApiSpec,
    AuthenticationMethod,
    AuthSpec,
    ConnectorCategory,
    ConnectorManifest,
    OAuthConfig,
)
from hub_e2e.processes import ServiceProcess
from hub_e2e.simulators.runner import OAuthSimulator
from hub_oauth.adapters.connections import ConnectionInfo
from hub_oauth.adapters.provider_http import ProviderOAuthClient
from hub_oauth.app import create_app
from hub_oauth.config import OAuthSettings
from hub_oauth.inject import Container

CALLBACK = "http://127.0.0.1:18082/v1/oauth/callback"
CLIENT = {"client_id": "hub-app", "client_secret": "hub-app-secret-0123456789", "redirect_uris": [CALLBACK]}


class StaticDirectory:
    def __init__(self) -> None:
        self.connections: dict[uuid.UUID, ConnectionInfo] = {}

    def add(self, info: ConnectionInfo) -> ConnectionInfo:
        self.connections[info.id] = info
        return info

    async def get(self, tenant_id: str, connection_id: uuid.UUID) -> ConnectionInfo:
        info = self.connections.get(connection_id)
        if info is None or info.tenant_id != tenant_id:
            raise NotFound("connection not found", code="connection_not_found")
        return info


def manifest_for(sim_url: str, **oauth: Any) -> ConnectorManifest:
    config = {
        "authorization_url": f"{sim_url}/authorize",
        "token_url": f"{sim_url}/token",
        "revocation_url": f"{sim_url}/revoke",
        "identity_url": f"{sim_url}/userinfo",
        "identity_id_field": "sub",
        "client_auth": "client_secret_basic",
        "default_scopes": ["read"],
        **oauth,
    }
    return ConnectorManifest(
        id="simgeneric",
        name="Simulated provider",
        version="1.0.0",
        category=ConnectorCategory.CUSTOM,
        description="generic RFC 6749 provider simulator",
        auth=AuthSpec(method=AuthenticationMethod.OAUTH2, oauth=OAuthConfig(**config)),
        api=ApiSpec(base_url=sim_url, allowed_hosts=["127.0.0.1"]),
    )


@pytest.fixture(scope="session")
async def oauth_dsn(new_database) -> str:
    return await new_database("oauth_test")  # our own: this suite's vault registers its keyring


@pytest.fixture(scope="session")
def stack_env(hub_stack, oauth_dsn) -> dict[str, str]:
    return {
        "HUB_POSTGRES_DSN": oauth_dsn,
        "HUB_KAFKA_BOOTSTRAP": hub_stack.kafka_bootstrap,
        "HUB_REDIS_URL": hub_stack.redis_url,
    }


@pytest.fixture(scope="session")
def vault_process(stack_env) -> Iterator[ServiceProcess]:
    vault = ServiceProcess("vault", stack_env)
    vault.migrate()
    vault.start()
    yield vault
    vault.stop()


@pytest.fixture(scope="session")
def simulator() -> Iterator[OAuthSimulator]:
    with OAuthSimulator("generic", clients=[CLIENT], settings={"access_token_ttl": 3600}) as sim:
        yield sim


@pytest.fixture
def directory() -> StaticDirectory:
    return StaticDirectory()


@pytest.fixture
def settings(stack_env, vault_process) -> OAuthSettings:
    return OAuthSettings(
        environment="test",
        **service_key_settings("oauth"),
        postgres_dsn=stack_env["HUB_POSTGRES_DSN"],
        kafka_bootstrap=stack_env["HUB_KAFKA_BOOTSTRAP"],
        redis_url=stack_env["HUB_REDIS_URL"],
        vault_url=vault_process.url,
        oauth_public_url="http://127.0.0.1:18082",
        outbound_allowlist="127.0.0.1",
        provider_backoff_s=0.01,
    )


@contextlib.asynccontextmanager
async def run_oauth(
    settings: OAuthSettings,
    directory: StaticDirectory,
    dsn: str,
    provider: ProviderOAuthClient | None = None,
) -> AsyncIterator[httpx.AsyncClient]:
    from hub_common.db import migrate
    from hub_oauth.cli import SPEC

    await migrate(dsn, "oauth", SPEC.migration_sources())
    container = Container(settings, directory=directory, provider=provider, run_scheduler=False)
    app = create_app(settings, container=container)
    async with (
        LifespanManager(app, startup_timeout=60, shutdown_timeout=60),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://oauth.test") as client,
    ):
        client.container = container  # type: ignore[attr-defined]
        client.app = app  # type: ignore[attr-defined]  # for a second browser (cookie jar) on it
        yield client


@pytest.fixture
async def oauth(settings, directory, oauth_dsn) -> AsyncIterator[httpx.AsyncClient]:
    async with run_oauth(settings, directory, oauth_dsn) as client:
        yield client


@pytest.fixture
def oauth_runner() -> Callable[..., contextlib.AbstractAsyncContextManager[httpx.AsyncClient]]:
    """``run_oauth(settings, directory, dsn, provider=...)`` for tests that need their own
    provider client (a provider answering from an in-test transport, say)."""
    return run_oauth


@pytest.fixture
def tenant() -> str:
    return f"t-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def user_headers(tenant) -> dict[str, str]:
    return {
        "Authorization": f"Bearer {mint_user_token(HubSettings(), tenant=tenant, user='alice', tier='teams')}"
    }


@pytest.fixture
async def vault_as(vault_process):
    clients: list[VaultClient] = []

    def make(service: str) -> VaultClient:
        client = VaultClient(vault_process.url, service_minter(service))
        clients.append(client)
        return client

    yield make
    for c in clients:
        await c.aclose()


class HugeServer:
    """A local HTTP server whose every answer is ``total`` bytes of JSON-looking body, streamed in
    chunks (no Content-Length) or announced up front (``declare=True``); ``sent`` counts what
    it managed to write before the client hung up."""

    total = 64 * 1024 * 1024
    chunk = b'{"a": "' + b"x" * (64 * 1024 - 7)

    def __init__(self) -> None:
        self.sent = 0
        self.declare = False
        self.requests = 0
        self._server: asyncio.Server | None = None
        self.url = ""

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"

    async def stop(self) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.requests += 1
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            length = next(
                (
                    int(line.split(b":")[1])
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length:")
                ),
                0,
            )
            await reader.readexactly(length)  # a token or revocation request's form body
            framing = f"content-length: {self.total}" if self.declare else "transfer-encoding: chunked"
            writer.write(f"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n{framing}\r\n\r\n".encode())
            while self.sent < self.total:
                if self.declare:
                    writer.write(self.chunk)
                else:
                    writer.write(b"%x\r\n%s\r\n" % (len(self.chunk), self.chunk))
                await writer.drain()
                self.sent += len(self.chunk)
            if not self.declare:
                writer.write(b"0\r\n\r\n")
            await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass  # the client stopped reading and hung up: what a capped reader does
        finally:
            writer.close()


@pytest.fixture
async def huge_server() -> AsyncIterator[HugeServer]:
    server = HugeServer()
    await server.start()
    yield server
    await server.stop()
