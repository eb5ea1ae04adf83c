"""The connectors service against the real stack: Postgres, Kafka, and the real vault service
(in-process uvicorn on its own port). The gateway does not exist yet, so a small stand-in serves
``/v1/proxy/{connection_id}/{path}`` the way the gateway will: it checks the caller's service
token, reads the connection's API key from the vault *as the gateway*, and plays the provider.
It also answers the oauth service's revocation route, to show that seam being used.

One connectors app serves the whole session (consumer groups take seconds to join); tests keep
apart by using their own tenants.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import socket
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import httpx
import pytest
import uvicorn
from asgi_lifespan import LifespanManager
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from hub_common.clients.vault import VaultClient
from hub_common.db.migrations import migrate
from hub_common.errors import HubError
from hub_common.testing import eventually as shared_eventually
from hub_common.testing.service_keys import service_key_settings, service_minter
from hub_common.web.auth import Authenticator, mint_user_token
from hub_connectors.app import create_app
from hub_connectors.cli import SPEC
from hub_connectors.config import ConnectorsSettings
from hub_connectors.inject import Container
from hub_vault.app import create_app as create_vault_app
from hub_vault.cli import SPEC as VAULT_SPEC
from hub_vault.config import VaultSettings


def _free_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


@asynccontextmanager
async def serve(app: Any) -> AsyncIterator[str]:
    """Run an ASGI app on a free local port for the duration of the block."""
    sock = _free_socket()
    server = uvicorn.Server(uvicorn.Config(app, log_config=None, lifespan="on"))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        if task.done():
            task.result()
            raise RuntimeError("server did not start")
        await asyncio.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        await task
        sock.close()


@pytest.fixture(scope="session")
async def migrated_dsn(new_database) -> str:
    """A database of our own on the session's server (other suites run their own vaults against
    other databases with other keyrings), with the vault's and our schema."""
    dsn = await new_database("connectors_test")
    await migrate(dsn, VAULT_SPEC.schema, VAULT_SPEC.migration_sources())
    await migrate(dsn, SPEC.schema, SPEC.migration_sources())
    return dsn


@pytest.fixture(scope="session")
async def vault_url(migrated_dsn, kafka_bootstrap, tmp_path_factory) -> AsyncIterator[str]:
    settings = VaultSettings(
        environment="test",
        **service_key_settings("vault"),
        postgres_dsn=migrated_dsn,
        kafka_bootstrap=kafka_bootstrap,
        vault_dev_keyring_path=tmp_path_factory.mktemp("vault") / "keyring.json",
        outbox_poll_interval_s=0.2,
        log_json=False,
    )
    async with serve(create_vault_app(settings)) as url:
        yield url


def service_client(url: str, service: str) -> VaultClient:
    return VaultClient(url, service_minter(service), timeout_s=10)


