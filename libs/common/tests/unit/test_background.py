"""hub_common.background: one named task, a repeated job that outlives its failures."""

from __future__ import annotations

import asyncio
import logging

import pytest

from hub_common.background import BackgroundTask, cancel_and_wait, every, jittered

pytestmark = pytest.mark.unit


async def _until(condition, limit: int = 1000) -> None:
    for _ in range(limit):
        if condition():
            return
        await asyncio.sleep(0.001)
    raise AssertionError("condition never held")


async def test_a_failing_job_is_logged_and_runs_again(caplog: pytest.LogCaptureFixture) -> None:
    runs: list[int] = []

    async def job() -> None:
        runs.append(len(runs))
        if len(runs) == 1:
            raise ValueError("first run fails")

    task = BackgroundTask("test-job")
    task.start(every(0.001, job, what="job not done", extra={"job": "j"}))
    with caplog.at_level(logging.WARNING, logger="hub.background"):
        await _until(lambda: len(runs) >= 3)
    await task.stop()
    assert not task.running and task.task is None
    record = next(r for r in caplog.records if r.getMessage() == "job not done")
    assert (record.error, record.job) == ("ValueError", "j")  # type: ignore[attr-defined]


async def test_stop_cancels_and_waits() -> None:
    ended = asyncio.Event()

    async def forever() -> None:
        try:
            await asyncio.Event().wait()
        finally:
            ended.set()

    task = BackgroundTask("forever")
    started = task.start(forever())
    await asyncio.sleep(0)
    assert task.running
    await task.stop()
    assert ended.is_set() and started.cancelled()
    await task.stop()  # twice, or never started: nothing happens
    await BackgroundTask("never").stop()


async def test_cancel_and_wait_skips_none_and_ended_tasks() -> None:
    done = asyncio.create_task(asyncio.sleep(0))
    await done
    sleeper = asyncio.create_task(asyncio.sleep(60))
    await cancel_and_wait(None, done, sleeper)
    assert sleeper.cancelled()


def test_jitter_stays_within_half_and_all() -> None:
    assert all(5.0 <= jittered(10.0) <= 10.0 for _ in range(100))
