"""Test servers for the gateway's integration tests, each on its own thread and event loop (so
they keep answering while a test blocks, e.g. while a gateway process starts).

* :class:`ProviderSimulator` — the upstream provider: records every request exactly as received
  and answers with whatever a test scripts (status, headers, body, delay, streaming);
* :class:`ConnectionLookup` — stands in ONLY for the connectors service's connection lookup
  (``GET /internal/v1/connections/{id}``, the contract the gateway is built against), serving
  connections from a dict and checking the gateway's service token;
* :class:`OAuthRefreshStandIn` — stands in for the oauth service's
  ``POST /v1/oauth/connections/{id}/refresh``: checks the gateway's service token, and when the
  stale token is still the stored one, rotates ``access_token`` in the REAL vault (as the
  ``oauth`` service) — the gateway then re-reads it from the vault;
* :class:`OtlpCollector` — receives the gateway's OTLP/HTTP trace exports (raw protobuf kept).

Everything else the tests touch is real: Postgres, Kafka, Redis, the vault process and the
gateway processes.
"""

from __future__ import annotations

import asyncio
import hashlib
import threading
import time
import uuid
from collections.abc import Awaitable, Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from hub_common.clients.vault import VaultClient
from hub_common.settings import HubSettings
from hub_common.testing.service_keys import service_minter
from hub_common.web.auth import Authenticator
from hub_e2e.processes import free_port


class ThreadedServer:
    """An aiohttp web app served from a background thread."""

    def __init__(self) -> None:
        self.port = free_port()
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def build(self) -> web.Application:
        raise NotImplementedError

    def start(self) -> ThreadedServer:
        self._thread.start()
        self.call(self._start())
        return self

    async def _start(self) -> None:
        self._runner = web.AppRunner(self.build(), access_log=None, handle_signals=False)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    def call(self, coro: Awaitable[Any]) -> Any:
        future: Future[Any] = asyncio.run_coroutine_threadsafe(coro, self.loop)  # type: ignore[arg-type]
        return future.result(30)

    def stop(self) -> None:
        if self._runner is not None:
            self.call(self._runner.cleanup())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(5)


@dataclass
class Recorded:
    method: str
    raw_path: str  # path and query, exactly as sent
    headers: list[tuple[str, str]]
    body: bytes
    at: float

    def header(self, name: str) -> str | None:
        return next((v for n, v in self.headers if n.lower() == name.lower()), None)

    def header_names(self) -> set[str]:
        return {n.lower() for n, _ in self.headers}


@dataclass
class Scripted:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b'{"ok": true}'
    delay_s: float = 0.0
    stream_chunks: int = 0  # > 0: send the body this many times, chunked
    chunk_delay_s: float = 0.0  # between those chunks (a slow feed: SSE, a streamed completion)
    parts: tuple[bytes, ...] = ()  # instead of body: these chunks, chunked


Responder = Callable[[Recorded], Scripted]


class ProviderSimulator(ThreadedServer):
    def __init__(self) -> None:
        super().__init__()
        self.requests: list[Recorded] = []
        self.routes: dict[str, Responder] = {}  # key: path prefix (first match, longest first)
        self.cut_short: list[tuple[str, float]] = []  # streamed answers whose reader went away: (path, when)
        self.uploads_cut_short: list[tuple[str, float]] = []  # request bodies the gateway broke off

    def on(self, prefix: str, responder: Responder | Scripted) -> None:
        self.routes[prefix] = responder if callable(responder) else (lambda _r, s=responder: s)

    def seen(self, prefix: str) -> list[Recorded]:
        return [r for r in self.requests if r.raw_path.startswith(prefix)]

    def build(self) -> web.Application:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        return app

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        try:
            body = await request.read()
        except BaseException:  # the gateway closed the upload before its end
            self.uploads_cut_short.append((request.path, time.time()))
            raise
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in request.raw_headers]
        rec = Recorded(request.method, request.raw_path, headers, body, time.time())
        self.requests.append(rec)
        responder = next(
            (
                r
                for p, r in sorted(self.routes.items(), key=lambda kv: -len(kv[0]))
                if rec.raw_path.startswith(p)
            ),
            None,
        )
        script = responder(rec) if responder else Scripted(body=b'{"echo": "%s"}' % rec.raw_path.encode())
        if script.delay_s:
            await asyncio.sleep(script.delay_s)
        if script.stream_chunks or script.parts:
            resp = web.StreamResponse(status=script.status, headers=script.headers)
            resp.enable_chunked_encoding()
            await resp.prepare(request)
            try:
                for part in script.parts or (script.body,) * script.stream_chunks:
                    await resp.write(part)
                    if script.chunk_delay_s:
                        await asyncio.sleep(script.chunk_delay_s)
                await resp.write_eof()
            except ConnectionError:  # the gateway closed the connection mid-answer
                self.cut_short.append((request.path, time.time()))
                raise
            return resp
        headers = {"Content-Type": "application/json", **script.headers}
        return web.Response(status=script.status, headers=headers, body=script.body)


