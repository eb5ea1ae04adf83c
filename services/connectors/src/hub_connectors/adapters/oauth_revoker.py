"""Revocation at the provider, delegated to the oauth service (it holds the tokens' metadata and
knows each provider's revocation style).

Calls ``POST {HUB_OAUTH_URL}/v1/oauth/connections/{id}/revoke`` with this service's token. The
route belongs to the oauth issue: until it exists (404/405/501) or when oauth is unreachable,
revocation is skipped with a log line and the disconnect proceeds — the credentials are deleted
from the vault either way, so the hub can no longer use the grant. Webhook unregistration is the
webhooks service's reaction to ``integration.disconnected``.
"""

from __future__ import annotations

import logging

import httpx

from hub_common.clients.service import ServiceClient
from hub_common.errors import ServiceUnavailable
from hub_common.web.auth import ServiceTokenMinter
from hub_connectors.domain.connection import Connection

log = logging.getLogger(__name__)
ROUTE_MISSING = frozenset({404, 405, 501})


class OAuthRevoker:
    def __init__(
        self,
        oauth_url: str,
        minter: ServiceTokenMinter,
        *,
        timeout_s: float = 5.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._oauth = ServiceClient(
            oauth_url, minter, audience="oauth", timeout_s=timeout_s, transport=transport
        )

    async def aclose(self) -> None:
        await self._oauth.aclose()

    async def revoke(self, connection: Connection) -> str:
        where = {"connection_id": str(connection.id), "connector_id": connection.connector_id}
        try:
            resp = await self._oauth.request(
                "POST",
                f"/v1/oauth/connections/{connection.id}/revoke",
                json={"tenant_id": connection.tenant_id},
            )
        except ServiceUnavailable as exc:
            log.warning(
                "provider revocation skipped: oauth unreachable", extra={**where, "error": exc.message}
            )
            return "skipped"
        if resp.is_success:
            return "revoked"
        if resp.status_code in ROUTE_MISSING:
            log.info("provider revocation skipped: oauth offers no revocation for it", extra=where)
        else:
            log.warning("provider revocation failed", extra={**where, "status": resp.status_code})
        return "skipped"


class NoRevoker:
    async def revoke(self, connection: Connection) -> str:
        return "skipped"
