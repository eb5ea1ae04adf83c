"""The consumer runner against the real broker: commit-after-success, retries, DLQ, ordering."""

import asyncio
import uuid
from collections import defaultdict

import pytest
from aiokafka import AIOKafkaConsumer

from hub_common.events import CredentialChanged, encode
from hub_common.kafka import ConsumerRunner, EventProducer, NonRetryableError, RetryPolicy, dlq_topic

pytestmark = pytest.mark.integration

FAST = RetryPolicy(attempts=3, initial_backoff_s=0.01, max_backoff_s=0.05)


@pytest.fixture
async def producer(kafka_bootstrap):
    p = EventProducer(kafka_bootstrap, source="/tests")
    await p.start()
    yield p
    await p.stop()


def changed(connection_id: uuid.UUID, n: int = 0) -> CredentialChanged:
    return CredentialChanged(tenant_id="t1", connection_id=connection_id, change="stored", key_version=n)


async def run_until(predicate, timeout_s: float = 20.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not predicate():
        assert asyncio.get_running_loop().time() < deadline, "condition not reached in time"
        await asyncio.sleep(0.05)


async def _with_dead_letters(create_topic, name: str) -> str:
    """A one-partition topic and its dead-letter topic; returns the topic's name."""
    topic = await create_topic(name, 1)
    await create_topic(dlq_topic(topic), 1)
    return topic


def _runner(kafka_bootstrap, producer, unique_name, topic, handler) -> ConsumerRunner:
    return ConsumerRunner(
        bootstrap=kafka_bootstrap,
        group_id=unique_name("g"),
        topics=[topic],
        handler=handler,
        dlq_producer=producer,
        retry=FAST,
    )


async def test_failed_handler_is_not_committed_and_the_message_is_redelivered(
    kafka_bootstrap, producer, create_topic, unique_name
):
    topic = await create_topic(unique_name("t_redeliver"), 1)
    group = unique_name("g")
    await send(producer, topic, changed(uuid.uuid4()))
    calls: list[str] = []

    async def failing(event, record):
        calls.append(event.id)
        raise RuntimeError("downstream is down")

    # First member fails (long backoff) and is stopped before the retries run out.
    slow = RetryPolicy(attempts=50, initial_backoff_s=0.2, max_backoff_s=0.2)
    first = ConsumerRunner(
        bootstrap=kafka_bootstrap,
        group_id=group,
        topics=[topic],
        handler=failing,
        dlq_producer=producer,
        retry=slow,
    )
    await first.start()
    await run_until(lambda: len(calls) >= 2)
    await first.stop()

    # A new member of the same group gets the same record again: nothing was committed.
    redelivered: list[str] = []

    async def succeeding(event, record):
        redelivered.append(event.id)

    second = ConsumerRunner(
        bootstrap=kafka_bootstrap,
        group_id=group,
        topics=[topic],
        handler=succeeding,
        dlq_producer=producer,
        retry=FAST,
    )
    await second.start()
    await run_until(lambda: len(redelivered) == 1)
    await second.stop()
    assert redelivered == [calls[0]]

    # Once handled, it is committed: a third member sees only a sentinel sent after it. The
    # partition is read in order, so the sentinel arriving alone proves the record was not due.
    third_seen: list[str] = []

    async def record_it(event, record):
        third_seen.append(event.id)

    third = ConsumerRunner(
        bootstrap=kafka_bootstrap,
        group_id=group,
        topics=[topic],
        handler=record_it,
        dlq_producer=producer,
        retry=FAST,
    )
    await third.start()
    sentinels = await send_sentinels(producer, topic, partitions=1)
    await run_until(lambda: len(third_seen) >= 1)
    await third.stop()
    assert third_seen == sentinels


async def test_transient_failures_are_retried_in_process(
    kafka_bootstrap, producer, create_topic, unique_name
):
    topic = await create_topic(unique_name("t_retry"), 1)
    await send(producer, topic, changed(uuid.uuid4()))
    attempts: list[str] = []

    async def flaky(event, record):
        attempts.append(event.id)
        if len(attempts) < 3:
            raise ConnectionError("blip")

    runner = _runner(kafka_bootstrap, producer, unique_name, topic, flaky)
    await runner.start()
    await run_until(lambda: len(attempts) == 3)
    # A sentinel behind it on the one partition: once it is handled, the record is done with.
    sentinels = await send_sentinels(producer, topic, partitions=1)
    await run_until(lambda: len(attempts) == 4)
    await runner.stop()
    assert attempts[:3] == [attempts[0]] * 3 and attempts[3:] == sentinels


async def test_poison_messages_land_on_the_dead_letter_topic_after_n_attempts(
    kafka_bootstrap, producer, create_topic, unique_name
):
    topic = await _with_dead_letters(create_topic, unique_name("t_poison"))
    poison_id = uuid.uuid4()
    good_id = uuid.uuid4()
    await send(producer, topic, changed(poison_id))
    await producer.publish_raw(topic, b"not a cloudevent", key=b"k", headers=[])
    await send(producer, topic, changed(good_id))
    attempts: defaultdict[str, int] = defaultdict(int)
    handled: list[str] = []

    async def handler(event, record):
        data = event.json()
        attempts[data["connection_id"]] += 1
        if data["connection_id"] == str(poison_id):
            raise ValueError("cannot apply this event")
        handled.append(data["connection_id"])

    runner = _runner(kafka_bootstrap, producer, unique_name, topic, handler)
    await runner.start()
    await run_until(lambda: handled == [str(good_id)])
    await runner.stop()
    assert attempts[str(poison_id)] == FAST.attempts  # then it moved on

    dead = await _read_all(kafka_bootstrap, dlq_topic(topic), expected=2)
    by_attempts = {h["x-hub-dlq-attempts"]: h for _, h in dead}
    assert set(by_attempts) == {b"3", b"1"}  # the poison after 3 tries, the malformed one at once
    assert by_attempts[b"3"]["x-hub-dlq-error"].startswith(b"ValueError")
    assert by_attempts[b"1"]["x-hub-dlq-error"].startswith(b"EnvelopeError")
    assert all(h["x-hub-dlq-topic"] == topic.encode() for _, h in dead)


async def test_non_retryable_errors_skip_the_retries(kafka_bootstrap, producer, create_topic, unique_name):
    topic = await _with_dead_letters(create_topic, unique_name("t_nonretry"))
    await send(producer, topic, changed(uuid.uuid4()))
    calls: list[int] = []

    async def handler(event, record):
        calls.append(1)
        raise NonRetryableError("schema mismatch")

    runner = _runner(kafka_bootstrap, producer, unique_name, topic, handler)
    await runner.start()
    dead = await _read_all(kafka_bootstrap, dlq_topic(topic), expected=1)
    await runner.stop()
    assert calls == [1]
    assert dead[0][1]["x-hub-dlq-attempts"] == b"1"


async def test_per_key_order_is_preserved_across_partitions(
    kafka_bootstrap, producer, create_topic, unique_name
):
    topic = await create_topic(unique_name("t_order"), 3)
    keys = [uuid.uuid4() for _ in range(6)]
    for n in range(20):
        for key in keys:
            await send(producer, topic, changed(key, n))
    seen: defaultdict[str, list[int]] = defaultdict(list)

    async def handler(event, record):
        data = event.json()
        await asyncio.sleep(0)  # let partitions interleave
        seen[data["connection_id"]].append(data["key_version"])

    runner = ConsumerRunner(
        bootstrap=kafka_bootstrap,
        group_id=unique_name("g"),
        topics=[topic],
        handler=handler,
        dlq_producer=producer,
        retry=FAST,
        max_records=7,
    )
    await runner.start()
    await run_until(lambda: sum(len(v) for v in seen.values()) == 120)
    await runner.stop()
    assert all(seq == list(range(20)) for seq in seen.values())


async def send(producer: EventProducer, topic: str, event) -> None:
    key, value, headers = encode(event, source="/tests")
    await producer.publish_raw(topic, value, key=key, headers=headers)


async def send_sentinels(producer: EventProducer, topic: str, partitions: int) -> list[str]:
    """One event on each partition, sent after what the test expects not to see again.

    A member that reads a sentinel has read its partition up to it, so anything uncommitted
    before it would have come first: waiting for the sentinels proves absence without a sleep.
    """
    ids = [str(uuid.uuid4()) for _ in range(partitions)]
    for partition, event_id in enumerate(ids):
        key, value, headers = encode(changed(uuid.uuid4()), source="/tests", event_id=event_id)
        await producer.producer.send_and_wait(topic, value, key=key, headers=headers, partition=partition)
    return ids


async def _read_all(bootstrap: str, topic: str, expected: int, timeout_s: float = 20.0):
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        auto_offset_reset="earliest",
        group_id=None,
        enable_auto_commit=False,
    )
    await consumer.start()
    out = []
    try:
        deadline = asyncio.get_running_loop().time() + timeout_s
        while len(out) < expected and asyncio.get_running_loop().time() < deadline:
            for records in (await consumer.getmany(timeout_ms=200)).values():
                out.extend((r.value, dict(r.headers)) for r in records)
    finally:
        await consumer.stop()
    assert len(out) >= expected, f"only {len(out)} records on {topic}"
    return out


