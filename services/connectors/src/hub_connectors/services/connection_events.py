"""Connection status reported by other services (the connectors service owns the record).

- ``integration.connected`` (oauth finished a flow): → ``active`` with the external account id;
- ``integration.status-changed`` (oauth: a refresh ended in ``invalid_grant`` → ``token_invalid``,
  or a token expired): the reported status, when the transition table allows it.

Our own events on these topics are skipped by the consumer (they describe changes already made).
A report older than the connection's last status change is stale and changes nothing: the two
topics are not ordered with each other, so "connected" may overtake an earlier "token_invalid".
Idempotent (``processed_events`` dedupe on the CloudEvents id, in the same transaction) and
tenant-checked: an event naming a connection this tenant does not own changes nothing.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from hub_common.db import Database
from hub_common.db.dedupe import first_time, purge_processed
from hub_common.events import ConnectionStatusChanged, IntegrationConnected
from hub_connectors.domain.connection import Connection
from hub_connectors.domain.health import MAX_ERROR_CHARS
from hub_connectors.domain.states import ConnectionStatus, can_transition
from hub_connectors.repositories import connections

log = logging.getLogger(__name__)
S = ConnectionStatus
CONSUMER = "connectors.connection-status"
# Statuses another service may report; connecting and disconnecting are decided here.
REPORTABLE = frozenset({S.ACTIVE, S.TOKEN_EXPIRED, S.TOKEN_INVALID, S.ERROR})
# What oauth reports when neither the token answer nor an identity endpoint named the account:
# not an id. The health check that follows the connect fills it from the connector's identity.
UNKNOWN_ACCOUNT = "unknown"


def _stale(current: Connection, reported_at: datetime) -> bool:
    return current.status_changed_at is not None and reported_at < current.status_changed_at


class ConnectionEvents:
    def __init__(self, db: Database, *, dedupe_retention_days: float = 14.0) -> None:
        self._db = db
        self._dedupe_retention = timedelta(days=dedupe_retention_days)

    async def forget_old_ids(self, now: datetime | None = None) -> int:
        """Drop dedupe ids older than the retention (periodic; idempotent)."""
        horizon = (now or datetime.now(UTC)) - self._dedupe_retention
        async with self._db.connection() as conn:
            forgotten = await purge_processed(conn, horizon)
        if forgotten:
            log.info("consumer dedupe ids forgotten", extra={"deleted": forgotten})
        return forgotten

    async def _load(
        self, conn: asyncpg.Connection, event_id: str, tenant_id: str, connection_id: Any, connector_id: str
    ) -> Connection | None:
        if not await first_time(conn, CONSUMER, event_id):
            return None
        current = await connections.get(conn, tenant_id, connection_id, for_update=True)
        if current is None or current.connector_id != connector_id:
            log.info(
                "status report for an unknown connection ignored", extra={"connection_id": str(connection_id)}
            )
            return None
        return current

    async def on_connected(self, event_id: str, event: IntegrationConnected) -> bool:
        """True when the connection changed."""
        async with self._db.transaction() as conn:
            current = await self._load(
                conn, event_id, event.tenant_id, event.connection_id, event.connector_id
            )
            if (
                current is None
                or _stale(current, event.timestamp)
                or not can_transition(current.status, S.ACTIVE)
            ):
                return False
            reported = event.external_account_id if event.external_account_id != UNKNOWN_ACCOUNT else None
            account = reported or current.external_account_id
            if current.status is S.ACTIVE and account == current.external_account_id:
                # Nothing changes, but the connection was (re)connected at this time: a report
                # from before it (a "token_invalid" that the reconnect overtook) is stale now.
                if current.status_changed_at is None or event.timestamp > current.status_changed_at:
                    await connections.update(conn, current.id, status_changed_at=event.timestamp)
                return False
            await connections.update(
                conn,
                current.id,
                status=S.ACTIVE,
                external_account_id=account,
                last_error=None,
                connected_at=current.connected_at or event.timestamp,
            )
        log.info("connection active", extra={"connection_id": str(event.connection_id)})
        return True

    async def on_status_changed(self, event_id: str, event: ConnectionStatusChanged) -> bool:
        target = S(event.status)
        if target not in REPORTABLE:
            return False
        async with self._db.transaction() as conn:
            current = await self._load(
                conn, event_id, event.tenant_id, event.connection_id, event.connector_id
            )
            if current is None or _stale(current, event.timestamp):
                return False
            if current.status == target or not can_transition(current.status, target):
                return False
            reason = event.reason[:MAX_ERROR_CHARS] if event.reason else None
            await connections.update(
                conn, current.id, status=target, last_error=None if target is S.ACTIVE else reason
            )
        log.info(
            "connection status reported", extra={"connection_id": str(event.connection_id), "to": str(target)}
        )
        return True
