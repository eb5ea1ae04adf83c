"""The refresh lock on the real Redis: exclusive, extended while held, released after."""

from __future__ import annotations

import asyncio
import uuid

import pytest
import redis.asyncio as aioredis

from hub_oauth.adapters.locks import LockTimeout, RedisLocks

pytestmark = pytest.mark.integration


@pytest.fixture
async def redis_client(redis_url):
    client = aioredis.from_url(redis_url)
    yield client
    await client.aclose()


async def test_a_lock_held_longer_than_its_ttl_stays_held(redis_client):
    locks = RedisLocks(redis_client, prefix=f"test:{uuid.uuid4()}:", ttl_ms=300)
    held = asyncio.Event()
    done = asyncio.Event()

    async def slow_holder() -> None:
        async with locks.hold("c1"):
            held.set()
            await asyncio.sleep(1.2)  # four TTLs: a refresh retrying against a slow provider
        done.set()

    task = asyncio.create_task(slow_holder())
    await held.wait()
    with pytest.raises(LockTimeout):
        async with locks.hold("c1", wait_s=0.9):
            pass
    assert not done.is_set()
    await task
    async with locks.hold("c1", wait_s=0.5) as free_at_once:  # released at the end
        assert free_at_once


async def test_a_dead_holders_lock_expires_after_its_ttl(redis_client):
    locks = RedisLocks(redis_client, prefix=f"test:{uuid.uuid4()}:", ttl_ms=300)
    await redis_client.set(locks.prefix + "c1", "someone-who-crashed", px=300)
    async with locks.hold("c1", wait_s=2) as free_at_once:
        assert not free_at_once
