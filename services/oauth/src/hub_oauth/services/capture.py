"""Capture API-key / basic / bearer / custom credentials: validate, store in the vault, then
ask the connectors service to health-check the connection (it owns the connection's status).
The connectors service never sees the raw secret."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import httpx

from hub_common.clients.service import ServiceClient
from hub_common.clients.vault import VaultClient
from hub_common.connection_credentials import validate, vault_keys
from hub_common.errors import Conflict, HubError, ServiceUnavailable
from hub_common.web.auth import ServiceTokenMinter
from hub_connector_sdk import AuthenticationMethod
from hub_oauth.services.context import ContextResolver

VAULT_BATCH = 16


class CredentialCapture:
    def __init__(
        self,
        *,
        resolver: ContextResolver,
        vault: VaultClient,
        connectors_url: str,
        minter: ServiceTokenMinter,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.resolver = resolver
        self.vault = vault
        # The health check runs the connector: allow it its own time limit.
        self._connectors = ServiceClient(
            connectors_url, minter, audience="connectors", timeout_s=60.0, transport=transport
        )

    async def aclose(self) -> None:
        await self._connectors.aclose()

    async def capture(self, tenant_id: str, connection_id: UUID, submitted: dict[str, Any]) -> dict[str, Any]:
        info = await self.resolver.connection(tenant_id, connection_id)
        if info.manifest is None:
            raise Conflict("the connector of this connection is not installed", code="connector_missing")
        auth = info.manifest.auth
        if auth.method in (AuthenticationMethod.OAUTH2, AuthenticationMethod.NONE):
            raise Conflict(
                f"{info.connector_id} uses {auth.method.value}: no credentials to capture",
                code="credentials_not_applicable",
            )
        values = validate(auth, submitted)  # 422 invalid_credentials naming fields, never values
        # One vault call: all the values are stored, or none (never half an old, half a new set);
        # the vault takes up to 16 per call, more than any connector's fields.
        items = sorted(values.items())
        for start in range(0, len(items), VAULT_BATCH):
            await self.vault.store_many(tenant_id, connection_id, dict(items[start : start + VAULT_BATCH]))
        # An optional field left out or sent empty is cleared, not kept from an earlier capture.
        cleared = set(vault_keys(auth).values()) - set(values)
        for key in sorted(cleared):
            await self.vault.delete(tenant_id, connection_id, key)
        return await self._verify(tenant_id, connection_id)

    async def _verify(self, tenant_id: str, connection_id: UUID) -> dict[str, Any]:
        try:
            resp = await self._connectors.request(
                "POST", f"/internal/v1/connections/{connection_id}/verify", json={"tenant_id": tenant_id}
            )
        except ServiceUnavailable as exc:
            raise HubError(
                f"stored; the health check could not run: {exc.message}",
                code="verification_unavailable",
                status_code=502,
            ) from None
        if resp.status_code in (404, 409):  # the connection went away or cannot be checked now
            raise HubError(
                f"stored; the connectors service answered {resp.status_code} to the health check",
                code="verification_refused",
                status_code=resp.status_code,
            )
        if resp.status_code >= 400:
            raise HubError(
                f"stored; the connectors service answered {resp.status_code} to the health check",
                code="verification_failed",
                status_code=502,
            )
        try:
            result = resp.json()
        except ValueError:
            result = None
        if not isinstance(result, dict):
            raise HubError(
                "stored; the connectors service's health-check answer is not a JSON object",
                code="verification_failed",
                status_code=502,
            )
        return result
