import httpx
import pytest
from fastapi import FastAPI, Request

from hub_common.web.body_limit import BodyLimitMiddleware

pytestmark = pytest.mark.unit


def _app() -> FastAPI:
    app = FastAPI()

    @app.post("/v1/echo")
    async def echo(request: Request) -> dict[str, int]:
        return {"size": len(await request.body())}

    app.add_middleware(BodyLimitMiddleware, max_bytes=100)
    return app


async def _post(content):
    transport = httpx.ASGITransport(app=_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        return await client.post("/v1/echo", content=content)


async def test_declared_length_over_the_limit_is_refused_unread():
    assert (await _post(b"x" * 100)).json() == {"size": 100}
    response = await _post(b"x" * 101)
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"
    assert response.json()["error"]["details"] == {"limit_bytes": 100}


async def test_chunked_body_is_counted():
    async def chunks(n):
        for _ in range(n):
            yield b"x" * 30

    assert (await _post(chunks(4))).status_code == 413
    response = await _post(chunks(3))
    assert response.status_code == 200 and response.json() == {"size": 90}
