"""``wait_consumed``: the Kafka sentinel that proves an event was handled, and so *not* acted on.

A test that checks something did **not** happen after an event ("a stale report changes
nothing") must first know the event was handled; a fixed sleep only guesses. The hub's consumers
commit an offset only after its handler succeeded (``hub_common.kafka.consumer``), so once the
group's committed offsets reach the topics' ends as they were at the call, every record published
before it has been handled.
"""

from __future__ import annotations

from collections.abc import Iterable

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from hub_common.testing.events import _end_offsets
from hub_common.testing.polling import eventually


async def wait_consumed(
    bootstrap: str, group_id: str, topics: Iterable[str], timeout_s: float = 30.0
) -> None:
    """Return once ``group_id`` has committed every record on ``topics`` published before now."""
    reader = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False)
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await reader.start()
    await admin.start()
    try:
        partitions: list[TopicPartition] = []
        for topic in topics:
            partitions += await _end_offsets(reader, topic, timeout_s)
        ends = {tp: end for tp, end in (await reader.end_offsets(partitions)).items() if end > 0}

        async def caught_up() -> dict[TopicPartition, int] | None:
            committed = await admin.list_consumer_group_offsets(group_id, partitions=list(ends))
            behind = {
                tp: end for tp, end in ends.items() if tp not in committed or committed[tp].offset < end
            }
            return None if behind else ends

        if ends:
            await eventually(caught_up, timeout_s=timeout_s, interval_s=0.1, what=f"{group_id} caught up")
    finally:
        await admin.close()
        await reader.stop()
