"""The quota limiter against an in-memory stand-in of the Redis buckets (same GCRA arithmetic;
the Lua script itself is tested against real Redis in tests/integration/test_redis_buckets.py)."""

from __future__ import annotations

import asyncio
import time

import pytest

from hub_gateway.adapters.redis_buckets import BucketState, Lease, bucket_keys
from hub_gateway.domain import gcra
from hub_gateway.domain.errors import RateLimited
from hub_gateway.domain.tiers import Quota, TierQuotas
from hub_gateway.services.limiter import QuotaLimiter

pytestmark = pytest.mark.unit


class Clock:
    """The limiter's monotonic clock, moved by the test: lease expiry without waiting."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class MemoryBuckets:
    def __init__(self) -> None:
        self.tats: dict[str, int] = {}
        self.calls = 0
        self.fail = False

    async def take(self, keys, quotas, wanted):
        self.calls += 1
        await asyncio.sleep(0)
        if self.fail:
            raise ConnectionError("redis down")
        now = int(time.time() * 1e6)
        grants = [
            gcra.take(self.tats.get(k, 0), now, q.interval_us, q.burst, wanted)[1]
            for k, q in zip(keys, quotas, strict=True)
        ]
        granted = min(g.granted for g in grants)
        states = []
        for k, q in zip(keys, quotas, strict=True):
            if granted:
                self.tats[k], g = gcra.take(self.tats.get(k, 0), now, q.interval_us, q.burst, granted)
            else:
                _, g = gcra.take(self.tats.get(k, 0), now, q.interval_us, q.burst, 0)
            states.append(BucketState(g.remaining, g.reset_us))
        retry = max((g.retry_after_us for g in grants if g.granted == 0), default=0)
        return Lease(granted, retry, tuple(states))

    refunds = 0

    async def refund(self, keys, quotas, unused):
        self.refunds += 1
        now = int(time.time() * 1e6)
        for k, q in zip(keys, quotas, strict=True):
            self.tats[k] = gcra.refund(self.tats.get(k, 0), now, q.interval_us, unused)


def quotas(conn_burst=10, tenant_burst=1000, rate=0.001):
    return TierQuotas(
        connection=Quota(rate=rate, burst=conn_burst), tenant=Quota(rate=rate, burst=tenant_burst)
    )


async def accept_count(limiters, n, q, conn="c1", tenant="t1"):
    async def one(i):
        try:
            await limiters[i % len(limiters)].acquire(tenant, conn, q)
            return True
        except RateLimited:
            return False

    return sum(await asyncio.gather(*(one(i) for i in range(n))))


async def test_replicas_sharing_buckets_never_overshoot():
    shared = MemoryBuckets()
    replicas = [QuotaLimiter(shared, lease_max=64, lease_ttl_s=0.5) for _ in range(3)]
    assert await accept_count(replicas, 300, quotas(conn_burst=100)) == 100


async def test_small_quotas_are_exact_per_request():
    shared = MemoryBuckets()
    limiter = QuotaLimiter(shared, lease_max=64, lease_ttl_s=0.5)
    assert await accept_count([limiter], 30, quotas(conn_burst=7)) == 7


async def test_leases_grow_under_load_so_redis_is_not_per_request():
    shared = MemoryBuckets()
    limiter = QuotaLimiter(shared, lease_max=64, lease_ttl_s=5)
    q = quotas(conn_burst=100_000, tenant_burst=100_000, rate=100_000)
    for _ in range(2000):
        await limiter.acquire("t", "c", q)
    assert shared.calls < 50  # 1, 2, 4, ... 64 per lease


async def test_refusal_is_cached_until_a_token_exists_and_carries_headers():
    shared = MemoryBuckets()
    limiter = QuotaLimiter(shared, lease_max=64, lease_ttl_s=0.5)
    q = quotas(conn_burst=2, rate=0.5)
    await limiter.acquire("t", "c", q)
    await limiter.acquire("t", "c", q)
    with pytest.raises(RateLimited) as first:
        await limiter.acquire("t", "c", q)
    calls = shared.calls
    for _ in range(20):
        with pytest.raises(RateLimited):
            await limiter.acquire("t", "c", q)
    assert shared.calls == calls
    h = first.value.headers
    assert h["Retry-After"] == "2" and h["RateLimit-Limit"] == "2" and h["RateLimit-Remaining"] == "0"
    assert first.value.details["scope"] == "connection"


async def test_tenant_bucket_limits_across_connections():
    shared = MemoryBuckets()
    limiter = QuotaLimiter(shared, lease_max=64, lease_ttl_s=0.5)
    q = quotas(conn_burst=100, tenant_burst=5)
    accepted = 0
    for conn in ("a", "b", "c"):
        accepted += await accept_count([limiter], 10, q, conn=conn)
    assert accepted == 5
    with pytest.raises(RateLimited) as err:
        await limiter.acquire("t1", "d", q)
    assert err.value.details["scope"] == "tenant"


async def test_unused_lease_is_refunded():
    shared = MemoryBuckets()
    clock = Clock()
    limiter = QuotaLimiter(shared, lease_max=64, lease_ttl_s=0.2, clock=clock)
    q = quotas(conn_burst=16_000, tenant_burst=16_000, rate=0.001)
    for _ in range(7):  # leases 1, 2, 4 -> holding some unused tokens now
        await limiter.acquire("t", "c", q)
    clock.now += 0.25
    await limiter.acquire("t", "c", q)  # renewal refunds what the just-expired lease did not use
    await limiter.close()
    used = 8
    held = limiter._states[("t", "c")].tokens
    now = int(time.time() * 1e6)
    tat = shared.tats["gw:rl:{t}:c:c"]
    assert round((tat - now) / q.connection.interval_us) == used + held


async def test_redis_down_falls_back_to_a_local_bucket():
    shared = MemoryBuckets()
    shared.fail = True
    limiter = QuotaLimiter(shared, lease_max=64, lease_ttl_s=0.5)
    assert await accept_count([limiter], 20, quotas(conn_burst=5)) == 5


async def test_redis_down_still_holds_the_tenant_quota_across_its_connections():
    shared = MemoryBuckets()
    shared.fail = True
    limiter = QuotaLimiter(shared, lease_max=64, lease_ttl_s=0.5)
    q = quotas(conn_burst=100, tenant_burst=40)
    accepted = 0
    for n in range(10):  # ten connections of one tenant, 20 calls each
        accepted += await accept_count([limiter], 20, q, conn=f"c{n}")
    # Never more than the tenant's 40 (it was 200 with a tenant bucket per connection); a few
    # less, because tokens leased to a connection and not used are spent from the tenant's too.
    assert 30 <= accepted <= 40
    # Another tenant has its own.
    assert await accept_count([limiter], 20, q, conn="c0", tenant="t2") == 20


def test_gcra_arithmetic():
    tat, g = gcra.take(0, 1_000_000, 100_000, 3, 5)
    assert (g.granted, g.remaining) == (3, 0)
    _, denied = gcra.take(tat, 1_000_000, 100_000, 3, 1)
    assert denied.granted == 0 and denied.retry_after_us == 100_000
    tat2, g2 = gcra.take(tat, 1_100_000, 100_000, 3, 1)
    assert g2.granted == 1
    assert gcra.refund(tat2, 1_100_000, 100_000, 10) == 1_100_000


async def test_take_leased_spends_only_what_a_lease_holds():
    shared = MemoryBuckets()
    limiter = QuotaLimiter(shared, lease_max=64, lease_ttl_s=0.5)
    q = quotas(conn_burst=800, tenant_burst=800)
    assert not limiter.take_leased("t1", "c1", q)  # nothing leased yet: acquire() must decide
    for _ in range(20):  # leases grow while they run out early
        if not limiter.take_leased("t1", "c1", q):
            await limiter.acquire("t1", "c1", q)
    calls = shared.calls
    taken = 0
    while limiter.take_leased("t1", "c1", q):
        taken += 1
    assert taken > 0 and shared.calls == calls  # spent from memory, no Redis round trip
    await limiter.close()
    # Every token spent came out of the shared bucket, and nothing more.
    left = await shared.take(bucket_keys("t1", "c1"), (q.connection, q.tenant), 0)
    assert left.buckets[0].remaining == 800 - 20 - taken


def _tat_tokens(shared, q, now_us: int) -> int:
    return round((shared.tats["gw:rl:{t}:c:c"] - now_us) / q.connection.interval_us)


async def test_a_lease_expired_long_ago_is_not_refunded():
    """The shared bucket may have refilled since: a late refund could let the fleet go over."""
    shared = MemoryBuckets()
    clock = Clock()
    limiter = QuotaLimiter(shared, lease_max=64, lease_ttl_s=0.05, clock=clock)
    q = quotas(conn_burst=16_000, tenant_burst=16_000, rate=0.001)
    for _ in range(7):  # leases 1, 2, 4: some tokens unused
        await limiter.acquire("t", "c", q)
    before = shared.tats["gw:rl:{t}:c:c"]
    clock.now += 0.15  # past expiry plus a TTL
    await limiter.acquire("t", "c", q)
    await limiter.close()
    held = limiter._states[("t", "c")].tokens
    assert shared.tats["gw:rl:{t}:c:c"] == before + (held + 1) * q.connection.interval_us


async def test_tokens_of_a_local_fallback_are_not_refunded_to_redis():
    shared = MemoryBuckets()
    limiter = QuotaLimiter(shared, lease_max=64, lease_ttl_s=0.5)
    q = quotas(conn_burst=16_000, tenant_burst=16_000, rate=0.001)
    shared.fail = True
    for _ in range(8):  # leases 1, 2, 4, 8 from the local bucket while Redis is down
        await limiter.acquire("t", "c", q)
    shared.fail = False
    state = limiter._states[("t", "c")]
    assert state.tokens > 0 and state.local_lease
    # Still live: a call of another tier on the connection gives the lease back (to nowhere).
    limiter.take_leased("t", "c", quotas(conn_burst=32_000, tenant_burst=32_000, rate=0.001))
    await limiter.close()
    assert shared.refunds == 0


async def test_a_tier_switch_gives_the_held_lease_back():
    shared = MemoryBuckets()
    limiter = QuotaLimiter(shared, lease_max=64, lease_ttl_s=0.5)
    teams = quotas(conn_burst=16_000, tenant_burst=16_000, rate=0.001)
    enterprise = quotas(conn_burst=32_000, tenant_burst=32_000, rate=0.001)
    for _ in range(8):  # leases 1, 2, 4, 8: seven tokens held
        await limiter.acquire("t", "c", teams)
    held = limiter._states[("t", "c")].tokens
    assert held > 0
    limiter.take_leased("t", "c", enterprise)  # another tier's call on the same connection
    await limiter.close()
    assert shared.refunds == 1
