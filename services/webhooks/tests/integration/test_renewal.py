"""Renewal of an expiring provider hook, with the real Postgres and vault and a stand-in for the
connectors service's internal webhook routes (the way connectors' own integration tests stand in
for the gateway): the registration keeps its id, URL and secret, gets the new hook, and the
replaced hook is unregistered; a provider refusal leaves everything as it was, with the reason."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from hub_common.clients.service import ServiceClient
from hub_common.testing.service_keys import service_key_settings, service_minter
from hub_common.web.auth import Authenticator
from hub_webhooks.config import WebhooksSettings
from hub_webhooks.domain.registration import Mode, Status
from hub_webhooks.repositories import registrations, tenants
from hub_webhooks.services.connectors_client import ConnectorsClient
from hub_webhooks.services.registrations import RegistrationService
from hub_webhooks.services.secrets import registration_key

pytestmark = pytest.mark.component  # neighbouring services stood in (docs/testing.md)


class Provider:
    """Plays the connectors service's two internal webhook routes, checking the service token."""

    def __init__(self) -> None:
        self.auth = Authenticator(WebhooksSettings(environment="test", **service_key_settings("connectors")))
        self.registered: list[dict[str, Any]] = []
        self.unregistered: list[dict[str, Any]] = []
        self.refuse = False

    def _caller(self, request: Request) -> str:
        token = request.headers["authorization"].removeprefix("Bearer ")
        return str(self.auth.verify_service(token, "connectors").service_id)

    async def register(self, request: Request) -> Response:
        assert self._caller(request) == "webhooks"
        body = await request.json()
        if self.refuse:
            error = {"code": "provider_validation_failed", "message": "Validation Failed", "details": {}}
            return JSONResponse({"error": error}, 422)
        self.registered.append(body)
        expires = (datetime.now(UTC) + timedelta(days=30)).isoformat()
        return JSONResponse(
            {
                "external_id": f"hook-{len(self.registered)}",
                "events": ["jira:issue_created"],
                "expires_at": expires,
                "metadata": {"n": len(self.registered)},
                "provider_secret_key": None,
            },
            201,
        )

    async def unregister(self, request: Request) -> Response:
        assert self._caller(request) == "webhooks"
        self.unregistered.append(await request.json())
        return Response(status_code=204)

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/internal/v1/connections/{cid}/webhooks", self.register, methods=["POST"]),
                Route(
                    "/internal/v1/connections/{cid}/webhooks/unregister", self.unregister, methods=["POST"]
                ),
            ]
        )


async def test_renewal_replaces_the_hook_and_a_refusal_keeps_it(container, tenant, serve_app):
    provider = Provider()
    async with serve_app(provider.app()) as url:
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
        rid, cid = uuid.uuid4(), uuid.uuid4()
        key = registration_key(rid)
        await container.secrets.store(tenant, cid, key, "jira-secret-0123456789")
        async with container.db.connection() as conn:
            await tenants.observe(conn, tenant, "teams")
            await registrations.insert(
                conn,
                id=rid,
                tenant_id=tenant,
                user_id="u1",
                connection_id=cid,
                connector_id="jiralike",
                mode=Mode.AUTO,
                status=Status.ACTIVE,
                trigger_ids=["issue_created"],
                filter=None,
                routing_key=None,
                signature_spec={"kind": "hmac", "header": "X-Hub-Signature", "prefix": "sha256="},
                secret_key=key,
            )
            await registrations.record_provider(
                conn,
                rid,
                external_id="hook-0",
                events=["jira:issue_created"],
                expires_at=datetime.now(UTC) + timedelta(days=2),
                metadata={"n": 0},
                secret_key=None,
            )
        try:
            assert await service.renew_expiring(7 * 86400) >= 1
            async with container.db.connection() as conn:
                renewed = await registrations.get(conn, tenant, rid)
            assert renewed is not None and renewed.external_id == "hook-1"
            assert renewed.expires_at is not None and renewed.expires_at > datetime.now(UTC) + timedelta(
                days=29
            )
            assert renewed.secret_key == key and renewed.status is Status.ACTIVE
            (sent,) = provider.registered
            assert sent["target_url"] == f"https://hub.example/webhooks/jiralike/{rid}"
            assert sent["secret"] == "jira-secret-0123456789" and sent["tenant_id"] == tenant
            assert provider.unregistered == [
                {"tenant_id": tenant, "external_id": "hook-0", "metadata": {"n": 0}}
            ]

            # Due again, and this time the provider refuses: the hook stays, the reason shows.
            async with container.db.connection() as conn:
                await conn.execute(
                    "UPDATE webhook_registrations SET expires_at = now() + interval '1 day' WHERE id = $1",
                    rid,
                )
            provider.refuse = True
            await service.renew_expiring(7 * 86400)
            async with container.db.connection() as conn:
                kept = await registrations.get(conn, tenant, rid)
            assert kept is not None and kept.external_id == "hook-1" and kept.status is Status.ACTIVE
            assert kept.last_error == "renewal_failed: provider_validation_failed"
        finally:
            await client.aclose()
