"""A real vault: uvicorn in-process on a free port, real Postgres (a fresh database per vault)
and real Kafka. Callers authenticate with dev-mode service tokens, exactly like other services."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx
import pytest
import uvicorn
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from hub_common.clients.vault import VaultClient
from hub_common.db.migrations import migrate
from hub_common.testing.service_keys import service_key_settings, service_minter
from hub_vault.adapters.keyring_source import write_keyring_file
from hub_vault.app import create_app
from hub_vault.cli import SPEC
from hub_vault.config import VaultSettings
from hub_vault.domain.keyring import new_keyring


@dataclass
class RunningVault:
    url: str
    dsn: str
    keyring_path: Path
    settings: VaultSettings

    def headers(self, service: str) -> dict[str, str]:
        minter = service_minter(service)
        return minter.headers_for("vault")

    def http(self, service: str) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.url, headers=self.headers(service), timeout=10)

    def client(self, service: str) -> VaultClient:
        minter = service_minter(service)
        return VaultClient(self.url, minter, timeout_s=10)

    async def db(self) -> asyncpg.Connection:
        return await asyncpg.connect(self.dsn, server_settings={"search_path": "vault,public"})


@pytest.fixture(scope="session")
async def vault_database(new_database) -> Callable[[], Awaitable[str]]:
    """Fresh, migrated databases on the session's server (dropped at the end)."""

    async def make() -> str:
        dsn = await new_database("vault_test")
        await migrate(dsn, SPEC.schema, SPEC.migration_sources())
        return dsn

    return make


@pytest.fixture(scope="session")
async def credential_topic(kafka_bootstrap: str) -> str:
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    await admin.start()
    try:
        with contextlib.suppress(TopicAlreadyExistsError):
            await admin.create_topics([NewTopic("credential.changed", 3, 1)])
    finally:
        await admin.close()
    return "credential.changed"


def _free_socket() -> socket.socket:
    # proto=IPPROTO_TCP matters: asyncio only sets TCP_NODELAY on sockets that say they are TCP,
    # and without it every response waits ~40 ms for a delayed ACK.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


@contextlib.asynccontextmanager
async def run_vault(
    dsn: str, kafka_bootstrap: str, keyring_path: Path, **overrides: object
) -> AsyncIterator[RunningVault]:
    if not keyring_path.exists():  # noqa: ASYNC240 (test setup, a local file)
        write_keyring_file(keyring_path, new_keyring())
    settings = VaultSettings(
        environment="test",
        **service_key_settings("vault"),
        postgres_dsn=dsn,
        kafka_bootstrap=kafka_bootstrap,
        vault_keyring_file=keyring_path,
        vault_keyring_reload_s=0.05,
        outbox_poll_interval_s=0.2,
        log_json=False,
        **overrides,
    )
    sock = _free_socket()
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(settings), log_config=None, lifespan="on"))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        if task.done():
            task.result()
            raise RuntimeError("vault did not start")
        await asyncio.sleep(0.02)
    try:
        yield RunningVault(f"http://127.0.0.1:{port}", dsn, keyring_path, settings)
    finally:
        server.should_exit = True
        await task
        sock.close()


@pytest.fixture(scope="session")
async def shared_vault(
    vault_database, kafka_bootstrap, credential_topic, tmp_path_factory
) -> AsyncIterator[RunningVault]:
    """One vault for the tests that do not rotate keys or break the database."""
    dsn = await vault_database()
    path = tmp_path_factory.mktemp("shared-vault") / "keyring.json"
    async with run_vault(dsn, kafka_bootstrap, path) as vault:
        yield vault


@pytest.fixture
async def private_vault(
    vault_database, kafka_bootstrap, credential_topic, tmp_path
) -> AsyncIterator[RunningVault]:
    """A vault with its own database and keyring (rotation, retire, broken audit...)."""
    dsn = await vault_database()
    async with run_vault(dsn, kafka_bootstrap, tmp_path / "keyring.json") as vault:
        yield vault


@pytest.fixture
def vault_runner() -> Callable[..., contextlib.AbstractAsyncContextManager[RunningVault]]:
    """``run_vault(dsn, kafka_bootstrap, keyring_path, **settings)`` for tests that need their
    own configuration (an inline keyring, say)."""
    return run_vault


@pytest.fixture
def tenant() -> str:
    return f"tenant-{uuid.uuid4().hex[:8]}"
