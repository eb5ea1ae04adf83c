"""Pushes queued deliveries to subscribers (docs/adr/0020).

A loop leases due deliveries from the table (only the head of each subscription and connection
queue, so one connection's events arrive in order), and runs each attempt as a task, bounded by
a global limit and each subscription's ``max_concurrency``, and paced by its ``rate_limit`` — both
held across replicas in Redis (``subscription_limits``); this process's own count and bucket are
what remains when Redis cannot be reached.
One attempt: Standard Webhooks headers (``webhook-id`` is the delivery's id on every attempt), a
POST through the SSRF-checked transport with a 15 s timeout, then — in one transaction — the
attempt row, the delivery's next state and the event (``webhook.delivered`` or
``webhook.delivery-failed``). A crash in between leaves the lease to run out and the attempt to
be made again: at-least-once, with the same ``webhook-id`` for the subscriber to dedupe on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from uuid import UUID

import httpx
from prometheus_client import Counter, Histogram

from hub_common.db import Database
from hub_common.db.outbox import write_event
from hub_common.events import WebhookDelivered, WebhookDeliveryFailed, WebhookSubscriptionDisabled
from hub_common.redaction import redact_text
from hub_common.ssrf import UrlNotAllowed
from hub_common.ssrf_http import PolicyTransport
from hub_webhooks.domain import standard_webhooks as sw
from hub_webhooks.domain.retry_schedule import RetrySchedule, parse_retry_after
from hub_webhooks.domain.subscription import Subscription
from hub_webhooks.repositories import deliveries as repo
from hub_webhooks.repositories import subscriptions as subs
from hub_webhooks.services.secrets import SecretCache
from hub_webhooks.services.subscription_limits import SubscriptionLimits

log = logging.getLogger(__name__)
ATTEMPTS = Counter("hub_webhook_push_attempts_total", "Push attempts to subscribers", ["outcome"])
LATENCY = Histogram(
    "hub_webhook_push_seconds", "Duration of a push attempt", buckets=(0.01, 0.05, 0.1, 0.25, 1, 5, 15)
)


@dataclass
class _Bucket:
    """A token bucket: ``rate`` pushes per second, bursts up to ``rate``."""

    rate: float
    tokens: float = 0.0
    at: float = field(default_factory=time.monotonic)

    def take(self) -> float:
        """0 when a token was taken, else seconds until one is there."""
        now = time.monotonic()
        self.tokens = min(self.rate, self.tokens + (now - self.at) * self.rate)
        self.at = now
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        return (1 - self.tokens) / self.rate


@dataclass(frozen=True)
class DispatcherConfig:
    schedule: RetrySchedule = field(default_factory=RetrySchedule)
    timeout_s: float = 15.0
    disable_after_s: float = 5 * 24 * 3600
    concurrency: int = 64
    lease_s: float = 60.0
    poll_s: float = 1.0
    outbound_allowlist: tuple[str, ...] = ()


class Dispatcher:
    def __init__(
        self,
        db: Database,
        secrets: SecretCache,
        *,
        schema: str,
        source: str,
        config: DispatcherConfig,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._db = db
        self._secrets = secrets
        self._schema = schema
        self._source = source
        self.config = config
        self._transport = transport
        self._client: httpx.AsyncClient | None = None
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._inflight: dict[UUID, int] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._buckets: dict[UUID, _Bucket] = {}
        self._throttled: dict[UUID, float] = {}  # subscription → monotonic time its bucket refills
        self._subs: dict[UUID, tuple[Subscription, float]] = {}
        self.on_attempt: Callable[[UUID, str], Awaitable[None]] | None = None  # tests, benches
        self.limits: SubscriptionLimits | None = None  # shared with the other replicas (Redis)

    def wake(self) -> None:
        self._wake.set()

    def start(self) -> None:
        transport = self._transport or PolicyTransport(
            allowlist=self.config.outbound_allowlist,
            limits=httpx.Limits(max_connections=self.config.concurrency, max_keepalive_connections=32),
        )
        self._client = httpx.AsyncClient(
            transport=transport, timeout=self.config.timeout_s, follow_redirects=False
        )
        self._stopping.clear()
        self._task = asyncio.create_task(self._run(), name="webhook-dispatcher")

    async def stop(self) -> None:
        self._stopping.set()
        self._wake.set()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=self.config.timeout_s + 1)
        if self._client is not None:
            await self._client.aclose()

    async def _run(self) -> None:
        while not self._stopping.is_set():
            # Cleared before the pass, not after: a push that finishes (or a delivery queued)
            # while the pass runs sets it again, and the next pass starts at once.
            self._wake.clear()
            try:
                started = await self._dispatch_once()
            except Exception:
                log.exception("dispatcher pass failed")
                started = 0
            if started:
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.config.poll_s)

    def _busy(self) -> list[UUID]:
        now = time.monotonic()
        for sid, until in list(self._throttled.items()):
            if until <= now:
                del self._throttled[sid]
        full = [sid for sid, n in self._inflight.items() if n >= self._limit_of(sid)]
        return [*full, *self._throttled]

    def _limit_of(self, subscription_id: UUID) -> int:
        cached = self._subs.get(subscription_id)
        return cached[0].max_concurrency if cached else 1

    async def _dispatch_once(self) -> int:
        free = self.config.concurrency - len(self._tasks)
        if free <= 0:
            return 0
        async with self._db.connection() as conn:
            claimed = await repo.claim_due(conn, free, self.config.lease_s, self._busy())
            unknown = {d.subscription_id for d in claimed} - set(self._subs)
            stale = {sid for sid, (_, at) in self._subs.items() if time.monotonic() - at > 1.0}
            wanted = {d.subscription_id for d in claimed} & (unknown | stale)
            if wanted:
                now = time.monotonic()
                for sid, sub in (await subs.by_ids(conn, list(wanted))).items():
                    self._subs[sid] = (sub, now)
            started = 0
            for delivery in claimed:
                sub = self._subs[delivery.subscription_id][0]
                if self._inflight.get(sub.id, 0) >= sub.max_concurrency:
                    await repo.release(conn, delivery)
                    continue
                admitted, slot = await self._admit(sub)
                if not admitted:
                    await repo.release(conn, delivery)
                    continue
                self._inflight[sub.id] = self._inflight.get(sub.id, 0) + 1
                task = asyncio.create_task(self._attempt(sub, delivery, slot))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
                started += 1
        return started

    async def _admit(self, sub: Subscription) -> tuple[bool, str | None]:
        """(admitted, the shared slot held for the push)."""
        if self.limits is not None:
            try:
                admission = await self.limits.admit(sub)
            except Exception as exc:  # Redis unreachable: this process's own limits still hold
                log.warning("shared subscription limits unavailable", extra={"error": type(exc).__name__})
            else:
                if admission.slot is None:
                    self._throttled[sub.id] = time.monotonic() + admission.wait_s
                    return False, None
                return True, admission.slot
        return self._admit_locally(sub), None

    def _admit_locally(self, sub: Subscription) -> bool:
        if not sub.rate_limit:
            return True
        bucket = self._buckets.get(sub.id)
        if bucket is None or bucket.rate != sub.rate_limit:
            bucket = self._buckets[sub.id] = _Bucket(float(sub.rate_limit), tokens=float(sub.rate_limit))
        wait = bucket.take()
        if wait:
            self._throttled[sub.id] = time.monotonic() + wait
            return False
        return True

    async def _attempt(self, sub: Subscription, delivery: repo.Claimed, slot: str | None) -> None:
        try:
            await self._push(sub, delivery)
        except Exception:
            log.exception("push bookkeeping failed; the lease will run out and the push be retried")
        finally:
            self._inflight[sub.id] -= 1
            if slot is not None and self.limits is not None:
                with contextlib.suppress(Exception):  # else the slot's lease runs out on its own
                    await self.limits.release(sub.id, slot)
            self._wake.set()

    async def _push(self, sub: Subscription, delivery: repo.Claimed) -> None:
        assert self._client is not None
        started_at = delivery.started_at or datetime.now(UTC)
        attempt_number, attempt_id = delivery.attempts, delivery.attempt_id
        t0 = time.perf_counter()
        status_code: int | None = None
        retry_after: float | None = None
        error: str | None = None
        try:
            body = sw.body_of(delivery.event_type, delivery.created_at, delivery.payload)
            timestamp = int(time.time())
            secrets = await self._secrets.values(delivery.tenant_id, sub.id, sub.signing_keys(started_at))
            if not secrets:
                raise RuntimeError("the subscription's signing secret is missing from the vault")
            content = sw.signed_content(str(delivery.id), timestamp, body)
            headers = sw.headers(str(delivery.id), timestamp, [sw.sign(s, content) for s in secrets])
            headers["user-agent"] = "IntegrationHub-Webhooks/1"
            resp = await self._client.post(sub.url, content=body, headers=headers)
            status_code = resp.status_code
            retry_after = parse_retry_after(resp.headers.get("retry-after"))
            if not 200 <= status_code < 300:
                error = f"the subscriber answered {status_code}"
        except UrlNotAllowed as exc:
            error = f"refused by the outbound policy: {exc.message}"
        except httpx.TimeoutException:
            error = f"no answer within {self.config.timeout_s:g}s"
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {redact_text(str(exc))[:200]}"
        duration_ms = int((time.perf_counter() - t0) * 1000)
        LATENCY.observe(duration_ms / 1000)
        if error is None:
            outcome = "delivered"
        elif status_code == 410:
            outcome = "gone"
        elif error.startswith("refused"):
            outcome = "refused"
        else:
            outcome = "failed"
        ATTEMPTS.labels(outcome).inc()
        await self._record(
            sub,
            delivery,
            attempt_number,
            attempt_id,
            started_at,
            duration_ms,
            status_code,
            outcome,
            error,
            retry_after,
        )
        if self.on_attempt is not None:
            await self.on_attempt(delivery.id, outcome)

    async def _record(
        self,
        sub: Subscription,
        delivery: repo.Claimed,
        attempt_number: int,
        attempt_id: int,
        started_at: datetime,
        duration_ms: int,
        status_code: int | None,
        outcome: str,
        error: str | None,
        retry_after: float | None,
    ) -> None:
        next_at: datetime | None = None
        disable_reason: str | None = None
        async with self._db.connection() as conn, conn.transaction():
            failing_since = await subs.record_outcome(
                conn, sub.id, success=outcome == "delivered", at=started_at
            )
            if outcome == "gone":
                disable_reason = "the subscriber answered 410 Gone"
            elif outcome != "delivered":
                if (
                    failing_since
                    and (started_at - failing_since).total_seconds() >= self.config.disable_after_s
                ):
                    days = self.config.disable_after_s / 86400
                    disable_reason = f"every push failed for {days:g} days"
                else:
                    delay = self.config.schedule.next_delay(attempt_number, retry_after)
                    if delay is not None:
                        next_at = started_at + timedelta(seconds=delay)
            await repo.record_attempt(
                conn,
                delivery=delivery,
                attempt_id=attempt_id,
                duration_ms=duration_ms,
                status_code=status_code,
                outcome=outcome,
                error=error,
                next_attempt_at=next_at,
            )
            if outcome == "delivered":
                await self._emit(
                    conn,
                    WebhookDelivered(
                        tenant_id=delivery.tenant_id,
                        webhook_id=delivery.id,
                        connection_id=delivery.connection_id,
                        trigger_id=delivery.trigger_id or delivery.event_type,
                        payload=delivery.payload
                        if isinstance(delivery.payload, dict)
                        else {"data": delivery.payload},
                        attempt_number=attempt_number,
                    ),
                )
            else:
                await self._emit(
                    conn,
                    WebhookDeliveryFailed(
                        tenant_id=delivery.tenant_id,
                        webhook_id=delivery.id,
                        connection_id=delivery.connection_id,
                        error_message=error or outcome,
                        attempt_number=attempt_number,
                        final=next_at is None,
                    ),
                )
            if disable_reason is not None and await subs.disable(conn, sub.id, disable_reason):
                await self._emit(
                    conn,
                    WebhookSubscriptionDisabled(
                        tenant_id=delivery.tenant_id,
                        subscription_id=sub.id,
                        reason=disable_reason,
                        failing_since=failing_since,
                    ),
                )
        if disable_reason is not None:
            self._subs.pop(sub.id, None)
            log.warning(
                "subscription disabled", extra={"subscription_id": str(sub.id), "reason": disable_reason}
            )

    async def _emit(self, conn: object, event: object) -> None:
        await write_event(conn, event, source=self._source, schema=self._schema)  # type: ignore[arg-type]
