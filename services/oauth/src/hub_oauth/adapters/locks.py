"""A Redis lock per connection, so exactly one replica refreshes a token at a time.

``SET key token NX PX ttl`` to take it, a Lua compare-and-delete to release it (never another
holder's lock), and a bounded wait for whoever holds it. While held, the lock is extended every
third of its TTL (compare-and-pexpire), so a refresh slower than the TTL (retries, a slow
provider) keeps it; a holder that dies stops extending and the lock expires after the TTL.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
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


class LockTimeout(Exception):
    pass


class RedisLocks:
    def __init__(self, redis: Any, *, prefix: str = "hub:oauth:refresh:", ttl_ms: int = 30000) -> None:
        self.redis = redis
        self.prefix = prefix
        self.ttl_ms = ttl_ms
        self._release = redis.register_script(_RELEASE)
        self._extend = redis.register_script(_EXTEND)

    @asynccontextmanager
    async def hold(self, name: str, *, wait_s: float = 30.0) -> AsyncIterator[bool]:
        """Yields True when the lock was free at once, False when we had to wait for a holder."""
        key = self.prefix + name
        token = secrets.token_hex(16)
        waited = False
        deadline = asyncio.get_running_loop().time() + wait_s
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
            with contextlib.suppress(asyncio.CancelledError):
                await keeper
            await self._release(keys=[key], args=[token])

    async def _keep(self, key: str, token: str) -> None:
        while True:
            await asyncio.sleep(self.ttl_ms / 3000)
            try:
                if not await self._extend(keys=[key], args=[token, self.ttl_ms]):
                    return  # not ours any more (it expired while Redis was unreachable)
            except Exception as exc:  # Redis trouble: the next round tries again
                log.warning("refresh lock not extended", extra={"error": type(exc).__name__})