async def test_rebalance_loses_nothing_and_commits_before_handing_partitions_over(
    kafka_bootstrap, producer, create_topic, unique_name
):
    topic = await create_topic(unique_name("t_rebalance"), 4)
    group = unique_name("g")
    ids = [uuid.uuid4() for _ in range(120)]
    for cid in ids:
        await send(producer, topic, changed(cid))
    handled: list[str] = []

    async def slow(event, record):
        await asyncio.sleep(0.01)
        handled.append(event.json()["connection_id"])

    first = ConsumerRunner(
        bootstrap=kafka_bootstrap,
        group_id=group,
        topics=[topic],
        handler=slow,
        dlq_producer=producer,
        retry=FAST,
        max_records=10,
    )
    await first.start()
    await run_until(lambda: len(handled) >= 20)
    second = ConsumerRunner(
        bootstrap=kafka_bootstrap,
        group_id=group,
        topics=[topic],
        handler=slow,
        dlq_producer=producer,
        retry=FAST,
        max_records=10,
    )
    await second.start()  # joins mid-stream: partitions move while batches are in flight
    await run_until(lambda: set(handled) >= {str(i) for i in ids}, timeout_s=60)
    await asyncio.gather(first.stop(), second.stop())
    # At-least-once: nothing lost; a revoked batch may repeat a few records, never many.
    assert len(handled) - len(set(handled)) <= 20

    after: list[str] = []

    async def record_it(event, record):
        after.append(event.id)

    third = ConsumerRunner(
        bootstrap=kafka_bootstrap,
        group_id=group,
        topics=[topic],
        handler=record_it,
        dlq_producer=producer,
        retry=FAST,
    )
    await third.start()
    sentinels = await send_sentinels(producer, topic, partitions=4)
    await run_until(lambda: len(after) >= len(sentinels))
    await third.stop()
    assert sorted(after) == sorted(sentinels)  # everything handled before was committed


