"""What the Integration Manager UI changes on a connection beyond the CONTRACT API
(docs/adr/0029): its name, and its API key (stored in the vault, then health-checked)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import asyncpg

from hub_common.db import Database
from hub_connectors.domain import credentials as credential_rules
from hub_connectors.domain.connection import Connection
from hub_connectors.domain.errors import ConnectionNotActive, ConnectionNotFound, NameTaken
from hub_connectors.domain.states import ConnectionStatus
from hub_connectors.registry import ConnectorRegistry
from hub_connectors.repositories import trigger_firings
from hub_connectors.repositories import ui_sessions as repo
from hub_connectors.services.caller import Caller
from hub_connectors.services.connections import ConnectionService
from hub_connectors.services.health import HealthService
from hub_connectors.services.ports import CredentialStore


class ConnectionAdmin:
    def __init__(
        self,
        db: Database,
        registry: ConnectorRegistry,
        connections: ConnectionService,
        credential_store: CredentialStore,
        health: HealthService,
    ) -> None:
        self._db = db
        self._registry = registry
        self._connections = connections
        self._store = credential_store
        self._health = health

    async def rename(self, caller: Caller, connection_id: UUID, name: str) -> None:
        name = name.strip()[:100]
        if not name:
            raise NameTaken("a connection needs a name")
        try:
            async with self._db.transaction() as conn:
                renamed = await repo.rename_connection(conn, caller.tenant_id, connection_id, name)
        except asyncpg.UniqueViolationError:
            raise NameTaken(f"another connection is already called {name!r}") from None
        if not renamed:
            raise ConnectionNotFound()

    async def rotate(self, caller: Caller, connection_id: UUID, values: dict[str, Any]) -> Connection:
        """New credentials for an API-key/basic/bearer connection: validated against the
        manifest, stored in the vault (replacing the old ones), then health-checked."""
        connection = await self._connections.get(caller, connection_id)
        if connection.status == ConnectionStatus.DISCONNECTED:
            raise ConnectionNotActive(
                "the connection is disconnected: create a new one", details={"status": "disconnected"}
            )
        registered = self._registry.get(connection.connector_id)
        if registered is None:
            raise ConnectionNotFound()
        secrets = credential_rules.prepare(registered.manifest.auth, values)
        await self._store.store(caller.tenant_id, connection_id, secrets)
        checked, _health = await self._health.check(caller, connection_id)
        return checked

    async def trigger_counts(self, caller: Caller, connection_id: UUID) -> list[dict[str, Any]]:
        """Per webhook registration and trigger: fired, filtered, duplicates, last fired."""
        async with self._db.connection() as conn:
            rows = await trigger_firings.counts_for_connection(conn, caller.tenant_id, connection_id)
        return [dict(r) for r in rows]
