"""services/cache.py: the TTL cache (bounded, single-flight loads, invalidation wins)."""

from __future__ import annotations

import asyncio

import pytest

from hub_gateway.services.cache import TtlCache

pytestmark = pytest.mark.unit


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def test_cache_ttl_bound_and_single_flight():
    clock = Clock()
    cache: TtlCache[str, int] = TtlCache(ttl_s=10, max_entries=2, clock=clock)
    loads = 0

    async def load() -> int:
        nonlocal loads
        loads += 1
        await asyncio.sleep(0.01)
        return loads

    assert await asyncio.gather(*(cache.get("a", load) for _ in range(5))) == [1] * 5
    assert loads == 1
    clock.now = 11
    assert await cache.get("a", load) == 2
    await cache.get("b", load)
    await cache.get("c", load)
    assert len(cache) == 2 and cache.peek("a") is None


async def test_invalidation_during_a_load_wins():
    cache: TtlCache[str, str] = TtlCache(ttl_s=60, max_entries=10)
    gate = asyncio.Event()

    async def slow() -> str:
        await gate.wait()
        return "active"

    pending = asyncio.create_task(cache.get("c", slow))
    await asyncio.sleep(0)
    cache.invalidate("c")  # e.g. integration.disconnected arrives while the lookup is in flight
    gate.set()
    assert await pending == "active"  # that caller gets its answer...
    assert cache.peek("c") is None  # ...but it is not cached


async def test_a_caller_after_an_invalidation_does_not_join_the_older_load():
    cache: TtlCache[str, str] = TtlCache(ttl_s=60, max_entries=10)
    old_gate, loads = asyncio.Event(), []

    async def old() -> str:
        loads.append("old")
        await old_gate.wait()
        return "OLD-credential"

    async def new() -> str:
        loads.append("new")
        return "NEW-credential"

    first = asyncio.create_task(cache.get("c", old))
    await asyncio.sleep(0)
    cache.invalidate("c")  # credential.changed while a slow vault read is in flight
    assert await cache.get("c", new) == "NEW-credential"  # a fresh load, not the old one's answer
    old_gate.set()
    assert await first == "OLD-credential"  # the caller that was already waiting gets its answer
    assert loads == ["old", "new"] and cache.peek("c") == "NEW-credential"


async def test_untrusted_cache_always_reloads():
    trusted = False
    cache: TtlCache[str, int] = TtlCache(ttl_s=60, max_entries=10, trusted=lambda: trusted)
    calls = 0

    async def load() -> int:
        nonlocal calls
        calls += 1
        return calls

    await cache.get("a", load)
    await cache.get("a", load)
    assert calls == 2
    trusted = True  # events flow again: the last load is served from memory
    await cache.get("a", load)
    await cache.get("a", load)
    assert calls == 2


async def test_failed_loads_are_not_cached_and_reach_joiners():
    cache: TtlCache[str, int] = TtlCache(ttl_s=60, max_entries=10)

    async def boom() -> int:
        await asyncio.sleep(0.01)
        raise RuntimeError("down")

    results = await asyncio.gather(*(cache.get("x", boom) for _ in range(3)), return_exceptions=True)
    assert all(isinstance(r, RuntimeError) for r in results)
    assert cache.peek("x") is None
