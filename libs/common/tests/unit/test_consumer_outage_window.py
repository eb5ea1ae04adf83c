"""During an outage one batch never outlasts its window (Kafka's max.poll.interval is behind it):
the record the window runs out on is rewound, not dead-lettered and not retried on and on."""

import uuid
from types import SimpleNamespace

import pytest

from hub_common.events import CredentialChanged
from hub_common.events.envelope import encode
from hub_common.kafka.consumer import ConsumerRunner, RetryPolicy

pytestmark = pytest.mark.unit


class FakeDlq:
    def __init__(self) -> None:
        self.dead: list[bytes] = []

    async def publish_raw(self, topic, value, *, key=None, headers=None):
        self.dead.append(value)


class FakeConsumer:
    def __init__(self, tp) -> None:
        self.tp, self.seeks = tp, []

    def assignment(self):
        return {self.tp}

    def seek(self, tp, offset):
        self.seeks.append(offset)


def record(offset: int):
    key, value, headers = encode(
        CredentialChanged(tenant_id="t", connection_id=uuid.uuid4(), change="stored"), source="/tests"
    )
    return SimpleNamespace(topic="t.topic", partition=0, offset=offset, key=key, value=value, headers=headers)


async def test_an_outage_rewinds_the_batch_after_its_window():
    tried: list[int] = []

    async def down(event, rec):
        tried.append(rec.offset)
        raise ConnectionRefusedError("postgres is restarting")

    dlq = FakeDlq()
    runner = ConsumerRunner(
        bootstrap="127.0.0.1:9",
        group_id="g",
        topics=["t.topic"],
        handler=down,
        dlq_producer=dlq,
        retry=RetryPolicy(attempts=1, initial_backoff_s=0.01, max_backoff_s=0.02, transient_max_s=0.3),
    )
    tp = ("t.topic", 0)
    runner._consumer = FakeConsumer(tp)
    records = [record(n) for n in range(3)]
    await runner._handle_partition(tp, records)
    assert dlq.dead == [records[0].value]  # its window is over: dead-lettered, as before
    assert runner._consumer.seeks == [1]  # the next waits for the next poll, with a window of its own
    # One window for the batch, not one per record: the first is retried through it, the next is
    # tried once more at most (the window is already over) and rewound, the third never tried.
    assert tried.count(0) > 1 and tried.count(1) <= 1 and 2 not in tried