@dataclass
class FakeGateway:
    """The gateway and provider stand-in (plus the oauth revocation route)."""

    vault: VaultClient
    authenticator: Authenticator
    url: str = ""
    down: bool = False
    revoked_keys: set[str] = field(default_factory=set)
    calls: list[tuple[str, str, str]] = field(default_factory=list)  # (connection, path, caller)
    revocations: list[tuple[str, str]] = field(default_factory=list)  # (connection, caller)
    seen_headers: list[dict[str, str]] = field(default_factory=list)
    # Content export: documents per connection, pages of two by offset; a page may be held by a gate.
    documents: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    doc_pages_served: list[tuple[str, int]] = field(default_factory=list)
    doc_gates: dict[tuple[str, int], asyncio.Event] = field(default_factory=dict)
    issued_secrets: dict[str, str] = field(default_factory=dict)  # PagerDuty-style, per connection
    doc_failures: dict[str, list[int]] = field(default_factory=dict)  # statuses the next doc pages get

    @staticmethod
    def account_for(key: str) -> str:
        return "acct-" + hashlib.sha256(key.encode()).hexdigest()[:10]

    def calls_to(self, connection_id: str, path: str | None = None) -> int:
        return sum(1 for c, p, _ in self.calls if c == connection_id and (path is None or p == path))

    async def proxy(self, request: Request) -> JSONResponse:
        token = request.headers.get("authorization", "").removeprefix("Bearer ")
        cid, path = request.path_params["cid"], request.path_params["path"]
        tenant = request.headers.get("x-hub-tenant", "")
        try:
            caller = self.authenticator.verify_service(token, "gateway")
        except HubError:
            # A plugin worker's token: scoped to one connection, as the gateway checks it.
            try:
                caller = self.authenticator.verify_service(token, "gateway", typ="plugin")
            except HubError:
                return JSONResponse({"error": {"code": "unauthorized", "message": "no", "details": {}}}, 401)
            if caller.claims.get("conn") != cid:
                return JSONResponse({"error": {"code": "not_found", "message": "no", "details": {}}}, 404)
            tenant = str(caller.claims.get("tenant"))
        self.calls.append((cid, path, caller.service_id or ""))
        self.seen_headers.append(dict(request.headers))
        if self.down:
            return JSONResponse(
                {
                    "error": {
                        "code": "provider_unreachable",
                        "message": "provider did not answer",
                        "details": {},
                    }
                },
                502,
            )
        key = await self.vault.read(tenant, cid, "api_key")
        if path == "me":
            if key is None or not key.startswith("good") or key in self.revoked_keys:
                return JSONResponse({"message": "Bad credentials"}, 401)
            return JSONResponse({"id": self.account_for(key), "name": "Echo User"})
        if path == "user":  # OAuthThing's identity (its health check after a connect)
            return JSONResponse({"id": "oauth-user", "name": "OAuth User"})
        if path == "echo":
            return JSONResponse({"echo": await request.json()})
        if path == "docs":
            offset = int(request.query_params.get("offset", "0"))
            gate = self.doc_gates.get((cid, offset))
            if gate is not None:
                await gate.wait()
            self.doc_pages_served.append((cid, offset))
            failures = self.doc_failures.get(cid)
            if failures:
                status = failures.pop(0)
                return JSONResponse({"message": f"failed with {status}", "token": "leak-me-not"}, status)
            docs = self.documents.get(cid, [])
            return JSONResponse({"docs": docs[offset : offset + 2], "more": len(docs) > offset + 2})
        if path == "webhook_subscriptions" and request.method == "POST":
            sent = await request.json()
            secret = self.issued_secrets[cid] = f"pd-issued-{uuid.uuid4().hex}"
            method = {**sent["delivery_method"], "secret": secret}
            return JSONResponse(
                {"webhook_subscription": {"id": f"PWH{cid[:6]}", "delivery_method": method}}, 201
            )
        if path.startswith("webhook_subscriptions/") and request.method == "DELETE":
            return JSONResponse({}, 204) if path.endswith(f"PWH{cid[:6]}") else JSONResponse({}, 404)
        if path == "limited":
            body = {"message": "API rate limit exceeded", "access_token": "leaked-token-value"}
            return JSONResponse(body, 429, headers={"Retry-After": "12"})
        return JSONResponse({"message": "not found"}, 404)

    # The gateway's rate-limit route, as it answers the connectors service naming a tenant.
    rate_limited: set[str] = field(default_factory=set)  # connections shown blocked

    async def rate_limit(self, request: Request) -> JSONResponse:
        token = request.headers.get("authorization", "").removeprefix("Bearer ")
        caller = self.authenticator.verify_service(token, "gateway")
        tenant, cid = request.headers.get("x-hub-tenant"), request.path_params["cid"]
        self.calls.append((cid, "rate-limit", f"{caller.service_id}:{tenant}"))
        blocked = cid in self.rate_limited
        return JSONResponse({
            "connection_id": cid, "connector_id": "echoapi", "requests_limit": 5000,
            "requests_remaining": 0 if blocked else 4321, "reset_at": "2031-01-02T03:04:05+00:00",
            "is_limited": blocked, "retry_after_s": 60 if blocked else None,
            "gateway": [{"scope": "connection", "limit": 100, "rate_per_s": 10.0, "remaining": 99,
                         "reset_at": "2031-01-02T03:04:05+00:00"}],
            "provider": [{"api_name": "core", "limit": 5000, "remaining": 4321,
                          "reset_at": "2031-01-02T03:04:05+00:00", "updated_at": None}],
            "provider_blocks": [{"scope": "connection", "until": "2031-01-02T03:09:00+00:00",
                                 "path_prefix": None}] if blocked else [],
        })  # fmt: skip

    async def revoke(self, request: Request) -> JSONResponse:
        token = request.headers.get("authorization", "").removeprefix("Bearer ")
        caller = self.authenticator.verify_service(token, "oauth")
        self.revocations.append((request.path_params["cid"], caller.service_id or ""))
        return JSONResponse({"revoked": True})

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route(
                    "/v1/proxy/{cid}/{path:path}",
                    self.proxy,
                    methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
                ),
                Route("/v1/oauth/connections/{cid}/revoke", self.revoke, methods=["POST"]),
                Route("/v1/connections/{cid}/rate-limit", self.rate_limit, methods=["GET"]),
            ]
        )


