"""Each subscription's ``max_concurrency`` and ``rate_limit``, held by every replica together.

A subscriber that asked for 4 pushes at once and 10 a second gets that from the whole deployment,
not from each dispatcher process: the slots are a Redis semaphore (a replica that dies holding
one gives it back when its lease runs out), the pace a GCRA bucket in Redis
(``hub_common.redis_limits``). Both keys of a subscription share a hash tag (one Cluster slot).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from hub_common.redis_limits import RedisBuckets, RedisSemaphore
from hub_webhooks.domain.subscription import Subscription

BUSY_RECHECK_S = 0.05  # every slot is held elsewhere: when one frees is not known, look again soon


@dataclass(frozen=True, slots=True)
class _Pace:
    rate: int  # pushes per second, bursts up to as many

    @property
    def interval_us(self) -> int:
        return max(1, round(1_000_000 / self.rate))

    @property
    def burst(self) -> int:
        return self.rate


@dataclass(frozen=True, slots=True)
class Admission:
    slot: str | None  # the held slot's token; None when refused
    wait_s: float = 0.0  # refused: when to look again


def _keys(subscription_id: UUID) -> tuple[str, str]:
    tag = "{" + str(subscription_id) + "}"
    return f"wh:sub:{tag}:slots", f"wh:sub:{tag}:pace"


class SubscriptionLimits:
    def __init__(self, redis: Any, *, lease_s: float) -> None:
        self._slots = RedisSemaphore(redis, lease_s=lease_s)
        self._buckets = RedisBuckets(redis)

    async def admit(self, sub: Subscription) -> Admission:
        """A slot, and a token of the subscription's pace: both, or neither."""
        slots, pace = _keys(sub.id)
        slot = await self._slots.acquire(slots, sub.max_concurrency)
        if slot is None:
            return Admission(None, BUSY_RECHECK_S)
        if sub.rate_limit:
            lease = await self._buckets.take([pace], [_Pace(sub.rate_limit)], 1)
            if lease.granted == 0:
                await self._slots.release(slots, slot)
                return Admission(None, max(lease.retry_after_us / 1_000_000, 0.001))
        return Admission(slot)

    async def release(self, subscription_id: UUID, slot: str) -> None:
        await self._slots.release(_keys(subscription_id)[0], slot)
