"""``expect_events``: assert that given events appear on a topic within a time bound.

    async with expect_events(bootstrap, "integration.connected",
                             match=lambda e: e["connection_id"] == cid, count=1) as seen:
        await do_the_thing()
    assert seen[0].data["connector_id"] == "github"

The consumer is positioned at the end of the topic *before* the block runs, so only events
caused by the block count. Fails with the events it did see when the bound passes.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition

from hub_common.events.envelope import CloudEvent, decode
from hub_common.kafka.admin import ensure_topics


@dataclass
class SeenEvent:
    event: CloudEvent
    key: bytes | None
    headers: dict[str, bytes]

    @property
    def data(self) -> Any:
        return self.event.json()


async def _end_offsets(consumer: AIOKafkaConsumer, topic: str, timeout_s: float) -> list[TopicPartition]:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        partitions = consumer.partitions_for_topic(topic)
        if partitions:
            return [TopicPartition(topic, p) for p in sorted(partitions)]
        await consumer._client.force_metadata_update()  # topic may be created by this call
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"topic {topic} does not exist")
        await asyncio.sleep(0.1)


@asynccontextmanager
async def expect_events(
    bootstrap: str,
    topic: str,
    *,
    match: Callable[[Any], bool] = lambda _: True,
    count: int = 1,
    timeout_s: float = 10.0,
    exact: bool = False,
    settle_s: float = 0.5,
) -> AsyncIterator[list[SeenEvent]]:
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        enable_auto_commit=False,
        group_id=None,
        client_id=f"expect-events-{uuid.uuid4().hex[:8]}",
    )
    await ensure_topics(bootstrap, [topic])
    await consumer.start()
    seen: list[SeenEvent] = []
    others: list[Any] = []
    try:
        tps = await _end_offsets(consumer, topic, timeout_s)
        consumer.assign(tps)
        await consumer.seek_to_end(*tps)
        for tp in tps:
            await consumer.position(tp)  # resolve the end offsets now, before the block runs
        yield seen
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        settle_until: float | None = None
        while True:
            now = loop.time()
            if len(seen) >= count and not exact:
                break
            if len(seen) >= count and exact:
                settle_until = settle_until or now + settle_s
                if now >= settle_until:
                    break
            if now > deadline:
                break
            batches = await consumer.getmany(timeout_ms=100)
            for records in batches.values():
                for r in records:
                    ev = decode(r.value, r.headers)
                    data = ev.json()
                    if match(data):
                        seen.append(SeenEvent(ev, r.key, dict(r.headers)))
                    else:
                        others.append(data)
        if len(seen) < count or (exact and len(seen) != count):
            raise AssertionError(
                f"expected {'exactly ' if exact else ''}{count} matching event(s) on {topic} "
                f"within {timeout_s}s, saw {len(seen)}; non-matching: {others[:5]}"
            )
    finally:
        await consumer.stop()
