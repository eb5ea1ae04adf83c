"""An ``auto`` registration at a provider that issues its own signing secret (Linear's
``webhookCreate`` answers ``webhook.secret``): the registration verifies with the provider's
secret, and the secret the hub generated before asking is deleted from the vault, not left
behind unused. Real Postgres and vault; a stand-in for the connectors service's internal routes."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from hub_common.clients.service import ServiceClient
from hub_common.clients.vault import VaultClient
from hub_common.testing.service_keys import service_minter
from hub_common.web.auth import Tier
from hub_connector_sdk.webhook_signatures import webhook_signature
from hub_webhooks.domain.registration import Mode
from hub_webhooks.services.connectors_client import ConnectorsClient
from hub_webhooks.services.registrations import Caller, RegistrationService
from hub_webhooks.services.secrets import registration_key

pytestmark = pytest.mark.integration
PROVIDER_KEY = "webhook_secret.provider-0123456789abcdef"


def _connections(owner: str, vault: Any) -> Starlette:
    async def connection(request: Request) -> JSONResponse:
        manifest: dict[str, Any] = {
            "webhook_signature": webhook_signature("linear").model_dump(mode="json"),
            "triggers": [{"id": "issue_created", "delivery": "webhook"}],
        }
        return JSONResponse(
            {
                "id": request.path_params["cid"],
                "tenant_id": owner,
                "connector_id": "linear",
                "status": "active",
                "external_account_id": None,
                "manifest": manifest,
            }
        )

    async def register(request: Request) -> JSONResponse:
        # What the connectors service does with Linear's answer: the issued secret into the vault.
        await vault.store(owner, request.path_params["cid"], PROVIDER_KEY, "lin_wh_issued")
        body = {
            "external_id": "wh-1",
            "events": ["Issue"],
            "expires_at": None,
            "metadata": {"webhook_id": "wh-1"},
            "provider_secret_key": PROVIDER_KEY,
        }
        return JSONResponse(body, 201)

    return Starlette(
        routes=[
            Route("/internal/v1/connections/{cid}", connection, methods=["GET"]),
            Route("/internal/v1/connections/{cid}/webhooks", register, methods=["POST"]),
        ]
    )


async def test_the_provider_secret_replaces_the_hubs_which_leaves_the_vault(
    container, tenant, serve_app, vault_url
):
    connectors_vault = VaultClient(vault_url, service_minter("connectors"), timeout_s=10)  # it keeps them
    async with serve_app(_connections(tenant, connectors_vault)) as url:
        client = ServiceClient(url, service_minter("webhooks"), audience="connectors")
        service = RegistrationService(
            container.db,
            ConnectorsClient(client),
            container.secrets,
            container.registration_cache,
            public_url="https://hub.example",
            rotation_overlap_s=86400,
        )
        cid = uuid.uuid4()
        try:
            created = await service.create(
                Caller(tenant, "u1", Tier.TEAMS), cid, ["issue_created"], None, Mode.AUTO
            )
        finally:
            await client.aclose()
            await connectors_vault.aclose()
    registration = created.registration
    assert registration.secret_key == PROVIDER_KEY and registration.external_id == "wh-1"
    assert await container.vault.read(tenant, cid, PROVIDER_KEY) == "lin_wh_issued"
    assert await container.vault.read(tenant, cid, registration_key(registration.id)) is None
