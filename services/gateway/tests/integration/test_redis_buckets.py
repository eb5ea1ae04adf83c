"""The Lua scripts against real Redis: atomic leases over two buckets, refunds, Redis's clock."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from redis.asyncio import Redis

from hub_gateway.adapters.redis_buckets import RedisBuckets, bucket_keys
from hub_gateway.domain.tiers import Quota

pytestmark = pytest.mark.integration


@pytest.fixture
async def redis(redis_url):
    client = Redis.from_url(redis_url)
    yield client
    await client.aclose()


async def test_concurrent_leases_never_exceed_the_burst(redis):
    buckets = RedisBuckets(redis)
    keys = bucket_keys(f"t-{uuid.uuid4().hex}", str(uuid.uuid4()))
    quotas = (Quota(rate=0.001, burst=100), Quota(rate=0.001, burst=1000))
    leases = await asyncio.gather(*(buckets.take(keys, quotas, 7) for _ in range(50)))
    assert sum(lease.granted for lease in leases) == 100
    assert max(lease.granted for lease in leases) == 7
    refused = [lease for lease in leases if lease.granted == 0]
    assert refused and refused[0].retry_after_us > 0
    assert refused[0].buckets[0].remaining == 0 and refused[0].buckets[1].remaining == 900
    stored = await redis.get(keys[0])
    assert b"e" not in stored.lower() and int(stored) > 1_700_000_000_000_000  # µs, no exponent


async def test_the_tighter_bucket_decides_and_refunds_give_back(redis):
    buckets = RedisBuckets(redis)
    tenant = f"t-{uuid.uuid4().hex}"
    quotas = (Quota(rate=0.001, burst=100), Quota(rate=0.001, burst=5))
    first = bucket_keys(tenant, "c1")
    lease = await buckets.take(first, quotas, 10)
    assert lease.granted == 5 and lease.buckets[1].remaining == 0
    other = await buckets.take(bucket_keys(tenant, "c2"), quotas, 1)
    assert other.granted == 0 and other.buckets[1].remaining == 0 and other.buckets[0].remaining == 100
    await buckets.refund(first, quotas, 3)
    again = await buckets.take(bucket_keys(tenant, "c2"), quotas, 10)
    assert again.granted == 3


async def test_looking_takes_nothing(redis):
    buckets = RedisBuckets(redis)
    keys = bucket_keys(f"t-{uuid.uuid4().hex}", "c")
    quotas = (Quota(rate=1, burst=10), Quota(rate=1, burst=10))
    look = await buckets.take(keys, quotas, 0)
    assert look.granted == 0 and look.buckets[0].remaining == 10
    assert await redis.exists(keys[0]) == 0
