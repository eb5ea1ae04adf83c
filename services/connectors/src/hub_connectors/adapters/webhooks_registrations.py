"""A connection's webhook registrations at the webhooks service (``/v1/webhooks/registrations``),
with this service's token for the tenant, tier and user it names (``X-Hub-Tenant``,
``X-Hub-Tier``, ``X-Hub-User``; services/webhooks/README.md)."""

from __future__ import annotations

from urllib.parse import urlencode
from uuid import UUID

from hub_common.clients.service import ServiceClient
from hub_common.web.auth import ServiceTokenMinter
from hub_connectors.adapters.acting_for import ActsFor, acting_for
from hub_connectors.adapters.service_answers import refusal
from hub_connectors.domain.webhook_registration import WebhookRegistration

PATH = "/v1/webhooks/registrations"


class WebhooksRegistrations:
    def __init__(self, webhooks_url: str, minter: ServiceTokenMinter, *, timeout_s: float = 30.0) -> None:
        # An auto registration waits for the provider (GitHub pings the new hook): a longer timeout.
        self._webhooks = ServiceClient(webhooks_url, minter, audience="webhooks", timeout_s=timeout_s)

    async def aclose(self) -> None:
        await self._webhooks.aclose()

    async def of_connection(self, caller: ActsFor, connection_id: UUID) -> list[WebhookRegistration]:
        found: list[WebhookRegistration] = []
        cursor: str | None = None
        while True:  # a connection has a handful; pages keep each answer small anyway
            params = {
                "connection_id": str(connection_id),
                "limit": "500",
                **({"cursor": cursor} if cursor else {}),
            }
            query = "?" + urlencode(params)
            resp = await self._webhooks.request("GET", PATH + query, headers=acting_for(caller))
            if not resp.is_success:
                raise refusal(resp, "webhooks", "webhooks_unavailable")
            body = resp.json()
            found += [WebhookRegistration.from_api(r) for r in body.get("registrations") or []]
            cursor = body.get("next_cursor")
            if not cursor:
                return found

    async def create(
        self, caller: ActsFor, connection_id: UUID, trigger_ids: list[str], mode: str
    ) -> WebhookRegistration:
        body = {"connection_id": str(connection_id), "trigger_ids": trigger_ids, "mode": mode}
        resp = await self._webhooks.request("POST", PATH, json=body, headers=acting_for(caller))
        if resp.status_code != 201:
            raise refusal(resp, "webhooks", "webhook_registration_failed")
        return WebhookRegistration.from_api(resp.json())

    async def delete(self, caller: ActsFor, registration_id: UUID) -> bool:
        """False when it was already gone."""
        resp = await self._webhooks.request("DELETE", f"{PATH}/{registration_id}", headers=acting_for(caller))
        if resp.status_code == 404:
            return False
        if not resp.is_success:
            raise refusal(resp, "webhooks", "webhook_unregistration_failed")
        return True

    async def put_secret(self, caller: ActsFor, registration_id: UUID, secret: str) -> WebhookRegistration:
        resp = await self._webhooks.request(
            "PUT", f"{PATH}/{registration_id}/secret", json={"secret": secret}, headers=acting_for(caller)
        )
        if not resp.is_success:
            raise refusal(resp, "webhooks", "webhook_secret_not_stored")
        return WebhookRegistration.from_api(resp.json())
