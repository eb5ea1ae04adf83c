"""Clients of the other hub services the gateway calls on cache misses and 401s (httpx is fine
here: these calls are rare next to proxied traffic)."""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

import httpx

from hub_common.clients.service import ServiceClient
from hub_common.errors import ServiceUnavailable
from hub_common.web.auth import ServiceTokenMinter
from hub_gateway.domain.errors import DependencyUnavailable


class ConnectionsClient:
    """``GET {connectors}/internal/v1/connections/{id}`` with the gateway's service token."""

    def __init__(
        self,
        base_url: str,
        minter: ServiceTokenMinter,
        *,
        path_template: str,
        timeout_s: float = 5.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._path = path_template
        self._service = ServiceClient(
            base_url, minter, audience="connectors", timeout_s=timeout_s, transport=transport
        )

    async def aclose(self) -> None:
        await self._service.aclose()

    async def lookup(self, connection_id: uuid.UUID) -> Any | None:
        try:
            resp = await self._service.request("GET", self._path.format(connection_id=connection_id))
        except ServiceUnavailable as exc:
            raise DependencyUnavailable(
                f"connection lookup failed: {exc.message}", code="connections_unavailable"
            ) from None
        if resp.status_code == 404:
            return None
        if resp.status_code != 200:
            raise DependencyUnavailable(
                f"connection lookup answered {resp.status_code}", code="connections_unavailable"
            )
        return resp.json()


class OAuthRefresher:
    """``POST {oauth}/v1/oauth/connections/{id}/refresh``: the oauth service refreshes once across
    all replicas (ADR 0004); ``stale_token_sha256`` lets it skip a refresh someone already did."""

    def __init__(
        self,
        base_url: str,
        minter: ServiceTokenMinter,
        *,
        timeout_s: float = 15.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._service = ServiceClient(
            base_url, minter, audience="oauth", timeout_s=timeout_s, transport=transport
        )

    async def aclose(self) -> None:
        await self._service.aclose()

    async def refresh(self, tenant_id: str, connection_id: uuid.UUID, stale_token: str) -> bool:
        body = {
            "tenant_id": tenant_id,
            "stale_token_sha256": hashlib.sha256(stale_token.encode()).hexdigest(),
        }
        try:
            resp = await self._service.request(
                "POST", f"/v1/oauth/connections/{connection_id}/refresh", json=body
            )
        except ServiceUnavailable:
            return False
        return resp.status_code == 200
