"""Limits shared by a service's replicas through Redis: token buckets and counting semaphores.

**Token buckets** (GCRA): one Lua script takes a *lease* of up to N tokens from one or more
buckets atomically (all or nothing per token: the grant is the minimum any bucket allows). State
is one key per bucket holding its TAT in µs; the clock is Redis's own ``TIME``, so the replicas'
clocks never matter. Lua numbers are doubles: µs since 1970 (~1.8e15) are exact below 2^53, and
values are written with ``%.0f`` so they never turn into exponent notation. Keys that one script
touches together must share a Redis Cluster hash tag (the caller names them).

**Semaphores**: a sorted set of holders scored by when their lease runs out, so a replica that
dies holding a slot gives it back after ``lease_s`` instead of never.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

TAKE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local wanted = tonumber(ARGV[1])
local n = #KEYS
local tats = {}
local granted = wanted
local retry = 0
for i = 1, n do
  local interval = tonumber(ARGV[2 * i])
  local burst = tonumber(ARGV[2 * i + 1])
  local tat = tonumber(redis.call('GET', KEYS[i]) or now)
  if tat < now then tat = now end
  tats[i] = tat
  local available = math.floor((burst * interval - (tat - now)) / interval)
  if available < granted then granted = available end
  if available < 1 then
    local wait = tat - now - (burst - 1) * interval
    if wait > retry then retry = wait end
  end
end
if granted < 1 then granted = 0 end
local out = {granted, retry}
for i = 1, n do
  local interval = tonumber(ARGV[2 * i])
  local burst = tonumber(ARGV[2 * i + 1])
  local tat = tats[i]
  if granted > 0 then
    tat = tat + granted * interval
    redis.call('SET', KEYS[i], string.format('%.0f', tat), 'PX', math.ceil((tat - now) / 1000) + 1000)
  end
  out[#out + 1] = math.floor((burst * interval - (tat - now)) / interval)
  out[#out + 1] = tat - now
end
return out
"""

REFUND = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local unused = tonumber(ARGV[1])
for i = 1, #KEYS do
  local tat = tonumber(redis.call('GET', KEYS[i]))
  if tat then
    local back = tat - unused * tonumber(ARGV[1 + i])
    if back < now then back = now end
    if back <= now then
      redis.call('DEL', KEYS[i])
    else
      redis.call('SET', KEYS[i], string.format('%.0f', back), 'PX', math.ceil((back - now) / 1000) + 1000)
    end
  end
end
return 1
"""


ACQUIRE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then
  return 0
end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[2])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[3]) + 1000)
return 1
"""


class BucketQuota(Protocol):
    """A bucket's shape: ``burst`` tokens at once, one more every ``interval_us``."""

    @property
    def interval_us(self) -> int: ...
    @property
    def burst(self) -> int: ...


@dataclass(frozen=True, slots=True)
class BucketState:
    remaining: int
    reset_us: int  # until full again


@dataclass(frozen=True, slots=True)
class Lease:
    granted: int
    retry_after_us: int
    buckets: tuple[BucketState, ...]


class RedisBuckets:
    def __init__(self, redis: Any) -> None:
        self._take = redis.register_script(TAKE)
        self._refund = redis.register_script(REFUND)

    async def take(self, keys: Sequence[str], quotas: Sequence[BucketQuota], wanted: int) -> Lease:
        args: list[int] = [wanted]
        for quota in quotas:
            args += [quota.interval_us, quota.burst]
        raw = await self._take(keys=list(keys), args=args)
        values = [int(v) for v in raw]
        buckets = tuple(BucketState(values[i], values[i + 1]) for i in range(2, len(values), 2))
        return Lease(values[0], values[1], buckets)

    async def refund(self, keys: Sequence[str], quotas: Sequence[BucketQuota], unused: int) -> None:
        await self._refund(keys=list(keys), args=[unused, *(q.interval_us for q in quotas)])


class RedisSemaphore:
    """At most ``limit`` holders of ``key`` across every replica; a holder's slot expires after
    ``lease_s`` (longer than anything a holder does) if it is never released."""

    def __init__(self, redis: Any, *, lease_s: float) -> None:
        self._redis = redis
        self._acquire = redis.register_script(ACQUIRE)
        self._lease_ms = max(1, int(lease_s * 1000))

    async def acquire(self, key: str, limit: int) -> str | None:
        """A holder token when a slot was free, else None."""
        token = uuid.uuid4().hex
        got = await self._acquire(keys=[key], args=[limit, token, self._lease_ms])
        return token if int(got) == 1 else None

    async def release(self, key: str, token: str) -> None:
        await self._redis.zrem(key, token)
