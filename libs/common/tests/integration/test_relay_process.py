"""The outbox relay as a supervised child process, against real Postgres and Kafka."""

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from hub_common.db import write_event
from hub_common.db.relay_process import RELAY_NICENESS, RelayProcess, child_environment
from hub_common.events import CredentialChanged
from hub_common.settings import HubSettings
from hub_common.testing import expect_events

pytestmark = pytest.mark.integration
TOPIC = CredentialChanged.topic


@pytest.fixture
def settings(pg_dsn, kafka_bootstrap):
    # Built in code, not from the environment: the child must still get exactly these.
    return HubSettings(
        postgres_dsn=pg_dsn,
        kafka_bootstrap=kafka_bootstrap,
        service_name="relaytest",
        outbox_poll_interval_s=0.2,
    )


async def write(pool, schema: str, cid: uuid.UUID) -> str:
    async with pool.acquire() as conn, conn.transaction():
        return await write_event(
            conn,
            CredentialChanged(tenant_id="t-relay", connection_id=cid, change="stored"),
            source="/t",
            schema=schema,
        )


async def test_child_publishes_committed_events_and_stops_with_its_parent(
    settings, schema, pool, kafka_bootstrap
):
    relay = RelayProcess(settings, schema)
    await relay.start()
    try:
        assert relay.alive
        cid = uuid.uuid4()
        async with expect_events(
            kafka_bootstrap, TOPIC, match=lambda d: d["connection_id"] == str(cid), timeout_s=15
        ) as seen:
            event_id = await write(pool, schema, cid)
        assert [s.event.id for s in seen] == [event_id]
        # Published rows are deleted (once the relay's transaction commits), not kept.
        for _ in range(100):
            if not await pool.fetchval("SELECT count(*) FROM outbox"):
                break
            await asyncio.sleep(0.05)
        assert await pool.fetchval("SELECT count(*) FROM outbox") == 0
    finally:
        await relay.stop()
    assert not relay.alive


async def test_the_child_runs_at_a_lower_priority_even_where_cpu_is_shared_by_session(settings, schema):
    relay = RelayProcess(settings, schema)
    await relay.start()
    try:
        assert relay._proc is not None
        child = relay._proc.pid
        assert os.getpgid(child) == child  # its own process group (see the clean-stop test)
        assert os.getpriority(os.PRIO_PROCESS, child) == min(
            19, os.getpriority(os.PRIO_PROCESS, 0) + RELAY_NICENESS
        )
        # It leads its own session: under autogroup that is a scheduling group of its own, where
        # its niceness would rank it only against itself, so the group is lowered too.
        autogroup = Path(f"/proc/{child}/autogroup")
        if autogroup.exists():  # noqa: ASYNC240 - procfs, no disk behind it
            assert autogroup.read_text().split()[-1] == str(RELAY_NICENESS)  # noqa: ASYNC240
    finally:
        await relay.stop()


async def test_a_child_that_dies_is_restarted_and_nothing_is_lost(settings, schema, pool, kafka_bootstrap):
    relay = RelayProcess(settings, schema)
    await relay.start()
    try:
        first = relay._proc
        assert first is not None
        first.kill()
        await first.wait()
        cid = uuid.uuid4()
        # Written while no child runs: it waits in the outbox for the restarted one.
        async with expect_events(
            kafka_bootstrap, TOPIC, match=lambda d: d["connection_id"] == str(cid), timeout_s=30
        ):
            await write(pool, schema, cid)
        assert relay.restarts == 1
        assert relay._proc is not first and relay.alive
    finally:
        await relay.stop()


# A parent that starts the child, says its pid, then waits to be killed.
_PARENT = """
import asyncio, json, sys
from hub_common.db.relay_process import RelayProcess
from hub_common.settings import HubSettings

async def main():
    relay = RelayProcess(HubSettings(**json.loads(sys.argv[1])), sys.argv[2])
    await relay.start()
    print(relay._proc.pid, flush=True)
    await asyncio.sleep(120)

asyncio.run(main())
"""


def _exited(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/status") as status:
            return any(line.startswith("State:") and "Z" in line for line in status)
    except FileNotFoundError:
        return True


def test_a_child_whose_parent_dies_exits(settings, schema):
    fields = {"postgres_dsn": settings.postgres_dsn, "kafka_bootstrap": settings.kafka_bootstrap}
    parent = subprocess.Popen(
        [sys.executable, "-c", _PARENT, json.dumps(fields), schema], stdout=subprocess.PIPE, text=True
    )
    try:
        assert parent.stdout is not None
        child = int(parent.stdout.readline())
        assert not _exited(child)
        parent.send_signal(signal.SIGKILL)
        parent.wait()
        deadline = time.monotonic() + 10
        while not _exited(child) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert _exited(child), "the orphaned relay kept running"
    finally:
        parent.kill()
        parent.wait()


# A parent that, on SIGTERM, drains for a moment (as a server does) and then stops its relay.
_GRACEFUL_PARENT = """
import asyncio, json, signal, sys
from hub_common.db.relay_process import RelayProcess
from hub_common.settings import HubSettings

async def main():
    relay = RelayProcess(HubSettings(**json.loads(sys.argv[1])), sys.argv[2])
    await relay.start()
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    print(relay._proc.pid, flush=True)
    await stop.wait()
    await asyncio.sleep(1.5)
    await relay.stop()
    print(relay.restarts, flush=True)

asyncio.run(main())
"""


def test_a_signal_to_the_services_process_group_is_a_clean_stop_not_a_crash(settings, schema):
    fields = {"postgres_dsn": settings.postgres_dsn, "kafka_bootstrap": settings.kafka_bootstrap}
    parent = subprocess.Popen(
        [sys.executable, "-c", _GRACEFUL_PARENT, json.dumps(fields), schema],
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,  # as hubctl starts a service
    )
    try:
        assert parent.stdout is not None
        child = int(parent.stdout.readline())
        os.killpg(parent.pid, signal.SIGTERM)  # as `hubctl down` stops it
        restarts = parent.stdout.readline().strip()
        assert parent.wait(timeout=30) == 0
        assert restarts == "0", "the child died with the group and was restarted mid-shutdown"
        assert _exited(child)
    finally:
        parent.kill()
        parent.wait()


def test_the_child_gets_the_parents_settings_in_its_environment_not_its_arguments(settings, monkeypatch):
    monkeypatch.setenv("HUB_VAULT_KEYRING", '{"primary": 1}')
    monkeypatch.setenv("HUB_SERVICE_PRIVATE_KEY", "s3cret")
    env = child_environment(settings, "vault")
    assert env["HUB_POSTGRES_DSN"] == settings.postgres_dsn
    assert env["HUB_KAFKA_BOOTSTRAP"] == settings.kafka_bootstrap
    assert env["HUB_OUTBOX_RELAY_SCHEMA"] == "vault"
    assert env["HUB_OUTBOX_RELAY_PARENT"] == str(os.getpid())
    assert "HUB_VAULT_KEYRING" not in env and "HUB_SERVICE_PRIVATE_KEY" not in env  # it needs neither
    assert env["PATH"] == os.environ["PATH"]
