"""The faust-streaming agent that turns ``webhook.received`` into triggers (docs/adr/0020).

Runs inside this service's event loop (no separate ``faust worker``): the app is started and
stopped with the background work. Delivery is at-least-once — faust commits an offset only
after the agent has finished the record — and ``TriggerProcessor`` makes a second handling of a
record a no-op, so a crash between the processing and the commit fires nothing twice.

A record is retried while its failure is an outage (Postgres restarting, a busy connector) and a
few times otherwise; one the connector cannot read, or that is not a ``webhook.received``
event, goes to ``webhook.received.dlq`` at once with the reason, and the stream moves on.
"""

from __future__ import annotations

import asyncio
import logging
import tempfile
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import faust
from pydantic import ValidationError

from hub_common.events import WebhookReceived
from hub_common.events.envelope import EnvelopeError, decode
from hub_common.kafka import EventProducer, RetryPolicy, dlq_topic
from hub_common.kafka.consumer import is_transient
from hub_common.redaction import redact_text
from hub_connectors.runtime.isolation import ConnectorBusy
from hub_connectors.services.triggers import TriggerProcessor, UnparseableDelivery

log = logging.getLogger(__name__)


def _broker_url(bootstrap: str) -> str:
    return ";".join(f"kafka://{host.strip()}" for host in bootstrap.split(",") if host.strip())


def _headers(message: Any) -> list[tuple[str, bytes]]:
    raw = message.headers or []
    return list(raw.items()) if isinstance(raw, Mapping) else list(raw)


def _retry_forever(exc: BaseException) -> bool:
    return is_transient(exc) or isinstance(exc, ConnectorBusy)


class TriggerAgent:
    # What a subclass changes to consume another topic (consumers/automation_agent.py).
    topic_name = WebhookReceived.topic
    agent_name = "triggers"

    def __init__(
        self,
        *,
        bootstrap: str,
        group_id: str,
        processor: TriggerProcessor | None,
        dlq_producer: EventProducer,
        auto_offset_reset: str = "earliest",
        retry: RetryPolicy | None = None,
    ) -> None:
        self.group_id = group_id
        self._bootstrap = bootstrap
        self._processor = processor
        self._dlq = dlq_producer
        self._offset_reset = auto_offset_reset
        self._retry = retry or RetryPolicy()
        self._app: faust.App | None = None
        self._datadir: tempfile.TemporaryDirectory[str] | None = None
        self._stopping = asyncio.Event()
        self.handled = 0

    def _build(self) -> faust.App:
        app = faust.App(
            self.group_id,
            broker=_broker_url(self._bootstrap),
            store="memory://",
            # faust creates "<app id>-data" in the working directory by default; with an
            # in-memory store nothing in it is worth keeping, so it lives and dies with the agent.
            datadir=self._datadir_path(),
            web_enabled=False,
            topic_disable_leader=True,
            topic_allow_declare=False,  # the topics are the hub's (created by ensure_topics)
            consumer_auto_offset_reset=self._offset_reset,
            broker_commit_every=100,
            broker_commit_interval=0.5,
            # A member that died without leaving (SIGKILL, a lost node) holds its partitions until
            # its session times out: faust's 60 s default kept a restarted connectors unready for
            # a minute. 10 s, as the hub's other consumers (aiokafka's default), heartbeat every 3 s.
            broker_session_timeout=10.0,
            broker_heartbeat_interval=3.0,
            loop=asyncio.get_running_loop(),
        )
        topic = app.topic(self.topic_name, value_serializer="raw", key_serializer="raw")

        async def triggers(stream: Any) -> None:
            async for event in stream.events():
                await self._handle(event.message)

        app.agent(topic, name=self.agent_name, concurrency=1)(triggers)
        return app

    def _datadir_path(self) -> str:
        if self._datadir is None:
            self._datadir = tempfile.TemporaryDirectory(prefix=f"hub-faust-{self.agent_name}-")
        return self._datadir.name

    async def start(self) -> None:
        self._stopping.clear()
        self._app = self._build()
        await self._app.start()

    async def stop(self) -> None:
        self._stopping.set()
        if self._app is not None:
            await self._app.stop()
            self._app = None
        if self._datadir is not None:
            self._datadir.cleanup()
            self._datadir = None

    async def wait_assigned(self, timeout_s: float = 30.0) -> None:
        deadline = asyncio.get_running_loop().time() + timeout_s
        while self._app is None or not self._app.consumer.assignment():
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError(f"{self.group_id} got no partitions in {timeout_s}s")
            await asyncio.sleep(0.05)

    async def _handle(self, message: Any) -> None:
        try:
            cloud_event = decode(message.value, _headers(message))
            received = cloud_event.parse(WebhookReceived)
        except (EnvelopeError, ValidationError, ValueError) as exc:
            await self._dead_letter(message, exc, attempts=1)
            return
        processor = self._processor
        assert processor is not None
        await self._retrying(
            message,
            lambda: processor.process(received),
            fatal=(UnparseableDelivery,),
            context={"delivery_id": received.delivery_id},
        )

    async def _retrying(
        self,
        message: Any,
        work: Callable[[], Awaitable[object]],
        *,
        fatal: tuple[type[BaseException], ...] = (),
        context: dict[str, Any],
    ) -> None:
        """Run ``work`` for one record: outages are retried without end, other failures a few
        times, ``fatal`` ones not at all; what is given up on is dead-lettered."""
        attempt = 0
        while True:
            attempt += 1
            try:
                await work()
            except fatal as exc:
                await self._dead_letter(message, exc, attempts=attempt)
                return
            except Exception as exc:
                if self._stopping.is_set():
                    raise  # left uncommitted: the next owner handles it again
                if attempt >= self._retry.attempts and not _retry_forever(exc):
                    await self._dead_letter(message, exc, attempts=attempt)
                    return
                log.warning(
                    f"{self.agent_name} handling failed, will retry",
                    extra={**context, "attempt": attempt, "error": type(exc).__name__},
                )
                await asyncio.sleep(self._retry.backoff(min(attempt, 8)))
                continue
            self.handled += 1
            return

    async def _dead_letter(self, message: Any, exc: BaseException, *, attempts: int) -> None:
        headers = [
            *_headers(message),
            ("x-hub-dlq-error", redact_text(f"{type(exc).__name__}: {exc}")[:1000].encode()),
            ("x-hub-dlq-attempts", str(attempts).encode()),
            ("x-hub-dlq-topic", message.topic.encode()),
            ("x-hub-dlq-partition", str(message.partition).encode()),
            ("x-hub-dlq-offset", str(message.offset).encode()),
            ("x-hub-dlq-group", self.group_id.encode()),
        ]
        await self._dlq.publish_raw(dlq_topic(message.topic), message.value, key=message.key, headers=headers)
        log.error(
            "webhook.received record dead-lettered",
            extra={"offset": message.offset, "attempts": attempts, "error": type(exc).__name__},
        )
