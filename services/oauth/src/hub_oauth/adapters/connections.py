"""What the oauth service needs to know about a connection, asked of the connectors service
(which owns connections) over its internal API with this service's token."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Protocol
from uuid import UUID

import httpx

from hub_common.clients.service import ServiceClient
from hub_common.errors import HubError, NotFound
from hub_common.web.auth import ServiceTokenMinter
from hub_connector_sdk import ConnectorManifest


@dataclass(frozen=True)
class ConnectionInfo:
    id: UUID
    tenant_id: str
    user_id: str
    connector_id: str
    status: str
    auth_method: str
    config: dict[str, Any] = field(default_factory=dict)
    manifest: ConnectorManifest | None = None


class ConnectionDirectory(Protocol):
    async def get(self, tenant_id: str, connection_id: UUID) -> ConnectionInfo: ...


class HttpConnectionDirectory:
    """``GET /internal/v1/connections/{id}`` on the connectors service (cached briefly)."""

    def __init__(
        self,
        base_url: str,
        minter: ServiceTokenMinter,
        *,
        ttl_s: float = 5.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._ttl_s = ttl_s
        self._cache: dict[UUID, tuple[float, ConnectionInfo]] = {}
        self._service = ServiceClient(base_url, minter, audience="connectors", transport=transport)

    async def aclose(self) -> None:
        await self._service.aclose()

    async def get(self, tenant_id: str, connection_id: UUID) -> ConnectionInfo:
        cached = self._cache.get(connection_id)
        if cached and cached[0] > time.monotonic():
            info = cached[1]
        else:
            info = await self._fetch(connection_id)
            self._cache[connection_id] = (time.monotonic() + self._ttl_s, info)
        if info.tenant_id != tenant_id:
            raise NotFound("connection not found", code="connection_not_found")
        return info

    def forget(self, connection_id: UUID) -> None:
        self._cache.pop(connection_id, None)

    async def _fetch(self, connection_id: UUID) -> ConnectionInfo:
        resp = await self._service.request("GET", f"/internal/v1/connections/{connection_id}")
        if resp.status_code == 404:
            raise NotFound("connection not found", code="connection_not_found")
        if resp.status_code != 200:
            raise HubError(
                f"connectors service answered {resp.status_code}", code="connectors_error", status_code=502
            )
        data = resp.json()
        manifest = data.get("manifest")
        return ConnectionInfo(
            id=UUID(data["id"]),
            tenant_id=data["tenant_id"],
            user_id=str(data.get("user_id") or ""),
            connector_id=data["connector_id"],
            status=data["status"],
            auth_method=data["auth_method"],
            config=data.get("config") or {},
            manifest=ConnectorManifest.model_validate(manifest) if manifest else None,
        )
