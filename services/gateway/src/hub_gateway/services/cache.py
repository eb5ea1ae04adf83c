"""A bounded in-memory TTL cache with single-flight loading and race-free invalidation.

* bounded: least recently *inserted* entries go first (an ``OrderedDict``; reads don't reorder,
  which keeps a hit at one dict lookup);
* single flight: concurrent misses of one key share one load;
* invalidation wins races: each key has a generation, bumped by ``invalidate``; a load that
  started before an invalidation still answers the callers already waiting on it but is neither
  stored nor joined by later callers, so a value fetched just before a disconnect can never be
  served after it;
* ``trusted``: a callable saying whether invalidation events are flowing; while they are not,
  every read is a miss (the cache cannot promise the 1-second bound without its events).
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class TtlCache(Generic[K, V]):
    def __init__(
        self,
        *,
        ttl_s: float,
        max_entries: int,
        trusted: Callable[[], bool] = lambda: True,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl_s = ttl_s
        self.max_entries = max_entries
        self._trusted = trusted
        self._clock = clock
        self._entries: OrderedDict[K, tuple[float, V]] = OrderedDict()
        self._generations: OrderedDict[K, int] = OrderedDict()
        self._loading: dict[K, asyncio.Future[V]] = {}
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._entries)

    def peek(self, key: K) -> V | None:
        """The cached value if fresh and trusted, else None (counts a hit, never a miss)."""
        entry = self._entries.get(key)
        if entry is None or entry[0] < self._clock() or not self._trusted():
            return None
        self.hits += 1
        return entry[1]

    async def get(self, key: K, load: Callable[[], Awaitable[V]]) -> V:
        entry = self._entries.get(key)
        if entry is not None and entry[0] >= self._clock() and self._trusted():
            self.hits += 1
            return entry[1]
        self.misses += 1
        pending = self._loading.get(key)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[V] = asyncio.get_running_loop().create_future()
        self._loading[key] = future
        generation = self._generations.get(key, 0)
        try:
            value = await load()
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: joiners get it through shield
            raise
        finally:
            if self._loading.get(key) is future:  # an invalidation may have let a newer load in
                del self._loading[key]
        if self._generations.get(key, 0) == generation:
            self._store(key, value)
        future.set_result(value)
        return value

    def _store(self, key: K, value: V) -> None:
        self._entries[key] = (self._clock() + self.ttl_s, value)
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    def invalidate(self, key: K) -> bool:
        # A load already running was started before this: callers from now on start their own
        # instead of joining it (it still answers those who were waiting).
        self._loading.pop(key, None)
        self._generations[key] = self._generations.get(key, 0) + 1
        self._generations.move_to_end(key)
        while len(self._generations) > self.max_entries * 4:
            self._generations.popitem(last=False)
        return self._entries.pop(key, None) is not None

    def clear(self) -> None:
        for key in list(self._entries):
            self.invalidate(key)
