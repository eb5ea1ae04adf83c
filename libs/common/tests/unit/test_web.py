import time

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi import APIRouter
from pydantic import BaseModel

from hub_common.errors import Conflict, Unauthorized
from hub_common.service_keys import format_public_keys
from hub_common.settings import HubSettings
from hub_common.testing.service_keys import SERVICE_KEYS, service_minter
from hub_common.web import ReadinessCheck, create_app
from hub_common.web.auth import (
    AnyPrincipal,
    Authenticator,
    ServiceTokenMinter,
    UserPrincipal,
    mint_user_token,
)

pytestmark = pytest.mark.unit


class Body(BaseModel):
    name: str
    count: int


def make_app(ready: bool = True):
    gateway_key = SERVICE_KEYS.private_key("gateway").public_key()
    settings = HubSettings(
        service_name="testsvc",
        environment="test",
        service_public_keys=format_public_keys([("gateway", gateway_key)]),
    )

    async def check() -> bool:
        return ready

    app = create_app(settings, title="t", readiness=lambda: [ReadinessCheck("dep", check)])
    router = APIRouter()

    @router.get("/me")
    async def me(principal: UserPrincipal) -> dict:
        return {"tenant": principal.tenant_id, "user": principal.user_id, "tier": principal.tier}

    @router.get("/either")
    async def either(principal: AnyPrincipal) -> dict:
        return {"kind": principal.kind, "service": principal.service_id}

    @router.post("/items")
    async def items(body: Body) -> dict:
        raise Conflict("already there", code="item_exists", details={"name": body.name})

    @router.get("/boom")
    async def boom() -> dict:
        raise RuntimeError("kaboom with secret sk-proj-abcdefghijklmnopqrstuvwxyz")

    app.include_router(router)
    return app, settings


async def call(app, method: str, path: str, **kw) -> httpx.Response:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        return await client.request(method, path, **kw)


async def test_health_ready_and_metrics() -> None:
    app, _ = make_app()
    assert (await call(app, "GET", "/healthz")).json() == {"status": "ok"}
    ready = await call(app, "GET", "/readyz")
    assert ready.status_code == 200 and ready.json()["checks"] == {"dep": "ok"}
    assert "hub_http_request_duration_seconds" in (await call(app, "GET", "/metrics")).text
    not_ready, _ = make_app(ready=False)
    resp = await call(not_ready, "GET", "/readyz")
    assert resp.status_code == 503 and resp.json()["checks"] == {"dep": "failing"}


async def test_uniform_error_bodies_and_request_ids() -> None:
    app, _ = make_app()
    trace_id = "4bf92f3577b34da6a3ce929d0e0e4736"
    resp = await call(
        app,
        "POST",
        "/items",
        json={"name": "a", "count": 1},
        headers={"traceparent": f"00-{trace_id}-00f067aa0ba902b7-01", "x-request-id": "req-42"},
    )
    assert resp.status_code == 409
    # One id: the trace id, whatever the caller put in X-Request-Id.
    assert resp.headers["x-request-id"] == trace_id
    assert resp.json()["error"] == {
        "code": "item_exists",
        "message": "already there",
        "details": {"name": "a"},
        "request_id": trace_id,
    }
    invalid = await call(app, "POST", "/items", json={"name": "a", "count": "super-secret-value"})
    body = invalid.json()["error"]
    assert invalid.status_code == 422 and body["code"] == "validation_error"
    assert body["details"]["fields"][0]["loc"] == ["body", "count"]
    assert "super-secret-value" not in invalid.text  # inputs are never echoed
    missing = await call(app, "GET", "/nope")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    boom = await call(app, "GET", "/boom")
    assert boom.status_code == 500 and boom.json()["error"]["code"] == "internal_error"
    assert "sk-proj" not in boom.text and "kaboom" not in boom.text
    # The 500 carries the id it asks the caller to quote, in the body and the header.
    rid = boom.headers["x-request-id"]
    assert len(rid) == 32 and boom.json()["error"]["request_id"] == rid


