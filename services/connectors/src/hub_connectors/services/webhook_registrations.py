"""Registering the hub's webhook URL at a provider through the connection's connector, and
keeping a provider-issued signing secret (PagerDuty, Linear, Notion) in the vault.

The webhooks service asks (``POST /internal/v1/connections/{id}/webhooks``); the connector's
``register_webhook`` creates the hook. When the provider made the secret itself and showed it
once, it goes straight into the vault under ``webhook_secret.provider-<hash of the hook id>``
(where the webhooks service verifies deliveries with it, inside the vault); the answer names the
key, never the value.
"""

from __future__ import annotations

import hashlib
from typing import Any
from uuid import UUID

from hub_common.credential_keys import WEBHOOK_SECRET, secondary
from hub_common.db import Database
from hub_common.errors import Unprocessable
from hub_common.license import Feature, require_feature
from hub_common.web.auth import Tier
from hub_connector_sdk import ConnectorError, WebhookRegistration
from hub_connectors.domain.errors import ConnectionNotActive, ConnectionNotFound, ConnectorUnavailable
from hub_connectors.domain.states import ConnectionStatus
from hub_connectors.registry import ConnectorRegistry
from hub_connectors.repositories import connections, tenants
from hub_connectors.runtime import ConnectorRuntime
from hub_connectors.services.contexts import context_of
from hub_connectors.services.ports import CredentialStore


class WebhookRegistrationFailed(Unprocessable):
    code = "webhook_registration_failed"


def provider_secret_key(external_id: str) -> str:
    """The vault key of a provider-issued secret: stable per hook, vault-safe characters."""
    return secondary(WEBHOOK_SECRET, "provider-" + hashlib.sha256(external_id.encode()).hexdigest()[:16])


class WebhookRegistrar:
    def __init__(
        self, db: Database, registry: ConnectorRegistry, runtime: ConnectorRuntime, store: CredentialStore
    ) -> None:
        self._db = db
        self._registry = registry
        self._runtime = runtime
        self._store = store

    async def unregister(
        self, tenant_id: str, connection_id: UUID, external_id: str, metadata: dict[str, Any]
    ) -> None:
        """The connector removes the hook ``external_id`` at its provider (the webhooks service
        deletes the hook's secrets from the vault itself)."""
        async with self._db.connection() as conn:
            connection = await connections.get(conn, tenant_id, connection_id)
            tier = await tenants.tier_of(conn, tenant_id)
        if connection is None:
            raise ConnectionNotFound()
        registered = self._registry.get(connection.connector_id)
        if registered is None:
            raise ConnectorUnavailable(f"connector {connection.connector_id} is not loaded in this hub")
        hook = WebhookRegistration(external_id=external_id, metadata=metadata)
        try:
            await self._runtime.unregister_webhook(registered, context_of(connection), hook, tier=tier)
        except ConnectorError as exc:
            raise WebhookRegistrationFailed(exc.message, code=exc.code) from None

    async def register(
        self, tenant_id: str, connection_id: UUID, trigger_ids: list[str], target_url: str, secret: str
    ) -> tuple[WebhookRegistration, str | None]:
        """The registration, and the vault key of the provider's secret when it issued one."""
        async with self._db.connection() as conn:
            connection = await connections.get(conn, tenant_id, connection_id)
            tier = await tenants.tier_of(conn, tenant_id)
        if connection is None:
            raise ConnectionNotFound()
        registered = self._registry.get(connection.connector_id)
        if registered is None:
            raise ConnectorUnavailable(f"connector {connection.connector_id} is not loaded in this hub")
        tier = tier or Tier.CORE  # a tenant never seen with a token has no tier that allows more
        if registered.custom:
            require_feature(tier, Feature.CUSTOM_CONNECTORS)
        if connection.status is not ConnectionStatus.ACTIVE:
            raise ConnectionNotActive(
                f"the connection is {connection.status}, not active",
                details={"status": str(connection.status)},
            )
        webhook_triggers = {t.id for t in registered.manifest.triggers if t.is_webhook_based}
        unknown = sorted(set(trigger_ids) - webhook_triggers)
        if unknown or not trigger_ids:
            raise WebhookRegistrationFailed(
                f"not webhook triggers of {connection.connector_id}: {', '.join(unknown) or '(none given)'}",
                code="unknown_trigger",
            )
        try:
            registration = await self._runtime.register_webhook(
                registered, context_of(connection), trigger_ids, target_url, secret, tier=tier
            )
        except ConnectorError as exc:
            raise WebhookRegistrationFailed(exc.message, code=exc.code) from None
        if registration.secret is None:
            return registration, None
        key = provider_secret_key(registration.external_id)
        await self._store.store(tenant_id, connection_id, {key: registration.secret.get_secret_value()})
        return registration, key
