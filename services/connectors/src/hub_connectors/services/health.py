"""Health checks, on demand and periodic, and what their verdict does to a connection.

A check runs outside any transaction (it calls the provider through the gateway); its verdict is
applied in a short transaction that re-reads the connection ``FOR UPDATE``, so a disconnect that
happened meanwhile wins. Entering ``active`` emits ``integration.connected``; any other change
(to ``token_invalid`` or ``error``) emits ``integration.status-changed``.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta
from uuid import UUID

from hub_common.db import Database
from hub_common.license import TIERS, Feature, require_feature
from hub_common.web.auth import Tier
from hub_connector_sdk import AuthenticationMethod, ConnectorHealth
from hub_connectors.domain.connection import Connection
from hub_connectors.domain.errors import ConnectionNotActive, ConnectionNotFound
from hub_connectors.domain.health import account_of, error_text, verdict
from hub_connectors.domain.states import (
    CHECKABLE,
    PERIODICALLY_CHECKED,
    ConnectionStatus,
    can_transition,
    enters_active,
)
from hub_connectors.registry import ConnectorRegistry, RegisteredConnector
from hub_connectors.repositories import connections, tenants
from hub_connectors.runtime import ConnectorRuntime
from hub_connectors.services import events
from hub_connectors.services.caller import Caller
from hub_connectors.services.contexts import context_of
from hub_connectors.services.database import publish

log = logging.getLogger(__name__)
S = ConnectionStatus
CUSTOM_TIERS = [str(p.tier) for p in TIERS if p.custom_connectors]


def checkable(connection: Connection) -> bool:
    # An API-key connection stuck in initializing (its creation was interrupted) may be checked.
    return connection.status in CHECKABLE or (
        connection.status is S.INITIALIZING and connection.auth_method != AuthenticationMethod.OAUTH2
    )


class HealthService:
    def __init__(
        self,
        db: Database,
        registry: ConnectorRegistry,
        runtime: ConnectorRuntime,
        *,
        interval_s: float = 300.0,
        batch_size: int = 50,
        concurrency: int = 8,
    ) -> None:
        self._db = db
        self._registry = registry
        self._runtime = runtime
        self.interval_s = interval_s
        self.batch_size = batch_size
        self.concurrency = concurrency

    async def check(self, caller: Caller, connection_id: UUID) -> tuple[Connection, ConnectorHealth]:
        """``POST /v1/connections/{id}/health``: the tier is the caller's."""
        async with self._db.connection() as conn:
            connection = await connections.get(conn, caller.tenant_id, connection_id)
        return await self.check_and_apply(self._checkable(connection, caller.tier), tier=caller.tier)

    async def verify(self, tenant_id: str, connection_id: UUID) -> tuple[Connection, ConnectorHealth]:
        """A service asks (oauth, after capturing credentials): the tier is the tenant's stored one."""
        async with self._db.connection() as conn:
            connection = await connections.get(conn, tenant_id, connection_id)
            stored = await tenants.tier_of(conn, tenant_id)
        tier = Tier(stored) if stored else Tier.CORE
        return await self.check_and_apply(self._checkable(connection, tier), tier=tier)

    @staticmethod
    def _checkable(connection: Connection | None, tier: Tier | str) -> Connection:
        if connection is None:
            raise ConnectionNotFound()
        if connection.custom:
            require_feature(tier, Feature.CUSTOM_CONNECTORS)
        if not checkable(connection):
            raise ConnectionNotActive(
                f"a connection in status {connection.status} has nothing to check",
                details={"status": str(connection.status)},
            )
        return connection

    async def check_and_apply(
        self, connection: Connection, *, tier: Tier | None = None
    ) -> tuple[Connection, ConnectorHealth]:
        """``tier``: the caller's; else the tenant's stored one is used (a plugin's gateway token
        carries it, and the gateway gates custom connectors by it)."""
        if tier is None:
            async with self._db.connection() as conn:
                tier = Tier(await tenants.tier_of(conn, connection.tenant_id) or Tier.CORE)
        registered = self._registry.get(connection.connector_id)
        health = await self._run(registered, connection, tier)
        updated = await self._apply(connection, health)
        if updated.status is S.TOKEN_INVALID and not health.is_healthy and not health.credentials_invalid:
            # The check failed because the credentials are gone or refused (a revoked grant: the
            # gateway will not use it): say so, not "an error".
            health = health.model_copy(update={"credentials_invalid": True})
        return updated, health

    async def _run(
        self, registered: RegisteredConnector | None, connection: Connection, tier: Tier | None
    ) -> ConnectorHealth:
        if registered is None:
            return ConnectorHealth(
                is_healthy=False, message=f"connector {connection.connector_id} is not loaded"
            )
        return await self._runtime.health(registered, context_of(connection), tier=tier)

    async def _apply(self, checked: Connection, health: ConnectorHealth) -> Connection:
        target = verdict(health)
        async with self._db.transaction() as conn:
            current = await connections.get(conn, checked.tenant_id, checked.id, for_update=True)
            if current is None or current.status is S.DISCONNECTED:
                return current or checked
            # A status reported while the check ran (a revoke, a reconnect) is newer than what
            # the check saw: its verdict is recorded but does not override that status.
            overtaken = current.status_changed_at != checked.status_changed_at
            status = target if can_transition(current.status, target) and not overtaken else current.status
            changes: dict[str, object] = {
                "status": status,
                "last_health_check_at": health.checked_at,
                "last_health_check_status": health.is_healthy,
                "last_health_check_latency_ms": health.latency_ms,
                "last_error": error_text(health),
            }
            account_id, account_name = account_of(health)
            # OAuth: the oauth service's identity of the grant comes first; the check fills it
            # in only when there is none (a provider without an identity endpoint).
            keeps_account = current.auth_method == AuthenticationMethod.OAUTH2 and current.external_account_id
            if health.is_healthy and account_id and not keeps_account:
                changes["external_account_id"] = account_id
                changes["external_account_name"] = account_name
            if enters_active(current.status, status) and current.connected_at is None:
                changes["connected_at"] = datetime.now(UTC)
            updated = await connections.update(conn, current.id, **changes)
            if enters_active(current.status, status):
                await publish(conn, events.connected(updated))
            elif status != current.status:
                await publish(conn, events.status_changed(updated, current.status))
        if status != current.status:
            log.info(
                "connection status changed",
                extra={"connection_id": str(updated.id), "from": str(current.status), "to": str(status)},
            )
        return updated

    async def run_due(self) -> int:
        """One periodic round: claim and check every due connection; returns how many."""
        older_than = datetime.now(UTC) - timedelta(seconds=self.interval_s)
        limiter = asyncio.Semaphore(self.concurrency)
        total = 0

        async def one(connection: Connection) -> None:
            async with limiter:
                try:
                    await self.check_and_apply(connection)
                except Exception:
                    log.exception("periodic health check failed", extra={"connection_id": str(connection.id)})

        while True:
            async with self._db.transaction() as conn:
                batch = await connections.claim_due_for_health(
                    conn, [str(s) for s in PERIODICALLY_CHECKED], older_than, self.batch_size, CUSTOM_TIERS
                )
            await asyncio.gather(*(one(c) for c in batch))
            total += len(batch)
            if len(batch) < self.batch_size:
                return total