class ConnectionLookup(ThreadedServer):
    """Stands in for the connectors service's connection lookup only (see module docstring)."""

    def __init__(self, settings: HubSettings) -> None:
        super().__init__()
        self.connections: dict[str, dict[str, Any]] = {}
        self.lookups: list[str] = []
        self._auth = Authenticator(settings)

    def add(self, body: dict[str, Any]) -> None:
        self.connections[str(body["id"])] = body

    def build(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/internal/v1/connections/{id}", self._lookup)
        return app

    async def _lookup(self, request: web.Request) -> web.Response:
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        try:
            principal = self._auth.verify_service(token, "connectors")
        except Exception:
            return web.json_response({"error": {"code": "unauthorized"}}, status=401)
        if principal.service_id != "gateway":
            return web.json_response({"error": {"code": "forbidden"}}, status=403)
        cid = request.match_info["id"]
        self.lookups.append(cid)
        body = self.connections.get(cid)
        if body is None:
            return web.json_response({"error": {"code": "connection_not_found"}}, status=404)
        return web.json_response(body)


class OAuthRefreshStandIn(ThreadedServer):
    """Stands in for the oauth service's refresh route (see module docstring)."""

    def __init__(self, settings: HubSettings, vault_url: str) -> None:
        super().__init__()
        self._settings = settings
        self._vault_url = vault_url
        self._auth = Authenticator(settings)
        self.calls: list[dict[str, Any]] = []
        self.next_tokens: dict[str, list[str]] = {}
        self._lock: asyncio.Lock | None = None

    def build(self) -> web.Application:
        self._lock = asyncio.Lock()
        app = web.Application()
        app.router.add_post("/v1/oauth/connections/{id}/refresh", self._refresh)
        return app

    async def _refresh(self, request: web.Request) -> web.Response:
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        try:
            principal = self._auth.verify_service(token, "oauth")
        except Exception:
            return web.json_response({"error": {"code": "unauthorized"}}, status=401)
        body = await request.json()
        cid = request.match_info["id"]
        self.calls.append({"connection_id": cid, "service": principal.service_id, **body})
        assert self._lock is not None
        async with self._lock:  # oauth's single flight, in miniature
            vault = VaultClient(self._vault_url, service_minter("oauth"))
            try:
                current = await vault.read(body["tenant_id"], cid, "access_token")
                stale = body.get("stale_token_sha256")
                if current is None or hashlib.sha256(current.encode()).hexdigest() != stale:
                    return web.json_response({"refreshed": False, "expires_at": None, "generation": 1})
                queue = self.next_tokens.get(cid) or [f"rotated-{uuid.uuid4().hex}"]
                await vault.store(body["tenant_id"], cid, "access_token", queue.pop(0))
            finally:
                await vault.aclose()
        return web.json_response({"refreshed": True, "expires_at": None, "generation": 2})


class OtlpCollector(ThreadedServer):
    def __init__(self) -> None:
        super().__init__()
        self.payloads: list[bytes] = []

    def build(self) -> web.Application:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_post("/v1/traces", self._traces)
        app.router.add_post("/v1/metrics", self._ok)
        return app

    async def _traces(self, request: web.Request) -> web.Response:
        self.payloads.append(await request.read())
        return web.Response(status=200, content_type="application/x-protobuf", body=b"")

    async def _ok(self, request: web.Request) -> web.Response:
        await request.read()
        return web.Response(status=200, content_type="application/x-protobuf", body=b"")


def manifest(
    *,
    connector_id: str = "simapi",
    base_url: str,
    method: str = "api_key",
    api_key: dict[str, str] | None = None,
    allowed_hosts: list[str] | None = None,
    default_headers: dict[str, str] | None = None,
    base_url_template: str | None = None,
    builtin: bool = True,
    fields: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    auth: dict[str, Any] = {"method": method}
    if method == "oauth2":
        auth["oauth"] = {
            "authorization_url": "https://sim.example/authorize",
            "token_url": "https://sim.example/token",
        }
    if method == "api_key":
        auth["api_key"] = api_key or {"location": "header", "name": "X-Api-Key", "prefix": ""}
    if fields:
        auth["fields"] = fields
    api: dict[str, Any] = {
        "base_url": base_url,
        "allowed_hosts": allowed_hosts or [],
        "default_headers": default_headers or {},
    }
    if base_url_template:
        api["base_url_template"] = base_url_template
    return {
        "id": connector_id,
        "name": connector_id,
        "version": "1.0.0",
        "category": "custom",
        "description": "simulated",
        "auth": auth,
        "api": api,
        "builtin": builtin,
    }


def connection(
    *,
    tenant_id: str,
    manifest_body: dict[str, Any],
    config: dict[str, Any] | None = None,
    status: str = "active",
    connection_id: str | None = None,
) -> dict[str, Any]:
    return {
        "id": connection_id or str(uuid.uuid4()),
        "tenant_id": tenant_id,
        "user_id": "u-1",
        "connector_id": manifest_body["id"],
        "status": status,
        "auth_method": manifest_body["auth"]["method"],
        "config": config or {},
        "manifest": manifest_body,
    }


class Dropper(ThreadedServer):
    """Accepts TCP connections and closes them at once (a provider that resets): counts them."""

    def __init__(self) -> None:
        super().__init__()
        self.connections = 0
        self._server: asyncio.AbstractServer | None = None

    async def _start(self) -> None:
        async def drop(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            self.connections += 1
            writer.close()

        self._server = await asyncio.start_server(drop, "127.0.0.1", self.port)

    async def _close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    def stop(self) -> None:
        self.call(self._close())  # on the server's own loop: asyncio servers are not thread-safe
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(5)
