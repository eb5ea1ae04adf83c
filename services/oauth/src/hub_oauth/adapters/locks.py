"""A Redis lock per connection, so exactly one replica refreshes a token at a time.

``SET key token NX PX ttl`` to take it, a Lua compare-and-delete to release it (never another
holder's lock), and a bounded wait for whoever holds it. While held, the lock is extended every
third of its TTL (compare-and-pexpire), so a refresh slower than the TTL (retries, a slow
provider) keeps it; a holder that dies stops extending and the lock expires after the TTL.

The release goes out after the holder's block, off its caller's answer (one Redis round trip
less on every connect and refresh). This process's next ``hold`` of the same name waits for that
release first, so within a replica a lock is free again as soon as its block ends; ``aclose``
sends whatever is still pending at shutdown.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

log = logging.getLogger(__name__)

_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""
_EXTEND = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) end
return 0
"""


RELEASE_TIMEOUT_S = 2.0
CLOCK_SAMPLE_S = 10.0


class LockTimeout(Exception):
    pass


class RedisLocks:
    def __init__(self, redis: Any, *, prefix: str = "hub:oauth:refresh:", ttl_ms: int = 30000) -> None:
        self.redis = redis
        self.prefix = prefix
        self.ttl_ms = ttl_ms
        self._release = redis.register_script(_RELEASE)
        self._extend = redis.register_script(_EXTEND)
        self._releasing: dict[str, asyncio.Task[None]] = {}
        self._offset: timedelta | None = None  # Redis' clock minus this host's
        self._offset_sampled = 0.0
        self._sampling: asyncio.Future[None] | None = None

    @asynccontextmanager
    async def hold(self, name: str, *, wait_s: float = 30.0) -> AsyncIterator[bool]:
        """Yields True when the lock was free at once, False when we had to wait for a holder."""
        key = self.prefix + name
        deadline = asyncio.get_running_loop().time() + wait_s
        pending = self._releasing.get(key)
        if pending is not None:  # our own last hold of it: usually gone in a moment
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(pending), wait_s)
        token = secrets.token_hex(16)
        waited = False
        delay = 0.01
        while not await self.redis.set(key, token, nx=True, px=self.ttl_ms):
            waited = True
            if asyncio.get_running_loop().time() > deadline:
                raise LockTimeout(name)
            await asyncio.sleep(delay)
            delay = min(delay * 1.5, 0.1)
        keeper = asyncio.create_task(self._keep(key, token), name=f"lock-keeper:{name}")
        try:
            yield not waited
        finally:
            keeper.cancel()
            release = asyncio.create_task(self._let_go(key, token, keeper), name=f"lock-release:{name}")
            self._releasing[key] = release
            release.add_done_callback(lambda done: self._forget(key, done))

    async def now(self) -> datetime:
        """Redis' clock: every replica compares refresh times on this one clock, not its own.

        Read as this host's clock plus an offset to Redis' sampled every CLOCK_SAMPLE_S (a
        round trip per call would take a connection per caller in a burst); the sample is off
        by at most half a round trip."""
        loop = asyncio.get_running_loop()
        if self._offset is None or loop.time() - self._offset_sampled > CLOCK_SAMPLE_S:
            if self._sampling is None:
                self._sampling = asyncio.ensure_future(self._sample_offset())
            sampling = self._sampling
            try:
                await asyncio.shield(sampling)
            finally:
                if self._sampling is sampling and sampling.done():
                    self._sampling = None
        assert self._offset is not None
        return datetime.now(UTC) + self._offset

    async def _sample_offset(self) -> None:
        sent = time.time()
        seconds, micros = await self.redis.time()
        received = time.time()
        redis_now = int(seconds) + int(micros) / 1e6
        self._offset = timedelta(seconds=redis_now - (sent + received) / 2)
        self._offset_sampled = asyncio.get_running_loop().time()

    async def aclose(self) -> None:
        """Send the releases still pending (at shutdown); each is bounded by RELEASE_TIMEOUT_S."""
        while self._releasing:
            await asyncio.gather(*self._releasing.values(), return_exceptions=True)

    async def _let_go(self, key: str, token: str, keeper: asyncio.Task[None]) -> None:
        await asyncio.wait([keeper])  # the keeper's own cancellation is not ours to swallow
        try:
            # Bounded: a Redis that stopped answering must not hold up the next hold or shutdown.
            await asyncio.wait_for(self._release(keys=[key], args=[token]), RELEASE_TIMEOUT_S)
        except Exception as exc:  # it expires after the TTL; a waiter waits until then
            log.warning("refresh lock not released", extra={"error": type(exc).__name__})

    def _forget(self, key: str, done: asyncio.Task[None]) -> None:
        if self._releasing.get(key) is done:
            del self._releasing[key]

    async def _keep(self, key: str, token: str) -> None:
        while True:
            await asyncio.sleep(self.ttl_ms / 3000)
            try:
                if not await self._extend(keys=[key], args=[token, self.ttl_ms]):
                    return  # not ours any more (it expired while Redis was unreachable)
            except Exception as exc:  # Redis trouble: the next round tries again
                log.warning("refresh lock not extended", extra={"error": type(exc).__name__})
