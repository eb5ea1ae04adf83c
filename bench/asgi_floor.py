"""The smallest ASGI app: the floor a Python HTTP service reaches on this machine.

``bench/vault_bench.py`` serves it with the same uvicorn settings as a hub service (uvloop,
httptools, no access log) and drives it with the same client at the same rate, in the same run,
so the vault's latency can be read against what the machine allows at that moment.
"""

from __future__ import annotations

from typing import Any


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    headers = [(b"content-type", b"application/json"), (b"content-length", b"2")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": b"{}"})