async def test_the_broker_names_a_group_coordinator(kafka_bootstrap):
    from hub_common.kafka.admin import wait_for_group_coordinator

    # The local stack's single KRaft broker is node 1 (deploy/local).
    assert await wait_for_group_coordinator(kafka_bootstrap, timeout_s=10) == 1


async def test_an_outage_is_waited_out_not_dead_lettered(
    kafka_bootstrap, producer, create_topic, unique_name
):
    topic = await _with_dead_letters(create_topic, unique_name("t_outage"))
    await send(producer, topic, changed(uuid.uuid4()))
    attempts: list[int] = []

    async def database_down_for_a_while(event, record):
        attempts.append(1)
        if len(attempts) <= 2 * FAST.attempts:  # well past the attempts a bad record gets
            raise ConnectionRefusedError("postgres is restarting")

    runner = _runner(kafka_bootstrap, producer, unique_name, topic, database_down_for_a_while)
    await runner.start()
    await run_until(lambda: len(attempts) == 2 * FAST.attempts + 1)
    await runner.stop()
    consumer = AIOKafkaConsumer(dlq_topic(topic), bootstrap_servers=kafka_bootstrap, group_id=None)
    await consumer.start()
    try:
        await consumer.seek_to_end()
        ends = [await consumer.position(tp) for tp in consumer.assignment()]
    finally:
        await consumer.stop()
    assert ends == [0]  # nothing was dead-lettered


