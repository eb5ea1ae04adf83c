"""Work a service runs beside its requests: one named task, started once and cancelled on stop,
usually a job repeated at an interval. The one way for every service (docs/adr/0028).

    self._flusher = BackgroundTask("gateway-snapshots")
    self._flusher.start(every(1.0, self.flush, what="rate-limit snapshots not persisted"))
    ...
    await self._flusher.stop()
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from typing import Any

log = logging.getLogger("hub.background")


class BackgroundTask:
    """A named task: :meth:`start` runs a coroutine, :meth:`stop` cancels it and waits for it to
    end. Stopping one never started, or already ended, does nothing."""

    __slots__ = ("_task", "name")

    def __init__(self, name: str) -> None:
        self.name = name
        self._task: asyncio.Task[Any] | None = None

    def start(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        self._task = asyncio.create_task(coro, name=self.name)
        return self._task

    @property
    def task(self) -> asyncio.Task[Any] | None:
        return self._task

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            await cancel_and_wait(task)


async def cancel_and_wait(*tasks: asyncio.Task[Any] | None) -> None:
    """Cancel each task and wait until it has ended; its cancellation is not re-raised here (a
    cancellation of the caller itself still is)."""
    for task in tasks:
        if task is not None:
            task.cancel()
    for task in tasks:
        if task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await task


async def every(
    interval_s: float,
    job: Callable[[], Awaitable[object]],
    *,
    what: str,
    first_delay_s: float | None = None,
    logger: logging.Logger | None = None,
    with_traceback: bool = False,
    extra: Mapping[str, object] | None = None,
) -> None:
    """Run ``job`` every ``interval_s`` until cancelled. A failure is logged (``what`` says what
    did not happen; only the error's type unless ``with_traceback``) and the next run comes as
    planned; ``extra`` goes into the log record. ``first_delay_s``: the wait before the first
    run (default ``interval_s``)."""
    out = logger or log
    await asyncio.sleep(interval_s if first_delay_s is None else first_delay_s)
    while True:
        try:
            await job()
        except Exception as exc:
            if with_traceback:
                out.exception(what, extra=dict(extra or {}))
            else:
                out.warning(what, extra={**(extra or {}), "error": type(exc).__name__})
        await asyncio.sleep(interval_s)


def jittered(interval_s: float) -> float:
    """A first delay between half and all of ``interval_s``: replicas started together spread out."""
    return interval_s * random.uniform(0.5, 1.0)  # noqa: S311 - jitter only