@dataclass
class FakeWebhooks:
    """The webhooks service's registrations API as it answers the connectors service (its token,
    X-Hub-Tenant/-Tier/-User): kept in memory; ``auto`` works unless ``refuse_auto`` (then
    ``manual_only``, as for Slack); manual ones get a secret and steps."""

    authenticator: Authenticator
    url: str = ""
    registrations: dict[str, dict[str, Any]] = field(default_factory=dict)
    calls: list[tuple[str, str, str]] = field(default_factory=list)  # (method, tenant, user)
    refuse_auto: bool = False

    def _caller(self, request: Request) -> tuple[str, str]:
        token = request.headers.get("authorization", "").removeprefix("Bearer ")
        assert self.authenticator.verify_service(token, "webhooks").service_id == "connectors"
        tenant, user = request.headers["x-hub-tenant"], request.headers["x-hub-user"]
        assert request.headers["x-hub-tier"]
        self.calls.append((request.method, tenant, user))
        return tenant, user

    def of(self, tenant: str) -> list[dict[str, Any]]:
        return [r for r in self.registrations.values() if r["tenant"] == tenant]

    async def collection(self, request: Request) -> JSONResponse:
        tenant, _ = self._caller(request)
        if request.method == "GET":
            cid = request.query_params.get("connection_id")
            found = [r for r in self.of(tenant) if cid in (None, r["connection_id"])]
            return JSONResponse({"registrations": [self._out(r) for r in found], "next_cursor": None})
        body = await request.json()
        if body["mode"] == "auto" and self.refuse_auto:
            error = {"code": "manual_only", "message": "configured in the provider's settings", "details": {}}
            return JSONResponse({"error": error}, 422)
        rid = str(uuid.uuid4())
        row = {"id": rid, "tenant": tenant, "connection_id": body["connection_id"], "mode": body["mode"],
               "trigger_ids": body["trigger_ids"], "status": "active"}  # fmt: skip
        self.registrations[rid] = row
        out = self._out(row)
        if body["mode"] == "manual":
            out.update(secret=f"whsec-{rid[:8]}-shown-once", steps=[f"Set the webhook URL to: {out['url']}",
                       "Store it with PUT /v1/webhooks/registrations/{id}/secret"])  # fmt: skip
        return JSONResponse(out, 201)

    async def one(self, request: Request) -> JSONResponse:
        tenant, _ = self._caller(request)
        row = self.registrations.get(request.path_params["rid"])
        if row is None or row["tenant"] != tenant:
            error = {
                "code": "registration_not_found",
                "message": "no such webhook registration",
                "details": {},
            }
            return JSONResponse({"error": error}, 404)
        del self.registrations[row["id"]]
        return JSONResponse(None, 204)

    async def secret(self, request: Request) -> JSONResponse:
        tenant, _ = self._caller(request)
        row = self.registrations.get(request.path_params["rid"])
        if row is None or row["tenant"] != tenant or len((await request.json())["secret"]) < 8:
            return JSONResponse(
                {"error": {"code": "registration_not_found", "message": "no", "details": {}}}, 404
            )
        row["status"] = "active"
        return JSONResponse(self._out(row))

    def _out(self, row: dict[str, Any]) -> dict[str, Any]:
        return {"id": row["id"], "connection_id": row["connection_id"], "connector_id": "x",
                "url": f"{self.url}/webhooks/x/{row['id']}", "mode": row["mode"], "status": row["status"],
                "events": [], "trigger_ids": row["trigger_ids"], "filter": None, "received_count": 0,
                "last_received_at": None, "last_error": None, "last_error_at": None,
                "created_at": "2030-01-01T00:00:00+00:00"}  # fmt: skip

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/v1/webhooks/registrations", self.collection, methods=["GET", "POST"]),
                Route("/v1/webhooks/registrations/{rid}", self.one, methods=["DELETE"]),
                Route("/v1/webhooks/registrations/{rid}/secret", self.secret, methods=["PUT"]),
            ]
        )


@pytest.fixture(scope="session")
async def webhooks() -> AsyncIterator[FakeWebhooks]:
    fake = FakeWebhooks(
        Authenticator(ConnectorsSettings(environment="test", **service_key_settings("webhooks")))
    )
    async with serve(fake.app()) as url:
        fake.url = url
        yield fake


