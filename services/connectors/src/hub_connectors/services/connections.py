"""Create, read, list and disconnect connections (the Integration Manager: docs/architecture.md §4)."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import logging
import uuid
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from hub_common.db import Database
from hub_common.errors import HubError
from hub_common.license import Feature, require_connection_slot, require_feature
from hub_common.redaction import is_sensitive_key
from hub_common.ssrf import UrlNotAllowed, check_url
from hub_connector_sdk import AuthenticationMethod, ConnectorManifest
from hub_connectors.domain import credentials as credential_rules
from hub_connectors.domain.connection import ABANDONED, Connection, resolve_base_url
from hub_connectors.domain.errors import (
    ConnectionNotFound,
    ConnectorNotFound,
    IdempotencyKeyReused,
    InvalidConfig,
    NameTaken,
)
from hub_connectors.domain.hosts import HostNotAllowed, check_declared, effective_allowed_hosts
from hub_connectors.domain.schemas import schema_errors
from hub_connectors.domain.states import ConnectionStatus, transition
from hub_connectors.registry import ConnectorRegistry
from hub_connectors.repositories import connections, idempotency, tenants
from hub_connectors.repositories.connections import NameInUse
from hub_connectors.services import events
from hub_connectors.services.caller import Caller
from hub_connectors.services.database import publish
from hub_connectors.services.health import HealthService
from hub_connectors.services.ports import CredentialStore, Revoker

log = logging.getLogger(__name__)
S = ConnectionStatus


class ConnectionService:
    def __init__(
        self,
        db: Database,
        registry: ConnectorRegistry,
        credentials: CredentialStore,
        health: HealthService,
        revoker: Revoker,
        *,
        outbound_allowlist: tuple[str, ...] = (),
    ) -> None:
        self._db = db
        self._registry = registry
        self._credentials = credentials
        self._health = health
        self._revoker = revoker
        self._outbound_allowlist = outbound_allowlist

    # -- create -----------------------------------------------------------------------------------
    async def create(
        self,
        caller: Caller,
        *,
        connector_id: str,
        name: str,
        config: dict[str, Any] | None,
        credentials: dict[str, Any] | None,
        idempotency_key: str | None = None,
    ) -> tuple[Connection, bool]:
        """The connection, and whether it is the one an earlier create with the same
        ``idempotency_key`` made (then this call finishes what that one may not have)."""
        registered = self._registry.get(connector_id)
        if registered is None:
            raise ConnectorNotFound(f"no connector {connector_id!r}")
        if registered.custom:
            require_feature(caller.tier, Feature.CUSTOM_CONNECTORS)
        manifest = registered.manifest
        config = self._checked_config(manifest, config or {})
        base_url = await self._checked_base_url(manifest, config)
        # No credentials at all: an API-key connection waits in `initializing` for them to be
        # captured later (oauth's credential capture stores them and asks us to verify).
        secrets = credential_rules.prepare(manifest.auth, credentials) if credentials is not None else None
        draft = Connection(
            id=uuid.uuid4(),
            tenant_id=caller.tenant_id,
            user_id=caller.user_id,
            connector_id=manifest.id,
            connector_version=manifest.version,
            category=str(manifest.category),
            custom=registered.custom,
            auth_method=str(manifest.auth.method),
            name=name,
            status=S.INITIALIZING,
            base_url=base_url,
            config=config,
        )
        claim = None
        if idempotency_key is not None:
            claim = (idempotency_key, request_fingerprint(manifest.id, name, config, credentials))
        connection, replayed = await self._reserve(caller, draft, claim)
        if replayed and connection.status is not S.INITIALIZING:
            return connection, True  # that create finished: its result, unchanged
        if manifest.auth.method is AuthenticationMethod.OAUTH2:
            return connection, replayed  # the oauth flow finishes it (integration.connected)
        if secrets is None and manifest.auth.method in credential_rules.DIRECT_METHODS:
            return connection, replayed
        if secrets:
            try:
                await self._credentials.store(caller.tenant_id, connection.id, secrets)
            except HubError:
                if not replayed:
                    await self._abandon(connection)
                raise
        checked, _ = await self._health.check_and_apply(connection, tier=caller.tier)
        return checked, replayed

    @staticmethod
    def _checked_config(manifest: ConnectorManifest, config: dict[str, Any]) -> dict[str, Any]:
        secretish, nul = inspect_config(config)
        if nul:
            # Postgres text and jsonb cannot hold U+0000: refused here instead of failing there.
            raise InvalidConfig("config text cannot contain NUL characters", details={"fields": nul})
        if secretish:
            raise InvalidConfig(
                "config is stored in clear and returned by the API; secrets go in credentials",
                details={"fields": secretish},
            )
        errors = schema_errors(manifest.api.config_schema, config)
        if errors:
            raise InvalidConfig(
                "config does not match the connector's config schema", details={"errors": errors}
            )
        return config

    async def _checked_base_url(self, manifest: ConnectorManifest, config: dict[str, Any]) -> str:
        base_url = resolve_base_url(manifest, config)
        check_declared(base_url, effective_allowed_hosts(manifest.api.base_url, manifest.api.allowed_hosts))
        if base_url != manifest.api.base_url.rstrip("/"):
            # Chosen by the connection, so it must not lead the gateway into the internal network.
            try:
                await check_url(base_url, allowlist=self._outbound_allowlist)
            except UrlNotAllowed as exc:
                raise HostNotAllowed(exc.message, details=exc.details) from None
        return base_url

    async def _reserve(
        self, caller: Caller, draft: Connection, claim: tuple[str, str] | None
    ) -> tuple[Connection, bool]:
        """Insert the connection while holding the tenant's row: the license limit cannot be
        overrun by concurrent creates, and the name is unique among connections in use. With an
        idempotency claim (key, fingerprint), the connection an earlier create recorded under
        the key is returned instead (looked up under the same lock, so two retries racing each
        other make one connection)."""
        async with self._db.transaction() as conn:
            await tenants.observe(conn, caller.tenant_id, str(caller.tier))
            await tenants.lock(conn, caller.tenant_id)
            if claim is not None:
                earlier = await self._earlier(conn, caller.tenant_id, claim)
                if earlier is not None:
                    return earlier, True
            require_connection_slot(caller.tier, await connections.count_in_use(conn, caller.tenant_id))
            try:
                inserted = await connections.insert(conn, draft)
            except NameInUse:
                raise NameTaken(
                    f"you already have a {draft.connector_id} connection named {draft.name!r}",
                    details={"name": draft.name, "connector_id": draft.connector_id},
                ) from None
            if claim is not None:
                await idempotency.record(conn, caller.tenant_id, claim[0], claim[1], inserted.id)
            return inserted, False

    @staticmethod
    async def _earlier(conn: Any, tenant_id: str, claim: tuple[str, str]) -> Connection | None:
        key, fingerprint = claim
        found = await idempotency.find(conn, tenant_id, key)
        if found is None:
            return None
        recorded, connection_id = found
        if not hmac.compare_digest(recorded, fingerprint):
            raise IdempotencyKeyReused(
                "this Idempotency-Key was used for a different request; use a new key",
                details={"connection_id": str(connection_id)},
            )
        earlier = await connections.get(conn, tenant_id, connection_id)
        if earlier is not None and earlier.status is S.DISCONNECTED and earlier.last_error == ABANDONED:
            # The sweeper undid that attempt: this retry is a create of its own.
            await idempotency.forget(conn, tenant_id, key)
            return None
        return earlier

    async def _abandon(self, connection: Connection) -> None:
        """Undo a creation whose credentials could not be stored (it was never usable)."""
        with contextlib.suppress(HubError):
            await self._credentials.delete_all(connection.tenant_id, connection.id)
        async with self._db.transaction() as conn:
            await connections.delete(conn, connection.id)

    # -- read -------------------------------------------------------------------------------------
    async def get(self, caller: Caller, connection_id: UUID) -> Connection:
        async with self._db.connection() as conn:
            connection = await connections.get(conn, caller.tenant_id, connection_id)
        if connection is None:
            raise ConnectionNotFound()
        return connection

    async def list(
        self, caller: Caller, *, category: str | None = None, include_disconnected: bool = False
    ) -> list[Connection]:
        async with self._db.connection() as conn:
            return await connections.list_for_tenant(
                conn, caller.tenant_id, category=category, include_disconnected=include_disconnected
            )

    # -- disconnect -------------------------------------------------------------------------------
    async def disconnect(self, caller: Caller, connection_id: UUID) -> Connection:
        """Revoke (oauth), delete the credentials, mark disconnected, emit the event. Idempotent."""
        connection = await self.get(caller, connection_id)
        if connection.status is S.DISCONNECTED:
            return connection
        if connection.auth_method == AuthenticationMethod.OAUTH2:
            await self._revoker.revoke(connection)
        # Vault down: 503 and nothing changes, so the user can simply retry.
        await self._credentials.delete_all(caller.tenant_id, connection.id)
        async with self._db.transaction() as conn:
            current = await connections.get(conn, caller.tenant_id, connection.id, for_update=True)
            if current is None:
                raise ConnectionNotFound()
            if current.status is S.DISCONNECTED:
                return current  # a concurrent disconnect won
            updated = await connections.update(
                conn,
                current.id,
                status=transition(current.status, S.DISCONNECTED),
                disconnected_at=datetime.now(UTC),
            )
            await publish(conn, events.disconnected(updated, reason="user"))
        log.info("connection disconnected", extra={"connection_id": str(updated.id)})
        return updated


def request_fingerprint(
    connector_id: str, name: str, config: dict[str, Any], credentials: dict[str, Any] | None
) -> str:
    """What a create asked for, as sha256 hex: connector, name, config and the credential keys
    (never their values, which must not be stored outside the vault in any form)."""
    asked = {
        "connector_id": connector_id,
        "name": name,
        "config": config,
        "credential_keys": sorted(credentials) if credentials is not None else None,
    }
    return hashlib.sha256(json.dumps(asked, sort_keys=True, default=str).encode()).hexdigest()


def inspect_config(config: dict[str, Any]) -> tuple[list[str], list[str]]:
    """(top-level keys that name secrets, however spelled; places holding a NUL, as dotted
    paths). Nested keys are the connector schema's business: ``{"filters": [{"value": ...}]}``
    is ordinary config."""
    secretish = sorted(str(k) for k in config if is_sensitive_key(str(k)))
    return secretish, _nul_places(config, "")


def _nul_places(value: Any, path: str) -> list[str]:
    if isinstance(value, dict):
        found: list[str] = []
        for key, item in value.items():
            where = f"{path}.{key}" if path else str(key)
            if "\x00" in str(key):
                found.append(where)
            found += _nul_places(item, where)
        return found
    if isinstance(value, list):
        return [p for i, item in enumerate(value) for p in _nul_places(item, f"{path}[{i}]")]
    return [path] if isinstance(value, str) and "\x00" in value else []
