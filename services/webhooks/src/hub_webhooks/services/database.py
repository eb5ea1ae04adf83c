"""Access to the service's pool, resolved lazily (the pool exists only after start)."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import asyncpg


class Database:
    def __init__(self, pool: Callable[[], asyncpg.Pool]) -> None:
        self._pool = pool

    def connection(self) -> AbstractAsyncContextManager[Any]:
        acquired: AbstractAsyncContextManager[Any] = self._pool().acquire()
        return acquired

    @property
    def pool(self) -> asyncpg.Pool:
        return self._pool()
