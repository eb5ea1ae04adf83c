"""The faust agents keep their data directory out of the working directory.

faust's default is ``<app id>-data`` in the process's working directory: every test run and
every service start left a ``connectors.triggers-data`` behind in the checkout.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from hub_common.kafka import EventProducer
from hub_connectors.consumers.trigger_agent import TriggerAgent

pytestmark = pytest.mark.integration  # a real broker, no neighbouring service


async def test_the_agent_writes_nothing_into_the_working_directory(
    kafka_bootstrap, create_topic, unique_name, tmp_path, monkeypatch
):
    topic = await create_topic(unique_name("t_agent_datadir"), 1)

    class PrivateAgent(TriggerAgent):  # its own topic: nothing else's records reach it
        topic_name = topic

    monkeypatch.chdir(tmp_path)
    producer = EventProducer(kafka_bootstrap, source="/tests")
    await producer.start()
    agent = PrivateAgent(
        bootstrap=kafka_bootstrap,
        group_id=unique_name("g"),
        processor=None,
        dlq_producer=producer,
        auto_offset_reset="latest",
    )
    try:
        await agent.start()
        await agent.wait_assigned()
        assert agent._app is not None
        datadir = Path(agent._app.conf.datadir)
        assert not datadir.is_relative_to(tmp_path)
        assert _look(datadir, tmp_path) == (True, [])
    finally:
        await agent.stop()
        await producer.stop()
    assert _look(datadir, tmp_path) == (False, [])  # removed with the agent


def _look(datadir: Path, cwd: Path) -> tuple[bool, list[Path]]:
    """Whether the agent's data directory exists, and what the working directory holds."""
    return datadir.is_dir(), list(cwd.iterdir())
