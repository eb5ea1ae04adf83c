"""pytest plugin (entry point ``pytest11``): session-wide real stack and per-test helpers."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import ExitStack
from typing import Any

import pytest

from hub_common.testing.databases import create_database, drop_database
from hub_common.testing.stack import StackAddresses, resolve_stack
from hub_common.testing.tiers import RERUN_TIERS, check_tiers, rerun_lines, summary_lines, tier_of

_TIER_OF = pytest.StashKey[dict[str, str]]()


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
async def new_database(hub_stack: StackAddresses) -> AsyncIterator[Callable[..., Awaitable[str]]]:
    """``await new_database()`` → the DSN of a fresh database, dropped when the session ends."""
    created: list[str] = []

    async def make(prefix: str = "hub_test") -> str:
        dsn = await create_database(hub_stack.postgres_dsn, prefix)
        created.append(dsn)
        return dsn

    yield make
    for dsn in created:
        await drop_database(hub_stack.postgres_dsn, dsn)


@pytest.fixture(scope="session")
async def pg_dsn(new_database: Callable[..., Awaitable[str]]) -> str:
    """A fresh database shared by this test session (suites running their own vault processes
    should take one of their own from ``new_database``)."""
    return await new_database()


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


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    check_tiers(items)
    config.stash[_TIER_OF] = {item.nodeid: tier_of(item)[0] for item in items}
    # `-p no:rerunfailures` turns reruns off (to see a failure's first occurrence).
    reruns = config.pluginmanager.hasplugin("rerunfailures")
    for item in items:
        if reruns and tier_of(item)[0] in RERUN_TIERS and item.get_closest_marker("flaky") is None:
            item.add_marker(pytest.mark.flaky(reruns=1, reruns_delay=2))


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    tiers = config.stash.get(_TIER_OF, None)
    if not tiers:
        return
    stats = terminalreporter.stats
    reports = [r for key in ("passed", "failed", "skipped", "error") for r in stats.get(key, [])]
    lines = summary_lines([r for r in reports if isinstance(r, pytest.TestReport)], tiers)
    if lines:
        terminalreporter.section("tests per tier")
        for line in lines:
            terminalreporter.write_line(line)
    reruns = rerun_lines(stats.get("rerun", []))
    if reruns:  # passed the second time: still a defect to look into, so it is listed
        terminalreporter.section("failed once, rerun (docs/testing.md)")
        for line in reruns:
            terminalreporter.write_line(line)
