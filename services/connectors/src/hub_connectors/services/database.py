"""One request = one transaction: a thin handle on the pool for the use cases."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from uuid import UUID

import asyncpg

from hub_common.db.outbox import write_event
from hub_common.events import HubEvent
from hub_connectors.config import SCHEMA

EVENT_SOURCE = "/integration-hub/connectors"


class Database:
    def __init__(self, pool: Callable[[], asyncpg.Pool]) -> None:
        self._pool = pool

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[asyncpg.Connection]:
        async with self._pool().acquire() as conn, conn.transaction():
            yield conn

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[asyncpg.Connection]:
        async with self._pool().acquire() as conn:
            yield conn


async def publish(conn: asyncpg.Connection, event: HubEvent, *, event_id: UUID | None = None) -> str:
    """Stage an event in the outbox of the caller's transaction (relayed after commit)."""
    return await write_event(conn, event, source=EVENT_SOURCE, schema=SCHEMA, event_id=event_id)
