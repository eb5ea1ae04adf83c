"""Consumer runner: at-least-once handling with bounded retries and a dead-letter topic.

Guarantees
- an offset is committed only after its handler succeeded (or the record was dead-lettered);
- a failing record is retried ``RetryPolicy.attempts`` times with exponential backoff and
  jitter, then copied to ``<topic>.dlq`` with the error in headers, and consumption moves on;
  a failure of the infrastructure (a connection refused or lost, Postgres starting, a 503) is
  not the record's fault: it is retried for up to ``RetryPolicy.transient_max_s`` (the batch
  waits; a failover dead-letters nothing). The window is the batch's: a record the window ran
  out on before its own did is rewound and comes back with the next poll (a new window), so no
  batch outlasts Kafka's max.poll.interval;
- a record whose envelope cannot be read at all is dead-lettered at once;
- the loop survives a failed offset commit (a rebalance in between): the uncommitted records are
  redelivered, and handlers are idempotent;
- records of one partition are handled strictly in order (the key is the connection id, so
  per-connection ordering holds); different partitions are handled concurrently;
- on rebalance, partitions are only given up after the batch in flight finished and its
  offsets were committed; ``stop()`` finishes the batch in flight, commits, and leaves the group.
"""

from __future__ import annotations

import asyncio
import logging
import math
import random
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

import asyncpg
from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, ConsumerRecord, TopicPartition
from aiokafka.structs import OffsetAndMetadata
from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from prometheus_client import Counter

from hub_common.errors import HubError
from hub_common.events.envelope import CloudEvent, EnvelopeError, decode
from hub_common.kafka.producer import EventProducer
from hub_common.redaction import redact_text
from hub_common.telemetry import record_exception

log = logging.getLogger(__name__)
tracer = trace.get_tracer("hub_common.kafka")

Handler = Callable[[CloudEvent, ConsumerRecord[bytes, bytes]], Awaitable[None]]

CONSUMED = Counter(
    "hub_kafka_consumed_total",
    "Records handled by consumer runners",
    ["group", "topic", "outcome"],
)


class NonRetryableError(Exception):
    """Raise from a handler when retrying cannot help: the record goes to the DLQ at once."""


class _Abandoned(Exception):
    """The runner is stopping while a record still fails: leave it uncommitted."""


class _Rewind(Exception):
    """The batch has used its outage window: this record (and the rest) come back with the next
    poll, so one batch never outlasts Kafka's max.poll.interval."""


def is_transient(exc: BaseException) -> bool:
    """An outage rather than a bad record: a connection refused, reset or lost, a database that
    is starting or full, a 503 from a service."""
    if isinstance(exc, _OUTAGES):
        return True
    return isinstance(exc, HubError) and exc.status_code == 503


_OUTAGES = (
    ConnectionError,
    asyncpg.PostgresConnectionError,
    asyncpg.CannotConnectNowError,
    asyncpg.TooManyConnectionsError,
)


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 5
    initial_backoff_s: float = 0.2
    max_backoff_s: float = 10.0
    # Failures this says are transient are retried past ``attempts`` (backoff capped) for up to
    # this long: a failover is waited out, a record that fails this way for ever is not. Below
    # Kafka's max.poll.interval (300 s), so the member is not dropped from its group meanwhile.
    transient: Callable[[BaseException], bool] = is_transient
    transient_max_s: float = 240.0

    def backoff(self, attempt: int) -> float:
        base: float = min(self.max_backoff_s, self.initial_backoff_s * 2.0 ** (attempt - 1))
        return base * (0.5 + random.random() / 2)  # noqa: S311 - jitter, not crypto


def dlq_topic(topic: str) -> str:
    return f"{topic}.dlq"


class _CommitOnRevoke(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, runner: ConsumerRunner) -> None:
        self.runner = runner

    async def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        # Wait for the batch in flight, then commit what it finished, before giving up partitions.
        async with self.runner._batch_lock:
            await self.runner._commit_pending()

    async def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        log.info("partitions assigned", extra={"partitions": [f"{p.topic}[{p.partition}]" for p in assigned]})


# With batch_wait_ms: a fetch returns once this much is there or the wait is over.
_BATCH_MIN_BYTES = 256 * 1024


