"""The one unit of work every service uses (docs/adr/0027).

A use case (a service) opens ``async with db.transaction() as conn`` and hands ``conn`` to the
repositories it calls; repositories take a connection and never commit, so one use case is one
transaction whatever it touches. ``connection()`` is for reads and for statements that must not
wait for a surrounding transaction (an audit row that has to survive a rollback).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager

import asyncpg


class Database:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[asyncpg.Connection]:
        async with self.pool.acquire() as conn, conn.transaction():
            yield conn

    def connection(self) -> AbstractAsyncContextManager[asyncpg.Connection]:
        """A connection without a transaction (the pool's own context manager: no extra frame)."""
        acquired: AbstractAsyncContextManager[asyncpg.Connection] = self.pool.acquire()
        return acquired
