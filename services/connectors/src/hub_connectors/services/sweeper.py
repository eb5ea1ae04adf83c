"""Creations that never finished are finished or undone, so none is left as a ghost.

A create writes the row (``initializing``), stores the credentials, then checks them; a crash in
between leaves a row that takes a license slot and the name, with nobody to finish it. The
sweeper gives an API-key connection one health check (its credentials may well be stored): it
stays if that makes it ``active``, else it is abandoned. An OAuth connection whose flow has not
completed long after any flow would have expired is abandoned. Abandoned means disconnected
(reason ``abandoned``: the row stays for history, the slot and the name are free again) and its
credentials deleted. Idempotency keys older than a day are forgotten on the same round.
"""

from __future__ import annotations

import contextlib
import logging
from datetime import UTC, datetime, timedelta

from hub_common.db import Database
from hub_common.errors import HubError
from hub_connectors.domain.connection import ABANDONED, Connection
from hub_connectors.domain.states import ConnectionStatus, can_transition
from hub_connectors.repositories import action_idempotency, connections, idempotency
from hub_connectors.services import events
from hub_connectors.services.database import publish
from hub_connectors.services.health import HealthService
from hub_connectors.services.ports import CredentialStore

log = logging.getLogger(__name__)
S = ConnectionStatus
IDEMPOTENCY_TTL = timedelta(days=1)


class InitializingSweeper:
    def __init__(
        self,
        db: Database,
        health: HealthService,
        credentials: CredentialStore,
        *,
        api_key_after_s: float,
        oauth_after_s: float,
        batch_size: int = 100,
    ) -> None:
        self._db = db
        self._health = health
        self._credentials = credentials
        self.api_key_after = timedelta(seconds=api_key_after_s)
        self.oauth_after = timedelta(seconds=oauth_after_s)
        self.batch_size = batch_size

    async def run(self) -> int:
        """One round; returns how many connections it abandoned."""
        now = datetime.now(UTC)
        async with self._db.connection() as conn:
            unchecked = await connections.initializing_since(
                conn, now - self.api_key_after, self.batch_size, oauth=False
            )
            unfinished = await connections.initializing_since(
                conn, now - self.oauth_after, self.batch_size, oauth=True
            )
            await idempotency.forget_older_than(conn, now - IDEMPOTENCY_TTL)
            await action_idempotency.forget_older_than(conn, now - IDEMPOTENCY_TTL)
        abandoned = 0
        for connection in unchecked:
            checked = await self._checked(connection)
            if checked.status is not S.ACTIVE:
                abandoned += await self._abandon(checked)
        for connection in unfinished:
            abandoned += await self._abandon(connection)
        return abandoned

    async def _checked(self, connection: Connection) -> Connection:
        """The connection after one health check (unchanged if the check itself failed)."""
        try:
            checked, _ = await self._health.check_and_apply(connection)
        except Exception:
            log.warning(
                "health check of an unfinished creation failed", extra={"connection_id": str(connection.id)}
            )
            return connection
        return checked

    async def _abandon(self, seen: Connection) -> int:
        """Disconnect ``seen`` unless it changed since: a flow completed, a retried create
        finished, a user acted — those win."""
        async with self._db.transaction() as conn:
            current = await connections.get(conn, seen.tenant_id, seen.id, for_update=True)
            if current is None or current.status in (S.ACTIVE, S.DISCONNECTED):
                return 0
            if current.updated_at != seen.updated_at:
                return 0
            if not can_transition(current.status, S.DISCONNECTED):
                return 0
            updated = await connections.update(
                conn,
                current.id,
                status=S.DISCONNECTED,
                disconnected_at=datetime.now(UTC),
                last_error=ABANDONED,
            )
            await publish(conn, events.disconnected(updated, reason="abandoned"))
        with contextlib.suppress(HubError):
            await self._credentials.delete_all(updated.tenant_id, updated.id)
        log.info("unfinished connection abandoned", extra={"connection_id": str(updated.id)})
        return 1
