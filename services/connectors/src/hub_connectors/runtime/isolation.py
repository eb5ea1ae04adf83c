"""How a connector call can end besides a result, and containment for built-ins on the loop.

Plugins run in worker processes (``process_isolation.py``); built-ins run on the service's loop
inside ``contained``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


class ConnectorTimedOut(Exception):
    pass


class ConnectorBusy(Exception):
    pass


class ConnectorCrashed(Exception):
    """A connector failed: a plugin raised (its description is the message), a built-in raised
    something that is not an ``Exception`` (SystemExit, KeyboardInterrupt)."""


class BadResult(Exception):
    """A connector answered, but not with what it must (wrong type, data that is not JSON)."""


async def contained(work: Callable[[], Awaitable[T]]) -> T:
    """Await ``work()`` turning SystemExit/KeyboardInterrupt into ``ConnectorCrashed``.

    Caught inside the coroutine, before asyncio's task machinery sees them: a task that raises
    SystemExit stops its event loop and is logged as "never retrieved" instead of returning.
    """
    try:
        return await work()
    except asyncio.CancelledError:
        raise
    except Exception:
        raise
    except BaseException as exc:
        raise ConnectorCrashed(type(exc).__name__) from None
