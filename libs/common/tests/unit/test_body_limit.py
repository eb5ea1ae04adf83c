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


async def _refusal_after(messages: list[dict]) -> tuple[list[str], int]:
    """Drive the middleware with these body messages; what happened, in order."""
    events: list[str] = []
    pending = list(messages)

    async def receive() -> dict:
        events.append("receive")
        return pending.pop(0) if pending else {"type": "http.disconnect"}

    async def send(message: dict) -> None:
        if message["type"] == "http.response.start":
            events.append(f"start {message['status']}")

    async def app(scope, receive, send) -> None:  # never reached
        raise AssertionError("the app saw a refused body")

    headers = [(b"content-length", b"250")] if messages and "declared" in messages[0] else []
    scope = {"type": "http", "method": "PUT", "path": "/x", "headers": headers}
    await BodyLimitMiddleware(app, max_bytes=100)(scope, receive, send)
    return events, len(pending)


@pytest.mark.parametrize("declared", [True, False])
async def test_the_rest_of_a_refused_body_is_read_before_the_answer(declared):
    # A server closes a connection whose body is left unread: the client, still sending, would
    # see a reset instead of the 413.
    parts = [{"type": "http.request", "body": b"x" * 50, "more_body": True} for _ in range(4)]
    parts.append({"type": "http.request", "body": b"x" * 50, "more_body": False})
    if declared:
        parts[0]["declared"] = True
    events, left = await _refusal_after(parts)
    # All of it read, and the answer sent at the body's end (not after waiting for a disconnect).
    assert left == 0 and events == ["receive"] * 5 + ["start 413"]
