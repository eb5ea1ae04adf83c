"""At most one outbox NOTIFY per window per process, without ever leaving a row un-announced.

Every transaction that NOTIFYs takes Postgres's database-wide notify lock at commit, so one
NOTIFY per credential write serializes all writes' commits, and each wakes the outbox relay for a
one-row round. Writes inside a window skip the NOTIFY; after such a write has committed it asks
for a trailing NOTIFY at the window's end, so the relay wakes after every committed row within
one window (the relay's poll stays the backstop).
"""

from __future__ import annotations

import asyncio
import logging
import time

import asyncpg

log = logging.getLogger(__name__)


class NotifyDebouncer:
    def __init__(self, pool: asyncpg.Pool, channel: str, window_s: float) -> None:
        self.pool = pool
        self.channel = channel
        self.window_s = window_s
        self._last = 0.0
        self._trailing: asyncio.TimerHandle | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    def claim(self) -> str | None:
        """Before a write: the channel to NOTIFY in the write's own statement, or None to skip."""
        now = time.monotonic()
        if now - self._last >= self.window_s:
            self._last = now
            return self.channel
        return None

    def committed_without_notify(self) -> None:
        """After a write that skipped NOTIFY committed: make sure a NOTIFY follows it."""
        if self._trailing is not None:
            return
        loop = asyncio.get_running_loop()
        delay = max(0.0, self._last + self.window_s - time.monotonic())
        self._trailing = loop.call_later(delay, self._fire)

    def _fire(self) -> None:
        self._trailing = None
        self._last = time.monotonic()
        task = asyncio.get_running_loop().create_task(self._notify())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _notify(self) -> None:
        try:
            await self.pool.execute("SELECT pg_notify($1, '')", self.channel)
        except (asyncpg.PostgresError, OSError) as exc:
            # The row is committed; the relay's poll publishes it a little later.
            log.warning("outbox NOTIFY failed", extra={"reason": type(exc).__name__})

    async def close(self) -> None:
        if self._trailing is not None:
            self._trailing.cancel()
            self._trailing = None
            await self._notify()  # announce what the cancelled timer would have
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
