"""Providers' own budgets: throttle before the provider says 429.

After every provider answer its rate-limit headers are parsed (pure, in
:mod:`hub_gateway.domain.provider_limits`). When a budget is spent, the connection is *blocked*
until the provider's reset: calls are answered 429 ``provider_rate_limited`` locally instead of
spending a request. Blocks are shared:

* in Redis, a hash per connection (``gw:pb:<id>``: scope → block), expiring with its last block,
  read when a replica first resolves the connection;
* on the replicas' bus (Redis pub/sub), so replicas that already hold the connection learn of
  it within milliseconds.

Both writes happen in the background: the answer that revealed the block is not delayed.
The latest snapshot per (connection, budget) is kept for ``GET /v1/connections/{id}/rate-limit``
and flushed to Postgres in batches (``gateway.rate_limits``) by :class:`SnapshotWriter`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import asyncpg

from hub_common import jsonutil
from hub_common.background import BackgroundTask, every
from hub_common.db import Database
from hub_gateway.adapters.bus import Bus
from hub_gateway.domain.errors import ProviderRateLimited
from hub_gateway.domain.provider_limits import Block, ProviderLimit
from hub_gateway.repositories import rate_limits

log = logging.getLogger(__name__)
BUS_KIND = "provider_block"


def _key(connection_id: uuid.UUID) -> str:
    return f"gw:pb:{connection_id}"


def block_to_json(block: Block) -> dict[str, Any]:
    return {"until": block.until, "scope": block.scope, "path_prefix": block.path_prefix}


def block_from_json(data: dict[str, Any]) -> Block:
    return Block(float(data["until"]), str(data["scope"]), data.get("path_prefix"))


class ProviderBudgets:
    def __init__(self, redis: Any | None, bus: Bus | None, *, clock: Callable[[], float] = time.time) -> None:
        self._redis = redis
        self._bus = bus
        self._clock = clock
        self._blocks: dict[uuid.UUID, dict[str, Block]] = {}
        self._background: set[asyncio.Task[None]] = set()
        if bus is not None:
            bus.on(BUS_KIND, self._on_bus)

    def check(
        self,
        connection_id: uuid.UUID,
        provider_path: str,
        limit: ProviderLimit | None = None,
        *,
        wait_up_to: float = 0.0,
    ) -> float:
        """Raise ``provider_rate_limited`` while a block covers this call.

        A block that ends within ``wait_up_to`` seconds is not refused: its remaining seconds are
        returned for the caller to wait out, as the gateway waits out a short Retry-After it
        receives itself (otherwise whichever call met the provider's 529 first decides who fails).
        """
        blocks = self._blocks.get(connection_id)
        if not blocks:
            return 0.0
        now = self._clock()
        active = [b for b in blocks.values() if b.until > now]
        if len(active) != len(blocks):
            if active:
                self._blocks[connection_id] = {b.scope: b for b in active}
            else:
                del self._blocks[connection_id]
        covering = [b for b in active if b.covers(provider_path)]
        if not covering:
            return 0.0
        block = max(covering, key=lambda b: b.until)
        if block.until - now <= wait_up_to:
            return block.until - now
        retry = max(1, math.ceil(block.until - now))
        raise ProviderRateLimited(
            f"the provider's rate limit for this connection is used up; it resets in {retry} s",
            details={"scope": block.scope, "retry_after_s": retry, "reset_at": block.until},
            headers={"Retry-After": str(retry), "RateLimit-Remaining": "0", "RateLimit-Reset": str(retry)},
        )

    def record(self, connection_id: uuid.UUID, blocks: list[Block]) -> None:
        if not blocks:
            return
        self._merge(connection_id, blocks)
        if self._redis is not None:
            self._spawn(self._share(connection_id, blocks))

    def _merge(self, connection_id: uuid.UUID, blocks: list[Block]) -> None:
        current = self._blocks.setdefault(connection_id, {})
        for block in blocks:
            known = current.get(block.scope)
            if known is None or block.until > known.until or known.until <= self._clock():
                current[block.scope] = block

    async def _share(self, connection_id: uuid.UUID, blocks: list[Block]) -> None:
        assert self._redis is not None
        try:
            key = _key(connection_id)
            mapping = {b.scope: jsonutil.dumps(block_to_json(b)) for b in blocks}
            async with self._redis.pipeline(transaction=False) as pipe:
                pipe.hset(key, mapping=mapping)
                pipe.pexpireat(key, int(max(b.until for b in blocks) * 1000) + 1000, gt=True)
                pipe.pexpireat(key, int(max(b.until for b in blocks) * 1000) + 1000, nx=True)
                await pipe.execute()
            if self._bus is not None:
                await self._bus.publish(
                    BUS_KIND, connection_id=str(connection_id), blocks=[block_to_json(b) for b in blocks]
                )
        except Exception as exc:
            log.warning("provider block not shared", extra={"error": type(exc).__name__})

    def _on_bus(self, data: dict[str, Any]) -> None:
        self._merge(uuid.UUID(data["connection_id"]), [block_from_json(b) for b in data["blocks"]])

    async def load(self, connection_id: uuid.UUID) -> None:
        """Blocks other replicas recorded before this one knew the connection."""
        if self._redis is None:
            return
        try:
            raw = await self._redis.hgetall(_key(connection_id))
        except Exception as exc:
            log.warning("provider blocks not loaded", extra={"error": type(exc).__name__})
            return
        blocks = [block_from_json(jsonutil.loads(v)) for v in raw.values()]
        now = self._clock()
        self._merge(connection_id, [b for b in blocks if b.until > now])

    def active(self, connection_id: uuid.UUID) -> list[Block]:
        now = self._clock()
        return [b for b in self._blocks.get(connection_id, {}).values() if b.until > now]

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def close(self) -> None:
        if self._background:
            await asyncio.gather(*self._background, return_exceptions=True)


@dataclass(frozen=True, slots=True)
class Snapshot:
    connection_id: uuid.UUID
    tenant_id: str
    connector_id: str
    limit: ProviderLimit
    observed_at: float


class SnapshotWriter:
    """Latest provider budgets per (connection, budget), upserted in batches off the hot path."""

    def __init__(self, db: Database | None, *, flush_interval_s: float, max_pending: int = 50_000) -> None:
        self._db = db
        self._flush_interval_s = flush_interval_s
        self._max_pending = max_pending
        self._pending: dict[tuple[uuid.UUID, str], Snapshot] = {}
        self._flusher = BackgroundTask("gateway-snapshots")

    def record(
        self,
        connection_id: uuid.UUID,
        tenant_id: str,
        connector_id: str,
        limits: tuple[ProviderLimit, ...],
        now: float,
    ) -> None:
        for limit in limits:
            key = (connection_id, limit.api_name)
            if key in self._pending or len(self._pending) < self._max_pending:
                self._pending[key] = Snapshot(connection_id, tenant_id, connector_id, limit, now)

    def pending_for(self, connection_id: uuid.UUID) -> list[Snapshot]:
        return [s for (cid, _), s in self._pending.items() if cid == connection_id]

    async def start(self) -> None:
        self._flusher.start(
            every(self._flush_interval_s, self.flush, what="rate-limit snapshots not persisted", logger=log)
        )

    async def stop(self) -> None:
        await self._flusher.stop()
        with contextlib.suppress(Exception):
            await self.flush()

    async def flush(self) -> int:
        if not self._pending or self._db is None:
            return 0
        batch, self._pending = list(self._pending.values()), {}
        try:
            async with self._db.connection() as conn:
                await rate_limits.upsert_many(conn, batch)
        except (asyncpg.DataError, ValueError, OverflowError):
            # A value the table cannot hold would fail every retry and hold back every other
            # tenant's snapshots: this batch is dropped (the next answers bring fresh ones).
            log.warning("rate-limit snapshots dropped: a value does not fit", extra={"count": len(batch)})
            return 0
        except Exception:
            for snap in batch:  # keep the newest for the next attempt
                self._pending.setdefault((snap.connection_id, snap.limit.api_name), snap)
            raise
        return len(batch)