async def test_user_tokens() -> None:
    app, settings = make_app()
    token = mint_user_token(settings, tenant="acme", user="alice", tier="teams")
    ok = await call(app, "GET", "/me", headers={"Authorization": f"Bearer {token}"})
    assert ok.json() == {"tenant": "acme", "user": "alice", "tier": "teams"}
    assert (await call(app, "GET", "/me")).json()["error"]["code"] == "missing_token"
    expired = mint_user_token(settings, tenant="acme", user="alice", tier="teams", ttl_s=-120)
    resp = await call(app, "GET", "/me", headers={"Authorization": f"Bearer {expired}"})
    assert resp.status_code == 401 and resp.json()["error"]["code"] == "token_expired"
    forged = jwt.encode(
        {
            "sub": "u",
            "tenant": "acme",
            "tier": "enterprise",
            "iss": settings.jwt_issuer,
            "aud": settings.jwt_audience,
            "exp": time.time() + 60,
        },
        "wrong-key-wrong-key-wrong-key-32b",
        algorithm="HS256",
    )
    resp = await call(app, "GET", "/me", headers={"Authorization": f"Bearer {forged}"})
    assert resp.status_code == 401 and resp.json()["error"]["code"] == "invalid_token"
    no_tier = jwt.encode(
        {
            "sub": "u",
            "tenant": "acme",
            "tier": "platinum",
            "iss": settings.jwt_issuer,
            "aud": settings.jwt_audience,
            "exp": time.time() + 60,
        },
        settings.jwt_dev_secret.get_secret_value(),
        algorithm="HS256",
    )
    assert (await call(app, "GET", "/me", headers={"Authorization": f"Bearer {no_tier}"})).status_code == 401


async def test_service_tokens() -> None:
    app, _ = make_app()
    minter = service_minter("gateway")
    resp = await call(app, "GET", "/either", headers=minter.headers_for("testsvc"))
    assert resp.json() == {"kind": "service", "service": "gateway"}
    wrong_aud = await call(app, "GET", "/either", headers=minter.headers_for("othersvc"))
    assert wrong_aud.status_code == 401
    impostor = ServiceTokenMinter("gateway", Ed25519PrivateKey.generate())
    assert (await call(app, "GET", "/either", headers=impostor.headers_for("testsvc"))).status_code == 401
    unknown = ServiceTokenMinter("mallory", Ed25519PrivateKey.generate())
    resp = await call(app, "GET", "/either", headers=unknown.headers_for("testsvc"))
    assert resp.json()["error"]["code"] == "unknown_service"
    # A service token never passes as a user.
    assert (await call(app, "GET", "/me", headers=minter.headers_for("testsvc"))).status_code == 401


def test_narrower_tokens_a_service_mints_are_no_service_tokens() -> None:
    connectors_key = SERVICE_KEYS.private_key("connectors").public_key()
    settings = HubSettings(
        environment="test", service_public_keys=format_public_keys([("connectors", connectors_key)])
    )
    auth = Authenticator(settings)
    minter = service_minter("connectors")
    scoped = minter.token_for("gateway", extra_claims={"typ": "plugin", "conn": "c-1"}, ttl_s=30)
    principal = auth.verify_service(scoped, "gateway", typ="plugin")
    assert principal.service_id == "connectors" and principal.claims["conn"] == "c-1"
    assert principal.claims["exp"] - principal.claims["iat"] == 30
    with pytest.raises(Unauthorized, match="not a service token"):
        auth.verify_service(scoped, "gateway")  # typ=service only, unless the receiver asks
    with pytest.raises(Unauthorized):
        auth.verify_any(scoped, "gateway")  # not a user either
    plain = minter.token_for("gateway")
    with pytest.raises(Unauthorized, match="not a plugin token"):
        auth.verify_service(plain, "gateway", typ="plugin")
    for reserved in ("sub", "aud", "exp", "iat"):
        with pytest.raises(ValueError, match=reserved):
            minter.token_for("gateway", extra_claims={reserved: "x"})


async def test_metrics_aggregate_worker_processes(tmp_path, monkeypatch):
    from prometheus_client import CollectorRegistry, Counter, values

    from hub_common.web.health import _render_metrics

    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    values.ValueClass = values.MultiProcessValue(lambda: 111)
    try:
        Counter("hub_test_worker_total", "one worker's counter", registry=CollectorRegistry()).inc(3)
        values.ValueClass = values.MultiProcessValue(lambda: 222)
        Counter("hub_test_worker_total", "another worker's", registry=CollectorRegistry()).inc(4)
    finally:
        values.ValueClass = values.MutexValue
    assert b"hub_test_worker_total 7.0" in _render_metrics()
