import httpx
import pytest
from fastapi import FastAPI, Request

from hub_common.web.body_limit import BodyLimitMiddleware
from hub_vault.api.body_limit import body_limit_for

pytestmark = pytest.mark.unit


def _app() -> FastAPI:
    app = FastAPI()

    @app.post("/v1/echo")
    @app.post("/v1/tenants/{tenant}/connections/{connection}/hmac/sign")
    @app.post("/v1/tenants/{tenant}/connections/{connection}/hmac/verify")
    @app.put("/v1/tenants/{tenant}/connections/{connection}/credentials/{key}")
    @app.put("/v1/tenants/{tenant}/connections/{connection}/credentials")
    async def echo(request: Request) -> dict[str, int]:
        return {"size": len(await request.body())}

    app.add_middleware(BodyLimitMiddleware, max_bytes=100, limit_for=body_limit_for(100, 1000))
    return app


async def _post(content, path="/v1/echo", headers=None, method="POST"):
    transport = httpx.ASGITransport(app=_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        return await client.request(method, path, content=content, headers=headers)


async def test_declared_length_over_the_limit_is_refused_unread():
    response = await _post(b"x" * 101)
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"


async def test_chunked_body_is_counted():
    async def chunks():
        for _ in range(5):
            yield b"x" * 30

    response = await _post(chunks())
    assert response.status_code == 413

    async def small():
        yield b"x" * 30
        yield b"y" * 30

    response = await _post(small())
    assert response.status_code == 200 and response.json() == {"size": 60}


async def test_hmac_routes_have_their_own_limit():
    for route in ("sign", "verify"):
        path = f"/v1/tenants/acme/connections/c1/hmac/{route}"
        assert (await _post(b"x" * 500, path=path)).status_code == 200
        assert (await _post(b"x" * 1001, path=path)).status_code == 413


@pytest.mark.parametrize(
    "path",
    [
        "/v1/tenants/hmac/connections/c1/credentials/api_key",
        "/v1/tenants/acme/connections/hmac/credentials/api_key",
        "/v1/tenants/hmac/connections/hmac/credentials/hmac",
        "/v1/tenants/hmac/connections/c1/credentials",
    ],
)
async def test_a_segment_named_hmac_keeps_the_credential_limit(path):
    response = await _post(b"x" * 500, path=path, method="PUT")
    assert response.status_code == 413
    assert response.json()["error"]["details"] == {"limit_bytes": 100}
