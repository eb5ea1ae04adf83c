"""``webhook.received`` → ``integration.trigger-fired`` (docs/adr/0020).

For one verified delivery: the connection's connector parses the raw body into trigger events
(through the runtime, so a custom connector's parser runs wherever custom code runs), the
registration's triggers and filter select the ones that fire, and each is staged in the outbox
in the same transaction that records its dedupe key. A redelivery — the provider's own retry,
GitHub's redelivery after an intake outage, or Kafka handing the record over again after a
crash — finds the key and fires nothing. Counts per registration are updated in that
transaction too, so they agree with what fired.
"""

from __future__ import annotations

import base64
import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import asyncpg
from prometheus_client import Counter

from hub_common.db import Database
from hub_common.events import IntegrationTriggerFired, WebhookReceived
from hub_connector_sdk import ConnectorError, TriggerEvent
from hub_connectors.domain import trigger_filter
from hub_connectors.registry import ConnectorRegistry
from hub_connectors.repositories import connections, tenants
from hub_connectors.repositories import trigger_firings as firings
from hub_connectors.runtime import ConnectorRuntime
from hub_connectors.services.contexts import context_of
from hub_connectors.services.database import publish

log = logging.getLogger(__name__)
TRIGGERS = Counter("hub_triggers_total", "Trigger events from webhooks", ["connector", "outcome"])
# Fired events get a stable id (the same provider event → the same ce_id), so a consumer that
# dedupes on ce_id agrees with ours.
_FIRED_NS = uuid.UUID("6f1c9a52-8a7e-4d0b-9d4e-2a0e4b9f0c20")


class UnparseableDelivery(Exception):
    """The connector cannot read this delivery; retrying will not change that."""


@dataclass(frozen=True)
class Outcome:
    fired: int = 0
    filtered: int = 0
    duplicates: int = 0
    skipped: str | None = None


def _body(event: WebhookReceived) -> bytes:
    return base64.b64decode(event.body) if event.body_encoding == "base64" else event.body.encode()


def dedupe_key(connector_id: str, delivery_id: str, fired: TriggerEvent) -> str:
    """The provider's event identity for this trigger; the intake's delivery id when the
    connector knows no event id."""
    if fired.dedupe_key:
        return fired.dedupe_key
    return f"{connector_id}:{fired.event_id or delivery_id}:{fired.trigger_id}"


class TriggerProcessor:
    def __init__(
        self,
        db: Database,
        registry: ConnectorRegistry,
        runtime: ConnectorRuntime,
        *,
        dedupe_retention_days: float = 14.0,
    ) -> None:
        self._db = db
        self._registry = registry
        self._runtime = runtime
        self._retention = timedelta(days=dedupe_retention_days)

    async def forget_old_firings(self) -> int:
        """Drop dedupe keys older than the retention: no provider redelivers that late, and
        Kafka no longer holds the record."""
        async with self._db.connection() as conn:
            return await firings.purge(conn, datetime.now(UTC) - self._retention)

    async def process(self, received: WebhookReceived) -> Outcome:
        if received.connection_id is None:
            return self._skip(received, "no_connection")
        async with self._db.connection() as conn:
            connection = await connections.get(conn, received.tenant_id, received.connection_id)
            tier = await tenants.tier_of(conn, received.tenant_id)
        if connection is None or connection.connector_id != received.connector_id:
            return self._skip(received, "unknown_connection")
        registered = self._registry.get(connection.connector_id)
        if registered is None:
            # Not loaded here (a plugin that failed to import): retrying won't load it.
            return self._skip(received, "connector_unavailable")
        try:
            events = await self._runtime.parse_webhook(
                registered, context_of(connection), received.headers, _body(received), tier=tier
            )
        except ConnectorError as exc:
            raise UnparseableDelivery(f"{exc.code}: {exc.message}") from None
        wanted = set(received.trigger_ids)
        selected = [e for e in events if not wanted or e.trigger_id in wanted]
        fired = filtered = duplicates = 0
        async with self._db.transaction() as conn:
            for event in selected:
                outcome = await self._fire_once(conn, received, event)
                fired += outcome == "fired"
                filtered += outcome == "filtered"
                duplicates += outcome == "duplicates"
        for outcome, n in (("fired", fired), ("filtered", filtered), ("duplicate", duplicates)):
            if n:
                TRIGGERS.labels(received.connector_id, outcome).inc(n)
        return Outcome(fired=fired, filtered=filtered, duplicates=duplicates)

    async def _fire_once(
        self, conn: asyncpg.Connection, received: WebhookReceived, event: TriggerEvent
    ) -> str:
        assert received.connection_id is not None
        registration = received.registration_id
        if not trigger_filter.matches(received.filter, event.payload):
            outcome = "filtered"
        else:
            key = dedupe_key(received.connector_id, received.delivery_id, event)
            fired_uuid = uuid.uuid5(_FIRED_NS, f"{received.tenant_id}:{received.connection_id}:{key}")
            fired_id = str(fired_uuid)
            first = await firings.record_firing(
                conn,
                tenant_id=received.tenant_id,
                connection_id=received.connection_id,
                dedupe_key=key,
                trigger_id=event.trigger_id,
                registration_id=registration,
                event_id=event.event_id,
                fired_event_id=fired_id,
            )
            outcome = "fired" if first else "duplicates"
            if first:
                await publish(
                    conn,
                    IntegrationTriggerFired(
                        tenant_id=received.tenant_id,
                        connection_id=received.connection_id,
                        connector_id=received.connector_id,
                        trigger_id=event.trigger_id,
                        payload=event.payload,
                        source_delivery_id=received.delivery_id,
                        registration_id=registration,
                        event_id=event.event_id,
                        occurred_at=event.occurred_at,
                    ),
                    event_id=fired_uuid,
                )
        if registration is not None:
            await firings.count(
                conn,
                tenant_id=received.tenant_id,
                registration_id=registration,
                trigger_id=event.trigger_id,
                outcome=outcome,
                at=event.occurred_at,
            )
        return outcome

    def _skip(self, received: WebhookReceived, reason: str) -> Outcome:
        log.warning(
            "webhook fires no trigger",
            extra={
                "connector_id": received.connector_id,
                "delivery_id": received.delivery_id,
                "reason": reason,
            },
        )
        TRIGGERS.labels(received.connector_id, reason).inc()
        return Outcome(skipped=reason)