@pytest.fixture(scope="session")
async def gateway(vault_url) -> AsyncIterator[FakeGateway]:
    fake = FakeGateway(
        service_client(vault_url, "gateway"),
        Authenticator(ConnectorsSettings(environment="test", **service_key_settings("gateway"))),
    )
    async with serve(fake.app()) as url:
        fake.url = url
        yield fake
    await fake.vault.aclose()


@pytest.fixture(scope="session")
def settings(migrated_dsn, kafka_bootstrap, vault_url, gateway, webhooks) -> ConnectorsSettings:
    return ConnectorsSettings(
        environment="test",
        **service_key_settings("connectors"),
        postgres_dsn=migrated_dsn,
        kafka_bootstrap=kafka_bootstrap,
        vault_url=vault_url,
        gateway_url=gateway.url,
        oauth_url=gateway.url,
        webhooks_url=webhooks.url,
        log_json=False,
        outbox_poll_interval_s=0.1,
        connectors_load_plugins=False,
        outbound_allowlist="eu.echo.test",  # a test host that resolves nowhere, allowed on purpose
        connectors_consumer_group_prefix=f"connectors-test-{uuid.uuid4().hex[:8]}",
        # A fresh group per session: start at the end, not at the shared topics' whole history.
        connectors_consumer_offset_reset="latest",
        connectors_action_timeout_s=1.0,
        connectors_health_timeout_s=3.0,
        connectors_plugin_calls_per_connector=8,
        connectors_export_lease_s=2.0,
        connectors_export_poll_interval_s=0.2,
    )


@pytest.fixture(scope="session")
async def container(settings, kit) -> AsyncIterator[Container]:
    container = Container(settings, registry=kit.make_registry())
    app = create_app(settings, container=container)
    async with LifespanManager(app, startup_timeout=60, shutdown_timeout=60):
        assert container.workers is not None
        await container.workers.wait_assigned(60)
        await asyncio.sleep(1.0)  # let "latest" resolve to positions before anything is produced
        container.app = app  # type: ignore[attr-defined]
        yield container


@pytest.fixture(scope="session")
async def api(container) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=container.app)  # type: ignore[attr-defined]
    async with httpx.AsyncClient(transport=transport, base_url="http://connectors", timeout=30) as client:
        yield client


@pytest.fixture(scope="session")
def vault_as_connectors(vault_url) -> VaultClient:
    return service_client(vault_url, "connectors")


Auth = Callable[..., dict[str, str]]


@pytest.fixture(scope="session")
def auth(settings) -> Auth:
    def headers(tenant: str, tier: str = "teams", user: str = "alice") -> dict[str, str]:
        return {"Authorization": f"Bearer {mint_user_token(settings, tenant=tenant, user=user, tier=tier)}"}

    return headers


@pytest.fixture
def tenant() -> str:
    return f"tenant-{uuid.uuid4().hex[:10]}"


eventually = partial(shared_eventually, timeout_s=15.0, interval_s=0.1)


@pytest.fixture(scope="session")
def wait_for() -> Callable[..., Any]:
    return eventually


# -- the Integration Manager UI over HTTP (test_ui*.py) ---------------------------------------------


def csrf_of(html: str, name: str = "csrf_token") -> str:
    found = re.search(rf'name="{name}" value="([^"]+)"', html)
    assert found, html[:500]
    return found.group(1)


@pytest.fixture
async def browser(container) -> AsyncIterator[httpx.AsyncClient]:
    """A browser's view of the UI: cookies kept, forms posted (no JavaScript to run)."""
    transport = httpx.ASGITransport(app=container.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://connectors", timeout=30) as client:
        yield client


async def ui_sign_in(
    browser: httpx.AsyncClient, settings: ConnectorsSettings, tenant: str, tier: str = "enterprise"
) -> str:
    """Signs in with a bearer token; returns the session's CSRF token."""
    page = await browser.get("/ui/login")
    token = mint_user_token(settings, tenant=tenant, user="alice", tier=tier)
    signed = await browser.post(
        "/ui/login", data={"token": f"Bearer {token}", "login_csrf": csrf_of(page.text, "login_csrf")}
    )
    assert signed.status_code == 303 and signed.headers["location"] == "/ui/connections", signed.text
    return csrf_of((await browser.get("/ui/connections")).text)
