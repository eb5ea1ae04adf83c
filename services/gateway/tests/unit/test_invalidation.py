"""The invalidation feed is healthy only while the broker answers, not while polls return."""

import time

import pytest
from aiokafka import TopicPartition
from aiokafka.errors import IllegalStateError

from hub_gateway.consumers.invalidation import MAX_PUT_BACKS, InvalidationConsumer

pytestmark = pytest.mark.unit


class FakeConsumer:
    def __init__(self, stamps_ms):
        self.stamps_ms = stamps_ms

    def assignment(self):
        return set(self.stamps_ms)

    def last_poll_timestamp(self, tp):
        return self.stamps_ms[tp]


def feed() -> InvalidationConsumer:
    return InvalidationConsumer("127.0.0.1:9", resolver=None, stale_after_s=5.0)


def test_fresh_fetch_answers_for_every_partition_are_healthy():
    now_ms = time.time() * 1000
    consumer = feed()
    consumer._note_broker_contact(FakeConsumer({"a": now_ms - 100, "b": now_ms - 200}))
    assert consumer.healthy


def test_empty_polls_from_an_unreachable_broker_are_not_health():
    consumer = feed()
    consumer._last_poll = time.monotonic() - 10  # positioned a while ago
    stale_ms = time.time() * 1000 - 12_000  # the broker last answered 12 s ago
    for _ in range(3):  # getmany keeps returning {} after its timeout
        consumer._note_broker_contact(FakeConsumer({"a": stale_ms, "b": stale_ms}))
    assert not consumer.healthy


def test_one_silent_partition_is_enough_to_distrust():
    now_ms = time.time() * 1000
    consumer = feed()
    consumer._last_poll = time.monotonic() - 10
    consumer._note_broker_contact(FakeConsumer({"a": now_ms, "b": now_ms - 9_000}))
    assert not consumer.healthy


class ReassignedWhilePositioning:
    """The first positioning meets a partition that a metadata change just unassigned."""

    def __init__(self):
        self.assigned = {TopicPartition("t", 0), TopicPartition("t", 1)}
        self.calls = 0

    def assignment(self):
        return set(self.assigned)

    async def position(self, tp):
        self.calls += 1
        if self.calls == 1:
            self.assigned = {TopicPartition("t", p) for p in range(3)}
            raise IllegalStateError(f"{tp} is not assigned")
        return 7


async def test_positioning_starts_over_when_the_assignment_changes_meanwhile():
    consumer = feed()
    consumer._topics = ("t",)
    fake = ReassignedWhilePositioning()
    await consumer._position_at_the_end(fake)
    every = {TopicPartition("t", p) for p in range(3)}
    assert consumer._next == dict.fromkeys(every, 7)


class Positions:
    """Positions and log starts as aiokafka reports them, and the seeks the feed makes."""

    def __init__(self, positions, starts=None):
        self.positions = dict(positions)
        self.starts = dict(starts or {})
        self.seeks = []

    def assignment(self):
        return set(self.positions)

    async def position(self, tp):
        return self.positions[tp]

    async def beginning_offsets(self, tps):
        return {tp: self.starts.get(tp, 0) for tp in tps}

    def seek(self, tp, offset):
        self.seeks.append((tp.partition, offset))
        self.positions[tp] = offset


async def test_a_partition_moved_past_unread_events_is_put_back_and_a_new_one_starts_at_zero():
    old, moved, new = (TopicPartition("t", p) for p in range(3))
    consumer = feed()
    consumer._next = {old: 5, moved: 9}
    fake = Positions({old: 5, moved: 40, new: 12})  # moved: reset to its end; new: never had it
    await consumer._undo_skips(fake)
    assert sorted(fake.seeks) == [(1, 9), (2, 0)]
    assert consumer._next == {old: 5, moved: 9, new: 0}
    await consumer._undo_skips(fake)  # in place now: nothing more
    assert len(fake.seeks) == 2


async def test_two_resets_in_a_row_are_put_back_twice():
    tp = TopicPartition("t", 0)
    consumer = feed()
    consumer._next = {tp: 9}
    fake = Positions({tp: 40})
    await consumer._undo_skips(fake)
    fake.positions[tp] = 55  # replaced again before anything was read: still not a gap
    await consumer._undo_skips(fake)
    assert fake.seeks == [(0, 9), (0, 9)] and consumer._next == {tp: 9}


async def test_retention_moves_it_to_the_log_start_not_its_end():
    tp = TopicPartition("t", 0)
    consumer = feed()
    consumer._next = {tp: 9}
    fake = Positions({tp: 40}, starts={tp: 30})  # 9..29 are gone; 30..39 are still there
    await consumer._undo_skips(fake)
    assert fake.seeks == [(0, 30)] and consumer._next == {tp: 30}


async def test_a_position_the_broker_keeps_moving_is_taken_after_a_few_put_backs():
    tp = TopicPartition("t", 0)
    consumer = feed()
    consumer._next = {tp: 9}
    fake = Positions({tp: 40})
    for _ in range(5):
        fake.positions[tp] = 40
        await consumer._undo_skips(fake)
    assert fake.seeks == [(0, 9)] * MAX_PUT_BACKS
