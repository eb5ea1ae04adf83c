"""``consumed``: the Kafka sentinel that proves an event was handled, and so *not* acted on.

    async with consumed(bootstrap, "connectors.connection-status", STATUS_TOPICS):
        await producer.publish(stale_report)
    assert (await get_connection()).status == "active"  # the stale report changed nothing

A test that checks something did **not** happen after an event must first know the event was
handled; a fixed sleep only guesses. The hub's consumers commit an offset only after its handler
succeeded (``hub_common.kafka.consumer``), so once the group's committed offsets reach the ends
of the partitions the block wrote to, every record written there inside the block was handled.
The group must already be consuming when the block starts (it is positioned before the block's
records); partitions nobody wrote to inside the block are not waited for.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from hub_common.testing.events import _end_offsets
from hub_common.testing.polling import eventually


@asynccontextmanager
async def consumed(
    bootstrap: str, group_id: str, topics: Iterable[str], timeout_s: float = 30.0
) -> AsyncIterator[None]:
    """On leaving the block, wait until ``group_id`` has committed what the block published."""
    reader = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False)
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await reader.start()
    await admin.start()
    try:
        partitions: list[TopicPartition] = []
        for topic in topics:
            partitions += await _end_offsets(reader, topic, timeout_s)
        before = await reader.end_offsets(partitions)
        yield
        after = await reader.end_offsets(partitions)
        written = {tp: end for tp, end in after.items() if end > before[tp]}

        async def caught_up() -> bool:
            committed = await admin.list_consumer_group_offsets(group_id, partitions=list(written))
            return all(tp in committed and committed[tp].offset >= end for tp, end in written.items())

        if written:
            await eventually(caught_up, timeout_s=timeout_s, interval_s=0.1, what=f"{group_id} caught up")
    finally:
        await admin.close()
        await reader.stop()
