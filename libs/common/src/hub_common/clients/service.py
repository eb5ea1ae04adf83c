"""``ServiceClient``: HTTP to another hub service, with this service's token and the trace context.

Every internal client (vault, connectors, oauth) is built on it, so authentication, trace
propagation and "the other service is down" read the same everywhere.
"""

from __future__ import annotations

from typing import Any

import httpx

from hub_common.errors import ServiceUnavailable
from hub_common.telemetry import inject_trace_headers
from hub_common.web.auth import ServiceTokenMinter


class ServiceClient:
    def __init__(
        self,
        base_url: str,
        minter: ServiceTokenMinter,
        *,
        audience: str,
        timeout_s: float = 5.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.audience = audience
        self._minter = minter
        self._http = httpx.AsyncClient(base_url=base_url.rstrip("/"), timeout=timeout_s, transport=transport)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def request(
        self, method: str, path: str, *, json: Any = None, params: dict[str, Any] | None = None
    ) -> httpx.Response:
        """The response, whatever its status; ServiceUnavailable (503) when it cannot be reached."""
        headers = inject_trace_headers(dict(self._minter.headers_for(self.audience)))
        try:
            return await self._http.request(method, path, json=json, params=params, headers=headers)
        except httpx.HTTPError as exc:
            raise ServiceUnavailable(
                f"{self.audience} unreachable ({type(exc).__name__})", code=f"{self.audience}_unavailable"
            ) from None
