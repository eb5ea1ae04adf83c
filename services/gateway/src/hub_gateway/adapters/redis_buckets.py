"""Shared token buckets in Redis: one Lua script takes a *lease* of up to N tokens from one or
more buckets atomically (all or nothing per token: the grant is the minimum any bucket allows).

GCRA state is one key per bucket holding its TAT in µs; the clock is Redis's own ``TIME``, so the
replicas' clocks never matter. Keys share a hash tag per tenant (``{tenant}``), so a
connection's and its tenant's bucket live on one Redis Cluster slot and one script touches both.
Lua numbers are doubles: µs since 1970 (~1.8e15) are exact below 2^53, and values are written with
``%.0f`` so they never turn into exponent notation.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from hub_gateway.domain.tiers import Quota

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


@dataclass(frozen=True, slots=True)
class BucketState:
    remaining: int
    reset_us: int  # until full again


@dataclass(frozen=True, slots=True)
class Lease:
    granted: int
    retry_after_us: int
    buckets: tuple[BucketState, ...]


def bucket_keys(tenant_id: str, connection_id: str) -> tuple[str, str]:
    tag = "{" + tenant_id.replace("}", "_") + "}"
    return f"gw:rl:{tag}:c:{connection_id}", f"gw:rl:{tag}:t"


class RedisBuckets:
    def __init__(self, redis: Any) -> None:
        self._take = redis.register_script(TAKE)
        self._refund = redis.register_script(REFUND)

    async def take(self, keys: Sequence[str], quotas: Sequence[Quota], wanted: int) -> Lease:
        args: list[int] = [wanted]
        for quota in quotas:
            args += [quota.interval_us, quota.burst]
        raw = await self._take(keys=list(keys), args=args)
        values = [int(v) for v in raw]
        buckets = tuple(BucketState(values[i], values[i + 1]) for i in range(2, len(values), 2))
        return Lease(values[0], values[1], buckets)

    async def refund(self, keys: Sequence[str], quotas: Sequence[Quota], unused: int) -> None:
        await self._refund(keys=list(keys), args=[unused, *(q.interval_us for q in quotas)])
