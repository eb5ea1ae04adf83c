"""What a registration leaves behind when it cannot be made, with the real Postgres and vault and
a stand-in for the connectors service's internal routes: a provider refusal of an ``auto``
registration leaves no active row and no secret; another tenant's connection is 404; Core is 403."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from hub_common.clients.service import ServiceClient
from hub_common.errors import HubError
from hub_common.testing.service_keys import service_minter
from hub_common.web.auth import Tier
from hub_connector_sdk.webhook_signatures import webhook_signature
from hub_webhooks.domain.registration import Mode
from hub_webhooks.services.connectors_client import ConnectorsClient
from hub_webhooks.services.registrations import Caller, RegistrationService

pytestmark = pytest.mark.component  # neighbouring services stood in (docs/testing.md)


def _connections(owner: str) -> Starlette:
    async def connection(request: Request) -> JSONResponse:
        manifest: dict[str, Any] = {
            "webhook_signature": webhook_signature("github-sha256").model_dump(mode="json"),
            "triggers": [{"id": "issue_opened", "delivery": "webhook"}],
        }
        return JSONResponse(
            {
                "id": request.path_params["cid"],
                "tenant_id": owner,
                "connector_id": "hooky",
                "status": "active",
                "external_account_id": None,
                "manifest": manifest,
            }
        )

    async def register(request: Request) -> JSONResponse:
        error = {"code": "provider_forbidden", "message": "Resource not accessible", "details": {}}
        return JSONResponse({"error": error}, 422)

    return Starlette(
        routes=[
            Route("/internal/v1/connections/{cid}", connection, methods=["GET"]),
            Route("/internal/v1/connections/{cid}/webhooks", register, methods=["POST"]),
        ]
    )


async def test_failed_auto_registration_leaves_nothing_active(container, tenant, serve_app):
    async with serve_app(_connections(tenant)) as url:
        minter = service_minter("webhooks")
        client = ServiceClient(url, minter, audience="connectors")
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
            with pytest.raises(HubError) as refused:
                await service.create(Caller(tenant, "u1", Tier.TEAMS), cid, ["issue_opened"], None, Mode.AUTO)
            assert refused.value.status_code == 422 and refused.value.code == "provider_forbidden"
            assert (await service.list(Caller(tenant, "u1", Tier.TEAMS), cid)).items == []
            async with container.db.connection() as conn:
                row = await conn.fetchrow(
                    "SELECT id, status, secret_key FROM webhook_registrations WHERE connection_id = $1", cid
                )
            assert row is not None and row["status"] == "deleted"
            assert await container.vault.read(tenant, cid, row["secret_key"]) is None

            with pytest.raises(HubError) as unknown:
                await service.create(Caller(tenant, "u1", Tier.TEAMS), cid, ["nope"], None, Mode.MANUAL)
            assert unknown.value.code == "unknown_trigger"
            with pytest.raises(HubError) as core:
                await service.create(
                    Caller(tenant, "u1", Tier.CORE), cid, ["issue_opened"], None, Mode.MANUAL
                )
            assert core.value.status_code == 403 and core.value.details["required_tier"] == "writerpro"
            other = Caller(f"other-{uuid.uuid4().hex[:6]}", "u2", Tier.TEAMS)
            with pytest.raises(HubError) as foreign:
                await service.create(other, cid, ["issue_opened"], None, Mode.MANUAL)
            assert foreign.value.status_code == 404 and foreign.value.code == "connection_not_found"
        finally:
            await client.aclose()
