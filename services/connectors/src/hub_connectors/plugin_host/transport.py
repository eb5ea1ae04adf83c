"""``GatewayOnlyTransport``: a connector's HTTP client may only reach its own connection's proxy
route. For built-ins it is the service's own gate; in a plugin worker it keeps the same clear
error for a plugin that rewrites its client, while the gateway (which accepts the plugin's token
for that one connection only) and the worker's sandbox are what actually hold."""

from __future__ import annotations

import httpx

from hub_connector_sdk import ConnectorError


class GatewayOnlyTransport(httpx.AsyncBaseTransport):
    def __init__(self, inner: httpx.AsyncBaseTransport, allowed_prefix: str) -> None:
        self._inner = inner
        self._prefix = allowed_prefix

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = str(request.url)
        if not url.startswith(self._prefix) or "/../" in url:
            raise ConnectorError(
                "connectors may only call their provider through the gateway", code="host_not_allowed"
            )
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()
