"""Polling triggers (docs/adr/0021): a small runner on the periodic-job pattern of
``background.py``.

An action a connector reports through ``polled_items`` (OpenAI's ``create_batch``) adds the item
to the trigger's cursor (``watch``), under the row's lock. The poller claims one due row at a
time with ``FOR UPDATE SKIP LOCKED`` and keeps it locked while the connector polls; the
``integration.trigger-fired`` events go to the outbox in the transaction that stores the new
cursor. A crash before the commit leaves the old cursor (the poll is redone, its events fire
once); after it, the new cursor (nothing fires twice). Replicas share the work: a row another
replica is polling is skipped, not waited for.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from hub_common.db import Database
from hub_common.events import IntegrationTriggerFired
from hub_common.redaction import redact_text
from hub_connector_sdk import ConnectorError, ProviderError
from hub_connectors.domain.connection import Connection
from hub_connectors.domain.states import ConnectionStatus
from hub_connectors.registry import ConnectorRegistry
from hub_connectors.registry.registry import RegisteredConnector
from hub_connectors.repositories import connections, tenants
from hub_connectors.repositories import trigger_polls as polls
from hub_connectors.runtime import ConnectorRuntime
from hub_connectors.services.contexts import context_of
from hub_connectors.services.database import publish

log = logging.getLogger(__name__)
MAX_ERROR_CHARS = 500


class TriggerPolls:
    """Both halves: watching what actions start, and polling what is due."""

    def __init__(
        self,
        db: Database,
        registry: ConnectorRegistry,
        runtime: ConnectorRuntime,
        *,
        interval_s: float | None = None,
        retry_s: float = 60.0,
        batch: int = 20,
    ) -> None:
        self._db = db
        self._registry = registry
        self._runtime = runtime
        self._interval_s = interval_s  # None: each trigger's own poll_interval_s
        self._retry_s = retry_s
        self._batch = batch

    def interval_for(self, registered: RegisteredConnector, trigger_id: str) -> timedelta:
        if self._interval_s is not None:
            return timedelta(seconds=self._interval_s)
        trigger = next((t for t in registered.manifest.triggers if t.id == trigger_id), None)
        return timedelta(seconds=(trigger.poll_interval_s if trigger and trigger.poll_interval_s else 60))

    # -- watching -----------------------------------------------------------------------------------
    async def watch_action_result(
        self, conn: Any, registered: RegisteredConnector, connection: Connection, action_id: str, data: Any
    ) -> int:
        """In the caller's transaction: add what the action started to its polling triggers'
        cursors. Built-in connectors only: a custom connector's code runs isolated, never here."""
        cls = registered.connector_class
        if registered.custom or cls is None:
            return 0
        items = cls.polled_items(action_id, data)
        for trigger_id, item_id in items:
            poll = await polls.lock_for_watch(
                conn, connection.tenant_id, connection.id, connection.connector_id, trigger_id
            )
            cursor = cls.watch(trigger_id, poll.cursor, item_id)
            await polls.set_cursor(conn, poll, cursor, self.interval_for(registered, trigger_id))
        return len(items)

    # -- polling ------------------------------------------------------------------------------------
    async def poll_due(self) -> int:
        """Poll up to ``batch`` due rows, one transaction each; the number polled."""
        done = 0
        while done < self._batch and await self._poll_one():
            done += 1
        return done

    async def _poll_one(self) -> bool:
        async with self._db.transaction() as conn:
            poll = await polls.claim_due(conn)
            if poll is None:
                return False
            connection = await connections.get(conn, poll.tenant_id, poll.connection_id)
            registered = self._registry.get(poll.connector_id)
            if connection is None or connection.status is ConnectionStatus.DISCONNECTED:
                await polls.delete(conn, poll)  # nothing will ever fire for it
                return True
            if registered is None or connection.status is not ConnectionStatus.ACTIVE:
                why = (
                    f"the connection is {connection.status}" if registered else "the connector is not loaded"
                )
                await polls.postpone(conn, poll, timedelta(seconds=self._retry_s), why)
                return True
            tier = await tenants.tier_of(conn, poll.tenant_id)
            try:
                result = await self._runtime.poll(
                    registered, context_of(connection), poll.trigger_id, poll.cursor, tier=tier
                )
            except ConnectorError as exc:
                wait = (
                    exc.retry_after_s
                    if isinstance(exc, ProviderError) and exc.retry_after_s
                    else self._retry_s
                )
                await polls.postpone(
                    conn,
                    poll,
                    timedelta(seconds=wait),
                    f"{exc.code}: {redact_text(exc.message)}"[:MAX_ERROR_CHARS],
                )
                log.warning(
                    "trigger poll failed", extra={"trigger_id": poll.trigger_id, "error_code": exc.code}
                )
                return True
            for event in result.events:
                await publish(
                    conn,
                    IntegrationTriggerFired(
                        tenant_id=poll.tenant_id,
                        connection_id=poll.connection_id,
                        connector_id=poll.connector_id,
                        trigger_id=event.trigger_id,
                        payload=event.payload,
                        source_delivery_id=event.event_id,
                    ),
                )
            await polls.advance(
                conn, poll, result.cursor, len(result.events), self.interval_for(registered, poll.trigger_id)
            )
        return True
