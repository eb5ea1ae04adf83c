"""Capture API-key / basic / bearer / custom credentials: validate, store in the vault, then
ask the connectors service to health-check the connection (it owns the connection's status).
The connectors service never sees the raw secret.

Whole or nothing: when the health check cannot run at all (connectors down or failing), the
previous values are put back and the caller gets 503 ``verification_unavailable`` with nothing
changed, so a retry is safe. Only if that restore fails too is the answer a partial one, and it
says so (502 ``stored_unverified``).
"""

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
from hub_oauth.services.oauth_context import ContextResolver

VAULT_BATCH = 16


class VerificationUnavailable(Exception):
    """The health check could not run at all (no verdict on the credentials)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


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
        keys = sorted(set(vault_keys(auth).values()) | set(values))
        previous = {key: await self.vault.read(tenant_id, connection_id, key) for key in keys}
        await self._write(tenant_id, connection_id, keys, dict(values))
        try:
            return await self._verify(tenant_id, connection_id)
        except VerificationUnavailable as exc:
            try:
                await self._write(tenant_id, connection_id, keys, previous)
            except HubError:
                raise HubError(
                    "stored, but the health check could not run and the previous credentials could "
                    f"not be put back: {exc.reason}; retry to verify",
                    code="stored_unverified",
                    status_code=502,
                ) from None
            raise ServiceUnavailable(
                f"nothing changed: the health check could not run ({exc.reason}); retry shortly",
                code="verification_unavailable",
                headers={"retry-after": "5"},
            ) from None

    async def _write(
        self, tenant_id: str, connection_id: UUID, keys: list[str], values: dict[str, str | None]
    ) -> None:
        """Make the connection's values exactly ``values`` over ``keys`` (absent or None: cleared)."""
        # One vault call: all the values are stored, or none (never half an old, half a new set);
        # the vault takes up to 16 per call, more than any connector's fields.
        items = sorted((k, v) for k, v in values.items() if v is not None)
        for start in range(0, len(items), VAULT_BATCH):
            await self.vault.store_many(tenant_id, connection_id, dict(items[start : start + VAULT_BATCH]))
        # An optional field left out or sent empty is cleared, not kept from an earlier capture.
        for key in keys:
            if values.get(key) is None:
                await self.vault.delete(tenant_id, connection_id, key)

    async def _verify(self, tenant_id: str, connection_id: UUID) -> dict[str, Any]:
        try:
            resp = await self._connectors.request(
                "POST", f"/internal/v1/connections/{connection_id}/verify", json={"tenant_id": tenant_id}
            )
        except ServiceUnavailable as exc:
            raise VerificationUnavailable(exc.message) from None
        if resp.status_code >= 500:
            raise VerificationUnavailable(f"the connectors service answered {resp.status_code}")
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
