"""``/internal/v1/connections/{id}``: what other hub services ask about a connection.

Service tokens only. The gateway needs the base URL, the hosts the connection may reach and
where its credential sits; oauth needs the manifest (OAuth endpoints, credential fields) and
asks for a health check after it captured credentials (``/verify``). Values stay in the vault.
"""

from __future__ import annotations

from fastapi import APIRouter

from hub_common.errors import Forbidden
from hub_common.web.auth import Principal, ServicePrincipal
from hub_connectors.api.deps import ConnectionIdDep, ContainerDep
from hub_connectors.api.schemas import (
    ConnectionOut,
    HealthOut,
    InternalConnection,
    RegisterWebhook,
    UnregisterWebhook,
    VerifyRequest,
    WebhookRegistrationOut,
)

router = APIRouter(prefix="/internal/v1", tags=["internal"], include_in_schema=False)
READERS = frozenset({"gateway", "webhooks", "oauth"})
VERIFIERS = frozenset({"oauth"})
WEBHOOK_REGISTRARS = frozenset({"webhooks"})


def _allow(principal: Principal, services: frozenset[str]) -> None:
    if principal.service_id not in services:
        raise Forbidden(f"service {principal.service_id} may not call this", code="service_not_allowed")


@router.get("/connections/{connection_id}", response_model=InternalConnection)
async def resolve_connection(
    connection_id: ConnectionIdDep, principal: ServicePrincipal, container: ContainerDep
) -> InternalConnection:
    _allow(principal, READERS)
    view = await container.lookup.for_service(connection_id)
    return InternalConnection(
        **ConnectionOut.of(view.connection).model_dump(include=set(InternalConnection.model_fields)),
        tenant_id=view.connection.tenant_id,
        manifest=view.manifest,
        allowed_hosts=view.allowed_hosts,
        default_headers=view.default_headers,
        api_key_placement=view.api_key_placement,
        credential_keys=view.credential_keys,
    )


@router.post("/connections/{connection_id}/verify", response_model=HealthOut)
async def verify_connection(
    connection_id: ConnectionIdDep, body: VerifyRequest, principal: ServicePrincipal, container: ContainerDep
) -> HealthOut:
    """Run the health check now (after oauth stored new credentials) and apply its verdict."""
    _allow(principal, VERIFIERS)
    connection, health = await container.health.verify(body.tenant_id, connection_id)
    return HealthOut(health=health, connection=ConnectionOut.of(connection))


@router.post("/connections/{connection_id}/webhooks", response_model=WebhookRegistrationOut, status_code=201)
async def register_webhook(
    connection_id: ConnectionIdDep,
    body: RegisterWebhook,
    principal: ServicePrincipal,
    container: ContainerDep,
) -> WebhookRegistrationOut:
    """The connector registers the hub's URL at its provider; a secret the provider issued is
    stored in the vault and only its key name is returned."""
    _allow(principal, WEBHOOK_REGISTRARS)
    registration, key = await container.webhook_registrar.register(
        body.tenant_id, connection_id, body.trigger_ids, body.target_url, body.secret.get_secret_value()
    )
    return WebhookRegistrationOut(
        external_id=registration.external_id,
        events=registration.events,
        expires_at=registration.expires_at,
        metadata=registration.metadata,
        provider_secret_key=key,
    )


@router.post("/connections/{connection_id}/webhooks/unregister", status_code=204)
async def unregister_webhook(
    connection_id: ConnectionIdDep,
    body: UnregisterWebhook,
    principal: ServicePrincipal,
    container: ContainerDep,
) -> None:
    """The connector removes the hook at its provider (already gone counts as removed)."""
    _allow(principal, WEBHOOK_REGISTRARS)
    await container.webhook_registrar.unregister(
        body.tenant_id, connection_id, body.external_id, body.metadata
    )
