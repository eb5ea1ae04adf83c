"""``ServiceClient``: HTTP to another hub service, with this service's token and the trace context.

Every internal client (vault, connectors, oauth) is built on it, so authentication, trace
propagation and "the other service is down" read the same everywhere.

It sends on aiohttp's keep-alive pool: internal calls sit on the hub's hot paths (oauth writes
two tokens to the vault per callback), and httpx's client cost ~0.7 ms of CPU per call here
against ~0.15 ms for aiohttp (bench/oauth_bench.py, ADR 0007). An httpx transport can still be
given instead (unit tests use ``httpx.MockTransport``); both answer with a ``ServiceResponse``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import aiohttp
import httpx

from hub_common import jsonutil
from hub_common.errors import ServiceUnavailable
from hub_common.telemetry import inject_trace_headers
from hub_common.web.auth import ServiceTokenMinter


def _lowered(headers: Iterable[tuple[str, str]]) -> dict[str, str]:
    return {name.lower(): value for name, value in headers}


class ServiceResponse:
    """What a service answered: status, headers (lower-case names) and the whole body (internal
    bodies are small)."""

    __slots__ = ("content", "headers", "status_code")

    def __init__(self, status_code: int, headers: dict[str, str], content: bytes) -> None:
        self.status_code = status_code
        self.headers = headers
        self.content = content

    @property
    def is_success(self) -> bool:
        return 200 <= self.status_code < 300

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", errors="replace")

    def json(self) -> Any:
        return jsonutil.loads(self.content)


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
        self.base_url = base_url.rstrip("/")
        self._minter = minter
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._session: aiohttp.ClientSession | None = None
        self._httpx = (
            httpx.AsyncClient(base_url=self.base_url, timeout=timeout_s, transport=transport)
            if transport is not None
            else None
        )

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
        if self._httpx is not None:
            await self._httpx.aclose()

    async def request(
        self, method: str, path: str, *, json: Any = None, headers: Mapping[str, str] | None = None
    ) -> ServiceResponse:
        """The response, whatever its status; ServiceUnavailable (503) when it cannot be reached.
        ``headers`` adds to the token and trace headers (e.g. ``X-Hub-Tenant``: whom the call is for)."""
        headers = inject_trace_headers({**(headers or {}), **self._minter.headers_for(self.audience)})
        body = None
        if json is not None:
            body = jsonutil.dumps(json)
            headers["content-type"] = "application/json"
        try:
            if self._httpx is not None:
                answer = await self._httpx.request(method, path, content=body, headers=headers)
                return ServiceResponse(answer.status_code, _lowered(answer.headers.items()), answer.content)
            async with self._open().request(method, self.base_url + path, data=body, headers=headers) as resp:
                content = await resp.read()
                return ServiceResponse(resp.status, _lowered(resp.headers.items()), content)
        except (aiohttp.ClientError, httpx.HTTPError, TimeoutError, OSError) as exc:
            raise ServiceUnavailable(
                f"{self.audience} unreachable ({type(exc).__name__})", code=f"{self.audience}_unavailable"
            ) from None

    def _open(self) -> aiohttp.ClientSession:
        # Created on first use, inside the running loop it will serve.
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                timeout=self._timeout,
                cookie_jar=aiohttp.DummyCookieJar(),  # services keep no cookies for each other
                connector=aiohttp.TCPConnector(limit=100),
                skip_auto_headers=("User-Agent",),
            )
        return self._session
