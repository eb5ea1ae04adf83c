"""The smallest ASGI apps: the floors a Python HTTP service reaches on this machine.

``bench/vault_bench.py`` serves this with the same uvicorn settings as a hub service (uvloop,
httptools, no access log) and drives it with the same client at the same rate, in the same run,
so the vault's latency can be read against what the machine allows at that moment:

* any GET: an empty answer, nothing else (the floor of HTTP alone);
* a PUT, when ``FLOOR_POSTGRES_DSN`` is set: reads the body and upserts one row of a similar
  size with one asyncpg statement before answering — the floor of "HTTP plus one durable write
  to the same Postgres", which a credential store cannot go below. No audit row, no event, no
  encryption, no auth: what the vault adds to that is what it costs.
"""

from __future__ import annotations

import os
from typing import Any

import asyncpg

TABLE = "bench_floor_rows"
_UPSERT = (
    f"INSERT INTO {TABLE} (k, v) VALUES ($1, $2) "  # noqa: S608 - constant table name
    f"ON CONFLICT (k) DO UPDATE SET v = EXCLUDED.v, n = {TABLE}.n + 1"
)
_pool: asyncpg.Pool | None = None


async def _lifespan(receive: Any, send: Any) -> None:
    global _pool
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            dsn = os.environ.get("FLOOR_POSTGRES_DSN")
            if dsn:
                _pool = await asyncpg.create_pool(dsn, min_size=2, max_size=4)
                await _pool.execute(
                    f"CREATE TABLE IF NOT EXISTS {TABLE} (k int PRIMARY KEY, v bytea, n bigint DEFAULT 0)"
                )
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            if _pool is not None:
                await _pool.close()
            await send({"type": "lifespan.shutdown.complete"})
            return


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        await _lifespan(receive, send)
        return
    if scope["type"] != "http":
        return
    if scope["method"] == "PUT" and _pool is not None:
        body = b""
        more = True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        # Sealed-value-sized: the vault stores ~130 bytes of ciphertext, nonces and wrapped key.
        await _pool.execute(_UPSERT, hash(scope["path"]) % 1000, os.urandom(64) + body)
    headers = [(b"content-type", b"application/json"), (b"content-length", b"2")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": b"{}"})
