"""``/internal/v1/oauth/*``: what other hub services ask with their own identity (docs/adr/0010)."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter

from hub_common.errors import Forbidden
from hub_common.web.auth import ServicePrincipal
from hub_oauth.api import schemas
from hub_oauth.api.deps import ContainerDep

router = APIRouter(prefix="/internal/v1/oauth", tags=["internal"], include_in_schema=False)
# Only the webhooks service verifies deliveries; no other caller learns where app secrets are.
WEBHOOK_VERIFIERS = frozenset({"webhooks"})


@router.post("/connections/{connection_id}/webhook-secret", response_model=schemas.WebhookSecretOut)
async def webhook_secret(
    connection_id: UUID, body: schemas.WebhookSecretIn, principal: ServicePrincipal, c: ContainerDep
) -> schemas.WebhookSecretOut:
    """The vault keys holding the copy of the connection's OAuth app client secret that its
    provider signs webhooks with (ADR 0030); the copy is made or updated first."""
    if principal.service_id not in WEBHOOK_VERIFIERS:
        raise Forbidden(f"service {principal.service_id} may not call this", code="service_not_allowed")
    ref = await c.webhook_secrets.reference(body.tenant_id, connection_id)
    return schemas.WebhookSecretOut(
        connection_id=ref.connection_id,
        connector_id=ref.connector_id,
        owner_id=ref.owner_id,
        keys=ref.keys,
        app=ref.app,
        client_id=ref.client_id,
        rotated_at=ref.rotated_at,
        previous_valid_until=ref.previous_valid_until,
    )
