"""ServiceClient over real HTTP on loopback: token, trace context, JSON, errors, unreachable."""

import socket

import httpx
import pytest
from aiohttp import web
from opentelemetry import trace

from hub_common.clients.service import ServiceClient
from hub_common.errors import ServiceUnavailable
from hub_common.telemetry import setup_telemetry
from hub_common.testing.service_keys import service_minter

pytestmark = pytest.mark.unit

MINTER = service_minter("oauth")


@pytest.fixture
async def service():
    seen: list[web.Request] = []
    bodies: list[bytes] = []

    async def echo(request: web.Request) -> web.Response:
        seen.append(request)
        bodies.append(await request.read())
        if request.path == "/missing":
            return web.json_response({"error": {"code": "nope", "message": "no"}}, status=404)
        return web.json_response({"ok": True, "method": request.method})

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", echo)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield f"http://127.0.0.1:{port}", seen, bodies
    await runner.cleanup()


async def test_sends_the_service_token_the_trace_context_and_json(service):
    url, seen, bodies = service
    client = ServiceClient(url + "/", MINTER, audience="vault")
    setup_telemetry("hub-test")  # a recording provider, so the span has a context to carry
    tracer = trace.get_tracer("test")
    with tracer.start_as_current_span("caller"):
        resp = await client.request("PUT", "/v1/thing", json={"value": "x"})
        again = await client.request("GET", "/v1/thing")
    await client.aclose()
    assert resp.status_code == 200 and resp.is_success and resp.json() == {"ok": True, "method": "PUT"}
    assert again.json()["method"] == "GET"
    first = seen[0]
    assert first.headers["authorization"] == f"Bearer {MINTER.token_for('vault')}"
    assert first.headers["content-type"] == "application/json"
    assert "traceparent" in first.headers
    assert bodies[0] == b'{"value":"x"}' and bodies[1] == b""
    assert "cookie" not in seen[1].headers


async def test_error_statuses_come_back_as_answers(service):
    url, _, _ = service
    client = ServiceClient(url, MINTER, audience="vault")
    resp = await client.request("GET", "/missing")
    await client.aclose()
    assert resp.status_code == 404 and not resp.is_success
    assert resp.json()["error"]["code"] == "nope" and "nope" in resp.text


async def test_unreachable_service_is_503_with_a_code():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound, never listening: connections are refused
        client = ServiceClient(f"http://127.0.0.1:{port}", MINTER, audience="vault", timeout_s=2)
        with pytest.raises(ServiceUnavailable) as raised:
            await client.request("GET", "/v1/anything")
        await client.aclose()
    assert raised.value.code == "vault_unavailable"


async def test_an_httpx_transport_can_stand_in():
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(201, json={"made": True})

    client = ServiceClient("http://svc", MINTER, audience="oauth", transport=httpx.MockTransport(handler))
    resp = await client.request("POST", "/v1/x", json={"a": 1})
    await client.aclose()
    assert resp.status_code == 201 and resp.json() == {"made": True}
    assert seen[0].read() == b'{"a":1}' and seen[0].headers["authorization"].startswith("Bearer ")