class ConsumerRunner:
    def __init__(
        self,
        *,
        bootstrap: str,
        group_id: str,
        topics: Sequence[str],
        handler: Handler,
        dlq_producer: EventProducer,
        retry: RetryPolicy | None = None,
        max_records: int = 200,
        auto_offset_reset: str = "earliest",
        session_timeout_ms: int = 10000,
        heartbeat_interval_ms: int = 3000,
        batch_wait_ms: int = 0,
    ) -> None:
        """``batch_wait_ms``: let the broker hold a fetch up to this long to gather more records
        (0 = answer as soon as one is there). A consumer that can wait this long saves a fetch
        round trip, a decode pass and an offset commit per record under steady traffic."""
        self.group_id = group_id
        self.topics = list(topics)
        self.handler = handler
        self.dlq_producer = dlq_producer
        self.retry = retry or RetryPolicy()
        self.max_records = max_records
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=bootstrap,
            group_id=group_id,
            enable_auto_commit=False,
            auto_offset_reset=auto_offset_reset,
            session_timeout_ms=session_timeout_ms,
            heartbeat_interval_ms=heartbeat_interval_ms,
            max_poll_interval_ms=300000,
            **(
                {"fetch_min_bytes": _BATCH_MIN_BYTES, "fetch_max_wait_ms": batch_wait_ms}
                if batch_wait_ms
                else {}
            ),
        )
        self._batch_lock = asyncio.Lock()
        self._pending: dict[TopicPartition, int] = {}
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self._consumer.start()
        self._consumer.subscribe(self.topics, listener=_CommitOnRevoke(self))
        self._task = asyncio.create_task(self._run(), name=f"consumer:{self.group_id}")

    async def stop(self) -> None:
        self._stopping.set()
        if self._task is not None:
            try:
                await asyncio.wait_for(self._task, 30)
            except TimeoutError:
                self._task.cancel()
        async with self._batch_lock:
            await self._commit_pending()
        await self._consumer.stop()

    async def wait_assigned(self, timeout_s: float = 30.0) -> None:
        """Block until this member owns partitions (useful in tests and at startup)."""
        deadline = time.monotonic() + timeout_s
        while not self._consumer.assignment():
            if time.monotonic() > deadline:
                raise TimeoutError(f"consumer {self.group_id} got no partitions in {timeout_s}s")
            await asyncio.sleep(0.05)

    async def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                batches = await self._consumer.getmany(timeout_ms=500, max_records=self.max_records)
            except Exception:
                log.exception("consumer poll failed", extra={"group": self.group_id})
                await asyncio.sleep(1)
                continue
            if not batches:
                continue
            try:
                async with self._batch_lock:
                    await asyncio.gather(*(self._handle_partition(tp, recs) for tp, recs in batches.items()))
                    await self._commit_pending()
            except Exception as exc:
                # Typically CommitFailedError (the group rebalanced meanwhile). The loop must
                # go on: what was not committed is delivered again, to us or the new owner.
                log.warning(
                    "offsets not committed; the records will be redelivered",
                    extra={"group": self.group_id, "error": type(exc).__name__},
                )
                await asyncio.sleep(1)

    async def _handle_partition(
        self, tp: TopicPartition, records: list[ConsumerRecord[bytes, bytes]]
    ) -> None:
        # The outage window is the batch's, not each record's: retried one after the other, a
        # batch of records would otherwise wait out the window once per record (and the member
        # would be dropped from its group meanwhile).
        deadline = time.monotonic() + self.retry.transient_max_s
        for n, record in enumerate(records):
            if tp not in self._consumer.assignment():
                return  # revoked mid-batch: the new owner re-reads from the last commit
            try:
                # The first record's own window is the batch's: it is never rewound, so a record
                # that fails for ever is still dead-lettered once its window is over.
                await self._handle_record(record, math.inf if n == 0 else deadline)
            except _Abandoned:
                return
            except _Rewind:
                self._consumer.seek(tp, record.offset)
                return
            except Exception:
                # Not even the DLQ took it: rewind so the record is fetched again.
                log.exception("record left uncommitted", extra={"topic": tp.topic, "offset": record.offset})
                self._consumer.seek(tp, record.offset)
                return
            self._pending[tp] = record.offset + 1

    async def _handle_record(self, record: ConsumerRecord[bytes, bytes], deadline: float) -> None:
        try:
            event = decode(record.value, record.headers)
        except Exception as exc:  # decoding is pure: whatever fails is the record's fault
            if not isinstance(exc, EnvelopeError):
                exc = EnvelopeError(f"unreadable envelope ({type(exc).__name__})")
            await self._dead_letter(record, exc, attempts=1)
            return
        parent = propagate.extract(event.trace_headers)
        token = otel_context.attach(parent)
        try:
            with tracer.start_as_current_span(
                f"process {record.topic}",
                kind=trace.SpanKind.CONSUMER,
                attributes={
                    "messaging.system": "kafka",
                    "messaging.operation.type": "process",
                    "messaging.operation.name": "process",
                    "messaging.destination.name": record.topic,
                    "messaging.destination.partition.id": str(record.partition),
                    "messaging.kafka.offset": record.offset,
                    "messaging.message.id": event.id,
                    "messaging.consumer.group.name": self.group_id,
                },
            ):
                await self._call_with_retries(event, record, deadline)
        finally:
            otel_context.detach(token)

    async def _call_with_retries(
        self, event: CloudEvent, record: ConsumerRecord[bytes, bytes], deadline: float
    ) -> None:
        attempt = 0
        started = time.monotonic()
        while True:
            attempt += 1
            try:
                await self.handler(event, record)
            except NonRetryableError as exc:
                _mark_failed(exc)
                await self._dead_letter(record, exc, attempts=attempt)
                return
            except Exception as exc:
                if self._stopping.is_set():
                    raise _Abandoned from exc
                transient = self.retry.transient(exc)
                now = time.monotonic()
                outage = transient and now - started < self.retry.transient_max_s
                if outage and now >= deadline:
                    raise _Rewind from exc  # its own window is not over: it waits for the next poll
                if attempt >= self.retry.attempts and not outage:
                    _mark_failed(exc)
                    await self._dead_letter(record, exc, attempts=attempt)
                    return
                log.warning(
                    "handler failed, will retry",
                    extra={
                        "group": self.group_id,
                        "topic": record.topic,
                        "event_id": event.id,
                        "attempt": attempt,
                        "error": type(exc).__name__,
                    },
                )
                await asyncio.sleep(self.retry.backoff(attempt))
                continue
            CONSUMED.labels(self.group_id, record.topic, "ok").inc()
            return

    async def _dead_letter(
        self, record: ConsumerRecord[bytes, bytes], exc: BaseException, *, attempts: int
    ) -> None:
        headers = [
            *record.headers,
            ("x-hub-dlq-error", redact_text(f"{type(exc).__name__}: {exc}")[:1000].encode()),
            ("x-hub-dlq-attempts", str(attempts).encode()),
            ("x-hub-dlq-topic", record.topic.encode()),
            ("x-hub-dlq-partition", str(record.partition).encode()),
            ("x-hub-dlq-offset", str(record.offset).encode()),
            ("x-hub-dlq-group", self.group_id.encode()),
        ]
        # If the DLQ write fails we raise: the offset stays uncommitted and the record returns.
        await self.dlq_producer.publish_raw(
            dlq_topic(record.topic), record.value, key=record.key, headers=headers
        )
        CONSUMED.labels(self.group_id, record.topic, "dead_lettered").inc()
        log.error(
            "record dead-lettered",
            extra={
                "group": self.group_id,
                "topic": record.topic,
                "partition": record.partition,
                "offset": record.offset,
                "attempts": attempts,
                "error": type(exc).__name__,
            },
        )

    async def _commit_pending(self) -> None:
        if not self._pending:
            return
        owned = self._consumer.assignment()
        offsets = {tp: OffsetAndMetadata(off, "") for tp, off in self._pending.items() if tp in owned}
        self._pending.clear()
        if offsets:
            await self._consumer.commit(offsets)


def _mark_failed(exc: BaseException) -> None:
    """The record's CONSUMER span ends as an error, with the (redacted) exception."""
    span = trace.get_current_span()
    record_exception(span, exc)
    span.set_attribute("error.type", type(exc).__qualname__)
    span.set_status(trace.Status(trace.StatusCode.ERROR))
