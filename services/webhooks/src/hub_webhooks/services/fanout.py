"""Events → deliveries: each event a subscription wants becomes one queued delivery (docs/adr/0020).

The insert is idempotent on (subscription, source event id), so the consumer can hand the same
record over again (a crash before its offset was committed) without a second push. The rows are
written in partition order, and a partition holds one connection's events, so the queue keeps
each connection's order. Active subscriptions of a tenant are cached for ``ttl_s`` and dropped
at once when this process changes one.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any
from uuid import UUID

from aiokafka import ConsumerRecord

from hub_common.db import Database
from hub_common.events import CloudEvent, HubEvent, IntegrationTriggerFired, model_for_type
from hub_common.events.envelope import EnvelopeError
from hub_common.kafka import NonRetryableError
from hub_webhooks.domain.subscription import SUBSCRIBABLE_EVENT_TYPES, Subscription
from hub_webhooks.repositories import deliveries as repo
from hub_webhooks.repositories import subscriptions as subs

# A delivery's id is derived from (subscription, source event): a replay of the source event
# finds the same row, and the subscriber sees the same webhook-id.
_DELIVERY_NS = uuid.UUID("0b7d2f0e-3c2a-4a55-9d9e-6b1f1f6c5a11")


class Fanout:
    def __init__(self, db: Database, *, on_queued: Callable[[], None], ttl_s: float = 2.0) -> None:
        self._db = db
        self._on_queued = on_queued
        self._ttl = ttl_s
        self._cache: dict[str, tuple[list[Subscription], float]] = {}
        self.queued = 0

    def forget(self, tenant_id: str) -> None:
        self._cache.pop(tenant_id, None)

    async def _active(self, tenant_id: str) -> list[Subscription]:
        hit = self._cache.get(tenant_id)
        if hit is not None and hit[1] > time.monotonic():
            return hit[0]
        async with self._db.connection() as conn:
            found = await subs.active_for_tenant(conn, tenant_id)
        self._cache[tenant_id] = (found, time.monotonic() + self._ttl)
        return found

    async def __call__(self, event: CloudEvent, record: ConsumerRecord[bytes, bytes]) -> None:
        model = model_for_type(event.type)
        if model is None or model.topic not in SUBSCRIBABLE_EVENT_TYPES:
            return
        try:
            parsed = event.parse(model)
        except (EnvelopeError, ValueError) as exc:
            raise NonRetryableError(f"{event.type} {event.id} does not match its model") from exc
        await self.queue(event.id, parsed)

    async def queue(self, source_event_id: str, parsed: HubEvent) -> int:
        connection_id: UUID | None = getattr(parsed, "connection_id", None)
        trigger_id = parsed.trigger_id if isinstance(parsed, IntegrationTriggerFired) else None
        wanting = [
            s
            for s in await self._active(parsed.tenant_id)
            if s.wants(parsed.topic, trigger_id, connection_id)
        ]
        if not wanting:
            return 0
        payload: Any = parsed.model_dump(mode="json")
        rows = [
            repo.NewDelivery(
                id=uuid.uuid5(_DELIVERY_NS, f"{s.id}:{source_event_id}"),
                tenant_id=parsed.tenant_id,
                subscription_id=s.id,
                ordering_key=str(connection_id) if connection_id else parsed.tenant_id,
                connection_id=connection_id,
                event_type=parsed.topic,
                trigger_id=trigger_id,
                source_event_id=source_event_id,
                payload=payload,
            )
            for s in wanting
        ]
        async with self._db.connection() as conn:
            inserted = await repo.insert_many(conn, rows)
        if inserted:
            self.queued += inserted
            self._on_queued()
        return inserted
