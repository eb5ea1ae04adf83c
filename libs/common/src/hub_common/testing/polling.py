"""Poll for the awaited condition instead of sleeping a fixed time (docs/testing.md).

A fixed sleep either wastes time or, on a loaded machine, is too short; a poll with a deadline
returns as soon as the condition holds and fails with the last value seen when it never does.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from typing import Any


async def eventually(
    check: Callable[[], Any | Awaitable[Any]],
    timeout_s: float = 20.0,
    interval_s: float = 0.05,
    what: str = "condition",
) -> Any:
    """Call ``check`` (sync or async) until it returns something truthy; return that value."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = check()
        if inspect.isawaitable(value):
            value = await value
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not met within {timeout_s}s (last: {value!r})")
        await asyncio.sleep(interval_s)


def eventually_sync(
    check: Callable[[], Any],
    timeout_s: float = 20.0,
    interval_s: float = 0.05,
    what: str = "condition",
) -> Any:
    """The blocking twin of :func:`eventually`, for tests that run no event loop."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not met within {timeout_s}s (last: {value!r})")
        time.sleep(interval_s)
