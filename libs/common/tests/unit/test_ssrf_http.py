"""The SSRF policy applied where the connection is made (hub_common.ssrf_http)."""

import asyncio
import ipaddress

import httpx
import pytest

from hub_common import ssrf
from hub_common.ssrf import UrlNotAllowed, check_url
from hub_common.ssrf_http import PolicyTransport

pytestmark = pytest.mark.unit


@pytest.fixture
async def local_server():
    """A one-answer HTTP server on 127.0.0.1: where a rebinding attacker would point."""
    hits = []

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        hits.append(1)
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    yield port, hits
    server.close()
    await server.wait_closed()


def _resolving(monkeypatch, *answers: str) -> list[str]:
    """``ssrf.resolve`` answers each call with the next address (the last one repeats)."""
    asked: list[str] = []

    async def fake(host: str, port: int) -> list[ssrf.IPAddress]:
        asked.append(host)
        return [ipaddress.ip_address(answers[min(len(asked), len(answers)) - 1])]

    monkeypatch.setattr(ssrf, "resolve", fake)
    return asked


async def test_a_loopback_destination_is_refused_at_connect(local_server):
    port, hits = local_server
    async with httpx.AsyncClient(transport=PolicyTransport()) as client:
        with pytest.raises(UrlNotAllowed):
            await client.get(f"http://127.0.0.1:{port}/")
        with pytest.raises(UrlNotAllowed):
            await client.get(f"http://localhost:{port}/")
    assert hits == []


async def test_a_name_that_rebinds_after_the_check_is_refused(monkeypatch, local_server):
    port, hits = local_server
    asked = _resolving(monkeypatch, "93.184.216.34", "127.0.0.1")
    await check_url(f"https://rebind.example:{port}/token")  # public when checked
    async with httpx.AsyncClient(transport=PolicyTransport()) as client:
        with pytest.raises(UrlNotAllowed) as refused:
            await client.get(f"http://rebind.example:{port}/token")  # loopback when connecting
    assert refused.value.code == "url_not_allowed"
    assert asked == ["rebind.example", "rebind.example"]
    assert hits == []


async def test_it_connects_to_the_address_it_judged(monkeypatch, local_server):
    port, hits = local_server
    _resolving(monkeypatch, "127.0.0.1")  # the name exists nowhere else: only the judged address works
    async with httpx.AsyncClient(transport=PolicyTransport(allowlist=["127.0.0.1"])) as client:
        resp = await client.get(f"http://sim.example:{port}/")
    assert resp.status_code == 200 and resp.text == "ok"
    assert resp.request.headers["host"] == f"sim.example:{port}"  # the name, not the address
    assert hits == [1]


async def test_a_name_that_does_not_resolve_is_a_network_error(monkeypatch):
    """Retried like any other (DNS trouble is often brief), allow-listed or not."""

    async def nothing(host: str, port: int) -> list[ssrf.IPAddress]:
        return []

    monkeypatch.setattr(ssrf, "resolve", nothing)
    for allowlist in ([], ["nowhere.example"]):
        async with httpx.AsyncClient(transport=PolicyTransport(allowlist=allowlist)) as client:
            with pytest.raises(httpx.ConnectError):
                await client.get("https://nowhere.example/")
