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


async def test_a_release_goes_out_after_the_block_and_aclose_sends_what_is_pending(redis_client):
    locks = RedisLocks(redis_client, prefix=f"test:{uuid.uuid4()}:", ttl_ms=30000)
    other_replica = RedisLocks(redis_client, prefix=locks.prefix, ttl_ms=30000)
    async with locks.hold("c1"):
        assert await redis_client.exists(locks.prefix + "c1")
    await locks.aclose()
    assert not await redis_client.exists(locks.prefix + "c1")
    async with other_replica.hold("c1", wait_s=0.5) as free_at_once:
        assert free_at_once


async def test_a_holders_block_ending_frees_the_lock_for_its_own_process_at_once(redis_client):
    locks = RedisLocks(redis_client, prefix=f"test:{uuid.uuid4()}:", ttl_ms=30000)
    for _ in range(20):  # each hold waits for the previous one's release, not for a poll
        async with locks.hold("c1", wait_s=0.5) as free_at_once:
            assert free_at_once
    await locks.aclose()
