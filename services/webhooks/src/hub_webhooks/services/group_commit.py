"""Group commit for the intake: deliveries verified at the same moment share one statement and
one commit.

Each delivery must be durable before its 200, and one statement + commit per delivery is what
bounds the intake under load (docs/adr/0019). Here a delivery joins the queue; up to ``writers``
writers each take everything queued (at most ``max_batch``), write it in one statement, and
answer every delivery of the batch. Nothing waits for a batch to fill: when the intake is quiet a
batch is one delivery and costs what it did alone; under load, batches grow by themselves while
the previous statement is in flight.

A batch that Postgres refuses (a value it cannot store, an outage) is written again one delivery
at a time, so only the deliveries at fault fail, each with its own error.
"""

from __future__ import annotations

import asyncio
from uuid import UUID

from prometheus_client import Histogram

from hub_common.db import Database
from hub_webhooks.repositories import inbound as inbound_repo
from hub_webhooks.repositories.inbound import Verified

BATCH_SIZE = Histogram(
    "hub_webhook_intake_batch_size",
    "Deliveries made durable by one statement",
    buckets=(1, 2, 4, 8, 16, 32, 64, 128),
)


class GroupCommit:
    def __init__(self, db: Database, *, schema: str, writers: int = 2, max_batch: int = 128) -> None:
        self._db = db
        self._schema = schema
        self._writers = writers
        self._max_batch = max_batch
        self._queue: list[tuple[Verified, asyncio.Future[bool]]] = []
        self._active = 0
        self._tasks: set[asyncio.Task[None]] = set()

    async def accept(self, delivery: Verified) -> bool:
        """True when the delivery is new and now durable; False for a duplicate (nothing written)."""
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._queue.append((delivery, future))
        if self._active < self._writers:
            self._active += 1
            task = asyncio.create_task(self._write_queued(), name="webhook-intake-writer")
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        # Shielded: a provider that hangs up does not cancel the write the batch shares.
        return await asyncio.shield(future)

    async def _write_queued(self) -> None:
        try:
            while self._queue:
                batch, self._queue = self._queue[: self._max_batch], self._queue[self._max_batch :]
                await self._write(batch)
        finally:
            self._active -= 1

    async def _write(self, batch: list[tuple[Verified, asyncio.Future[bool]]]) -> None:
        BATCH_SIZE.observe(len(batch))
        try:
            async with self._db.connection() as conn:
                new = await inbound_repo.accept_many(conn, schema=self._schema, batch=[d for d, _ in batch])
        except Exception as exc:
            if len(batch) == 1:
                _settle(batch[0][1], exc)
                return
            for one in batch:  # only the deliveries at fault fail
                await self._write([one])
            return
        _answer(batch, new)


def _answer(batch: list[tuple[Verified, asyncio.Future[bool]]], new: set[UUID]) -> None:
    for delivery, future in batch:
        if not future.done():
            future.set_result(delivery.row.event_id in new)


def _settle(future: asyncio.Future[bool], exc: BaseException) -> None:
    if not future.done():
        future.set_exception(exc)
