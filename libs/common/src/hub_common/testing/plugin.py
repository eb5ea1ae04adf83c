"""pytest plugin (entry point ``pytest11``): session-wide real stack and per-test helpers."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import ExitStack
from urllib.parse import urlsplit, urlunsplit

import pytest

from hub_common.testing.stack import StackAddresses, resolve_stack


@pytest.fixture(scope="session")
def hub_stack() -> Iterator[StackAddresses]:
    with ExitStack() as stack:
        yield resolve_stack(stack)


@pytest.fixture(scope="session")
def kafka_bootstrap(hub_stack: StackAddresses) -> str:
    return hub_stack.kafka_bootstrap


@pytest.fixture(scope="session")
def redis_url(hub_stack: StackAddresses) -> str:
    return hub_stack.redis_url


@pytest.fixture(scope="session")
async def pg_dsn(hub_stack: StackAddresses) -> AsyncIterator[str]:
    """A fresh database for this test session on the stack's server, dropped afterwards."""
    import asyncpg

    name = f"hub_test_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(hub_stack.postgres_dsn)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    parts = urlsplit(hub_stack.postgres_dsn)
    yield urlunsplit(parts._replace(path=f"/{name}"))
    admin = await asyncpg.connect(hub_stack.postgres_dsn)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@pytest.fixture
def unique_name() -> Callable[[str], str]:
    """Distinct topic/group/schema names per test, so tests never see each other's data."""

    def make(prefix: str) -> str:
        return f"{prefix}_{uuid.uuid4().hex[:10]}"

    return make


@pytest.fixture
async def create_topic(kafka_bootstrap: str) -> AsyncIterator[Callable[[str, int], Awaitable[str]]]:
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic

    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    await admin.start()

    async def create(name: str, partitions: int = 3) -> str:
        await admin.create_topics([NewTopic(name, num_partitions=partitions, replication_factor=1)])
        await asyncio.sleep(0.2)  # let the new leader be elected before producing
        return name

    yield create
    await admin.close()
