"""Starting an OAuth flow for a UI or connect-session user (docs/adr/0029): the oauth service's
``POST /v1/oauth/flows``, called with this service's token naming the tenant and user. The
answer's one-time ``start_url`` is where the browser goes; it binds the flow to that browser
(docs/adr/0012)."""

from __future__ import annotations

from uuid import UUID

from hub_common.clients.service import ServiceClient
from hub_common.errors import HubError
from hub_common.web.auth import ServiceTokenMinter


class OAuthFlowStarter:
    def __init__(self, oauth_url: str, minter: ServiceTokenMinter, *, timeout_s: float = 5.0) -> None:
        self._oauth = ServiceClient(oauth_url, minter, audience="oauth", timeout_s=timeout_s)

    async def aclose(self) -> None:
        await self._oauth.aclose()

    async def start(self, tenant_id: str, user_id: str, connection_id: UUID, return_to: str | None) -> str:
        body = {"connection_id": str(connection_id), "tenant_id": tenant_id, "user_id": user_id}
        if return_to:
            body["return_to"] = return_to
        resp = await self._oauth.request("POST", "/v1/oauth/flows", json=body)
        answer = resp.json() if resp.content else {}
        if resp.status_code != 201:
            error = (answer or {}).get("error") or {}
            raise HubError(
                error.get("message") or f"the oauth service answered {resp.status_code}",
                code=error.get("code") or "oauth_flow_failed",
                status_code=resp.status_code if 400 <= resp.status_code < 600 else 502,
            )
        return str(answer["start_url"])
