"""The composition root's lifecycle: what started stops, in reverse, even when start fails."""

import contextlib

import pytest

from hub_common.composition import CompositionRoot, close_with

pytestmark = pytest.mark.unit


class Part:
    def __init__(self, name: str, log: list[str], *, fails: bool = False) -> None:
        self.name, self.log, self.fails = name, log, fails

    async def start(self) -> None:
        if self.fails:
            raise RuntimeError(f"{self.name} cannot start")
        self.log.append(f"start {self.name}")

    async def aclose(self) -> None:
        self.log.append(f"stop {self.name}")


class Root(CompositionRoot):
    def __init__(self, log: list[str], failing: str | None = None) -> None:
        self.log, self.failing = log, failing

    async def _open(self, stack: contextlib.AsyncExitStack) -> None:
        for name in ("pool", "client", "consumer"):
            part = Part(name, self.log, fails=name == self.failing)
            await part.start()
            close_with(stack, part)


async def test_stop_closes_in_reverse_order() -> None:
    log: list[str] = []
    async with Root(log) as root:
        assert root.started
    assert log == [
        "start pool",
        "start client",
        "start consumer",
        "stop consumer",
        "stop client",
        "stop pool",
    ]
    assert not root.started


async def test_a_start_failing_halfway_closes_what_had_started() -> None:
    log: list[str] = []
    root = Root(log, failing="consumer")
    with pytest.raises(RuntimeError, match="consumer cannot start"):
        await root.start()
    assert log == ["start pool", "start client", "stop client", "stop pool"]
    assert not root.started
    await root.stop()  # after a failed start: nothing left to close, no error
    assert log == ["start pool", "start client", "stop client", "stop pool"]


async def test_a_second_start_is_refused_and_a_second_stop_is_a_no_op() -> None:
    log: list[str] = []
    root = Root(log)
    await root.start()
    with pytest.raises(RuntimeError, match="already started"):
        await root.start()
    await root.stop()
    await root.stop()
    assert log.count("stop pool") == 1