async def test_a_header_without_a_value_is_dead_lettered_and_the_partition_moves_on(
    kafka_bootstrap, producer, create_topic, unique_name
):
    topic = await _with_dead_letters(create_topic, unique_name("t_nullhdr"))
    _, value, headers = encode(changed(uuid.uuid4()), source="/tests")
    await producer.producer.send_and_wait(topic, value, key=b"k", headers=[*headers, ("x-null", None)])
    good = uuid.uuid4()
    await send(producer, topic, changed(good))
    handled: list[str] = []

    async def handler(event, record):
        handled.append(event.json()["connection_id"])

    runner = _runner(kafka_bootstrap, producer, unique_name, topic, handler)
    await runner.start()
    await run_until(lambda: handled == [str(good)])
    await runner.stop()
    dead = await _read_all(kafka_bootstrap, dlq_topic(topic), expected=1)
    assert dead[0][1]["x-hub-dlq-error"].startswith(b"EnvelopeError")


async def test_a_failed_commit_does_not_stop_the_runner(kafka_bootstrap, producer, create_topic, unique_name):
    from aiokafka.errors import CommitFailedError

    topic = await create_topic(unique_name("t_commitfail"), 1)
    handled: list[str] = []

    async def handler(event, record):
        handled.append(event.json()["connection_id"])

    runner = _runner(kafka_bootstrap, producer, unique_name, topic, handler)
    await runner.start()
    await runner.wait_assigned()
    real_commit = runner._consumer.commit
    failures = [1]

    async def commit_once_failing(offsets=None):
        if failures:
            failures.pop()
            raise CommitFailedError("the group rebalanced")
        await real_commit(offsets)

    runner._consumer.commit = commit_once_failing
    first, second = uuid.uuid4(), uuid.uuid4()
    await send(producer, topic, changed(first))
    await run_until(lambda: str(first) in handled)
    await run_until(lambda: not failures)  # the commit after the first record did fail
    await send(producer, topic, changed(second))
    await run_until(lambda: str(second) in handled)  # the loop survived the failed commit
    await runner.stop()


async def test_an_outage_that_never_ends_is_dead_lettered_after_its_cap(
    kafka_bootstrap, producer, create_topic, unique_name
):
    topic = await _with_dead_letters(create_topic, unique_name("t_endless"))
    await send(producer, topic, changed(uuid.uuid4()))

    async def always_down(event, record):
        raise ConnectionRefusedError("never comes back")

    runner = ConsumerRunner(
        bootstrap=kafka_bootstrap,
        group_id=unique_name("g"),
        topics=[topic],
        handler=always_down,
        dlq_producer=producer,
        retry=RetryPolicy(attempts=2, initial_backoff_s=0.01, max_backoff_s=0.05, transient_max_s=0.5),
    )
    await runner.start()
    dead = await _read_all(kafka_bootstrap, dlq_topic(topic), expected=1)
    await runner.stop()
    assert dead[0][1]["x-hub-dlq-error"].startswith(b"ConnectionRefusedError")
    assert int(dead[0][1]["x-hub-dlq-attempts"]) > 2  # past the attempts, within the cap
