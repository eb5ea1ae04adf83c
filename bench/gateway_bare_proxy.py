"""Bare reverse proxies for choosing the gateway's upstream client (ADR 0006), run by
bench/gateway_bench.py: the same raw ASGI app on uvicorn, forwarding every request to
``BARE_UPSTREAM`` with one shared client — the gateway's own HTTP/1.1 client, aiohttp's, or
httpx's default transport (``BARE_CLIENT=hub|aiohttp|httpx``). Nothing else (no auth, no
limits): only the client differs.

    BARE_CLIENT=aiohttp BARE_UPSTREAM=http://127.0.0.1:18090 \\
        uvicorn gateway_bare_proxy:app --port 18100 --app-dir bench
"""

from __future__ import annotations

import os
from typing import Any

UPSTREAM = os.environ.get("BARE_UPSTREAM", "http://127.0.0.1:18090")
CLIENT = os.environ.get("BARE_CLIENT", "aiohttp")
_client: Any = None


async def _get_client() -> Any:
    global _client
    if _client is None:
        if CLIENT == "hub":
            from hub_gateway.adapters.http1 import Http1Client

            _client = Http1Client(allowlist=["127.0.0.1"], connect_timeout_s=5, read_timeout_s=30)
        elif CLIENT == "aiohttp":
            import aiohttp

            _client = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=512), auto_decompress=False)
        else:
            import httpx

            _client = httpx.AsyncClient(limits=httpx.Limits(max_connections=512))
    return _client


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    client = await _get_client()
    url = UPSTREAM + scope["path"]
    if CLIENT == "hub":
        resp = await client.request(scope["method"], url, [])
        body, status = await resp.read(), resp.status
    elif CLIENT == "aiohttp":
        async with client.request(scope["method"], url) as resp:
            body = await resp.read()
            status = resp.status
    else:
        resp = await client.request(scope["method"], url)
        body, status = resp.content, resp.status_code
    await send(
        {"type": "http.response.start", "status": status, "headers": [(b"content-type", b"application/json")]}
    )
    await send({"type": "http.response.body", "body": body})
