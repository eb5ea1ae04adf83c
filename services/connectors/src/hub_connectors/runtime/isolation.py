"""Running untrusted connector code without letting it stall or crash the service.

Each call runs on its own daemon thread with a fresh event loop, so a plugin that blocks
(``time.sleep``, a busy loop, a synchronous HTTP call) stalls only that thread; the caller waits
on an asyncio future with a deadline and gets ``ConnectorTimedOut`` when it passes. A Python
thread cannot be killed, so a stuck call keeps its slot until it returns: slots are bounded per
connector and overall, and a connector whose slots are all stuck gets ``ConnectorBusy`` at once
instead of queueing (other connectors are unaffected). Daemon threads never delay shutdown.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import threading
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

T = TypeVar("T")


class ConnectorTimedOut(Exception):
    pass


class ConnectorBusy(Exception):
    pass


class ConnectorCrashed(Exception):
    """A plugin raised something that is not an ``Exception`` (SystemExit, KeyboardInterrupt)."""


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


def _settle(future: asyncio.Future[Any], value: Any = None, error: BaseException | None = None) -> None:
    if future.done():
        return  # the caller gave up (timeout) already
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(value)


class ThreadIsolation:
    def __init__(self, *, max_threads: int = 16, max_per_connector: int = 4, grace_s: float = 0.5) -> None:
        self.max_threads = max_threads
        self.max_per_connector = max_per_connector
        self.grace_s = grace_s
        self._lock = threading.Lock()
        self._in_flight: Counter[str] = Counter()

    def in_flight(self, key: str | None = None) -> int:
        with self._lock:
            return sum(self._in_flight.values()) if key is None else self._in_flight[key]

    def _acquire(self, key: str) -> None:
        with self._lock:
            if (
                sum(self._in_flight.values()) >= self.max_threads
                or self._in_flight[key] >= self.max_per_connector
            ):
                raise ConnectorBusy(f"{key}: too many calls still running")
            self._in_flight[key] += 1

    def _release(self, key: str) -> None:
        with self._lock:
            self._in_flight[key] -= 1
            if self._in_flight[key] <= 0:
                del self._in_flight[key]

    async def run(self, key: str, work: Callable[[], Awaitable[T]], timeout_s: float) -> T:
        """Run ``work()`` on a fresh loop in a daemon thread; at most ``timeout_s`` (+ grace)."""
        self._acquire(key)
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        context = contextvars.copy_context()  # request id and trace context follow the call

        async def bounded() -> T:
            # Cancels async hangs inside the thread's own loop; blocking code is caught outside.
            return await asyncio.wait_for(contained(work), timeout_s)

        def target() -> None:
            value: Any = None
            error: BaseException | None = None
            try:
                value = context.run(asyncio.run, bounded())
            except Exception as exc:
                error = exc
            except BaseException as exc:  # a plugin must not be able to end the process
                error = ConnectorCrashed(type(exc).__name__)
            finally:
                self._release(key)
            with contextlib.suppress(RuntimeError):  # the service's loop closed meanwhile
                loop.call_soon_threadsafe(_settle, future, value, error)

        threading.Thread(target=target, name=f"connector:{key}", daemon=True).start()
        try:
            return await asyncio.wait_for(future, timeout_s + self.grace_s)
        except TimeoutError:
            raise ConnectorTimedOut(f"{key}: no answer within {timeout_s:g}s") from None
