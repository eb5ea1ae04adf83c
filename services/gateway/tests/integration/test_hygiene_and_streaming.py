"""Header hygiene both ways, query strings and encodings passed through, bodies streamed."""

from __future__ import annotations

import asyncio
import hashlib
import time
from urllib.parse import urlsplit

import httpx
import pytest
from gateway_support import ProviderSimulator, Scripted

pytestmark = pytest.mark.component  # neighbouring services stood in (docs/testing.md)


_INTERNAL_CONTEXT = {
    "traceparent": "00-" + "a" * 32 + "-" + "b" * 16 + "-01",
    "tracestate": "hub=internal",
    "baggage": "tenant=acme,pod=gateway-7f9c",
    "X-Request-Id": "req-internal-1",
    "X-Correlation-Id": "corr-1",
    "X-B3-TraceId": "a" * 32,
    "b3": "a" * 32 + "-" + "b" * 16,
    "X-Amzn-Trace-Id": "Root=1-abc",
}


async def test_request_headers_cleaned_and_no_internal_context_sent(hub, tenant):
    cid = await hub.connect(tenant, secrets={"api_key": "key-1"})
    headers = {
        **hub.user_headers(tenant),
        **_INTERNAL_CONTEXT,
        "Connection": "keep-alive, X-Drop-Me",
        "X-Drop-Me": "1",
        "Keep-Alive": "timeout=5",
        "TE": "trailers",
        "Proxy-Authorization": "Basic c2VjcmV0",
        "Cookie": "session=abc",
        "X-Forwarded-For": "6.6.6.6",
        "X-Forwarded-Host": "evil.example",
        "X-Hub-Tier": "enterprise",
        "X-Custom": "kept",
        "User-Agent": "my-client/1.0",
    }
    resp = await hub.http.get(hub.proxy(hub.a, cid, "hygiene"), headers=headers)
    assert resp.status_code == 200, resp.text
    seen = hub.sim.seen("/hygiene")[-1]
    names = seen.header_names()
    for gone in (
        "x-drop-me",
        "keep-alive",
        "te",
        "proxy-authorization",
        "cookie",
        "x-hub-tier",
        "authorization",
        # The hub's inside stays inside: neither the caller's nor the gateway's own context.
        *(n.lower() for n in _INTERNAL_CONTEXT),
        "x-forwarded-for",
        "x-forwarded-host",
        "x-forwarded-proto",
    ):
        assert gone not in names, gone
    assert seen.header("x-custom") == "kept"
    assert seen.header("user-agent") == "my-client/1.0"
    assert seen.header("host") == f"127.0.0.1:{hub.sim.port}"
    # ... and a service caller's context is the hub's too.
    resp = await hub.http.get(
        hub.proxy(hub.a, cid, "hygiene-service"), headers={**hub.service_headers(tenant), **_INTERNAL_CONTEXT}
    )
    assert resp.status_code == 200, resp.text
    names = hub.sim.seen("/hygiene-service")[-1].header_names()
    assert not names & {n.lower() for n in _INTERNAL_CONTEXT}
    assert not any(n.startswith("x-forwarded-") for n in names)


async def test_an_opted_in_connector_gets_the_gateways_own_context(hub, tenant):
    # HUB_GATEWAY_PROPAGATE_CONTEXT_TO=traced (an in-house service joining the hub's traces).
    cid = await hub.connect(tenant, secrets={"api_key": "key-1"}, connector_id="traced")
    headers = {**hub.user_headers(tenant), **_INTERNAL_CONTEXT, "X-Forwarded-For": "6.6.6.6"}
    resp = await hub.http.get(hub.proxy(hub.a, cid, "propagated"), headers=headers)
    assert resp.status_code == 200, resp.text
    seen = hub.sim.seen("/propagated")[-1]
    assert seen.header("x-forwarded-for") == "127.0.0.1"
    assert seen.header("x-forwarded-proto") == "http"
    assert seen.header("x-forwarded-host") == hub.a.removeprefix("http://")
    traceparent = seen.header("traceparent")
    assert traceparent is not None and traceparent.split("-")[1] == "a" * 32  # the caller's trace
    assert traceparent != _INTERNAL_CONTEXT["traceparent"]  # with the gateway's own span id
    for gone in ("tracestate", "baggage", "x-request-id", "x-b3-traceid"):
        assert seen.header(gone) is None, gone


async def test_response_hop_by_hop_dropped_and_request_id_added(hub, tenant):
    cid = await hub.connect(tenant, secrets={"api_key": "key-1"})
    # (A "Connection: <name>" list is covered by the unit tests: aiohttp's server sets its own.)
    hub.sim.on(
        "/resp-headers",
        Scripted(
            headers={
                "X-Provider": "yes",
                "Keep-Alive": "timeout=1",
                "Proxy-Authenticate": "Basic",
                "Trailer": "X-T",
            }
        ),
    )
    resp = await hub.http.get(hub.proxy(hub.a, cid, "resp-headers"), headers=hub.user_headers(tenant))
    assert resp.status_code == 200
    assert resp.headers["x-provider"] == "yes"
    for gone in ("keep-alive", "proxy-authenticate", "trailer"):
        assert gone not in resp.headers, gone
    assert resp.headers["x-request-id"]


async def test_provider_cookies_and_an_echoed_query_key_never_reach_the_caller(hub, tenant):
    key = "qk_live_5f1e9a"
    cid = await hub.connect(
        tenant,
        secrets={"api_key": key},
        api_key={"location": "query", "name": "key", "prefix": ""},
    )
    # A provider redirecting and paginating with the request's own URL, key included.
    hub.sim.on(
        f"/echo-{cid}",
        lambda rec: Scripted(
            status=302,
            headers={
                "Location": f"https://api.example.com{rec.raw_path}&page=2",
                "Link": f'<{hub.sim.url}{rec.raw_path}&page=3>; rel="next"',
                "Set-Cookie": "JSESSIONID=provider-session; Path=/; HttpOnly",
            },
        ),
    )
    resp = await hub.http.get(
        hub.proxy(hub.a, cid, f"echo-{cid}?q=1"), headers=hub.user_headers(tenant), follow_redirects=False
    )
    assert resp.status_code == 302
    assert hub.sim.seen(f"/echo-{cid}")[-1].raw_path == f"/echo-{cid}?q=1&key={key}"  # it was injected
    assert "set-cookie" not in resp.headers
    assert resp.headers["location"] == f"https://api.example.com/echo-{cid}?q=1&key=[redacted]&page=2"
    assert "key=[redacted]&page=3" in resp.headers["link"]
    assert key not in str(resp.headers) and key not in resp.text


async def test_encoded_path_and_query_reach_the_provider_unchanged(hub, tenant):
    cid = await hub.connect(tenant, secrets={"api_key": "key-1"})
    resp = await hub.http.get(
        hub.proxy(hub.a, cid, "repos/o/r/contents/a%2Fb%20c?ref=main&x=%26y&empty="),
        headers=hub.user_headers(tenant),
    )
    assert resp.status_code == 200, resp.text
    assert (
        hub.sim.seen("/repos/o/r/contents/")[-1].raw_path
        == "/repos/o/r/contents/a%2Fb%20c?ref=main&x=%26y&empty="
    )


async def test_large_bodies_are_streamed_both_ways(hub, tenant):
    cid = await hub.connect(tenant, secrets={"api_key": "key-1"})
    chunk = b"x" * 65536
    hub.sim.on(
        "/download",
        Scripted(body=chunk, stream_chunks=48, headers={"Content-Type": "application/octet-stream"}),
    )
    resp = await hub.http.get(hub.proxy(hub.a, cid, "download"), headers=hub.user_headers(tenant))
    assert resp.status_code == 200
    assert len(resp.content) == 48 * 65536

    async def upload():
        for _ in range(40):  # 2.5 MiB, chunked: larger than the replay buffer, so streamed
            yield chunk

    resp = await hub.http.post(
        hub.proxy(hub.b, cid, "upload"),
        content=upload(),
        headers={**hub.user_headers(tenant), "Content-Type": "application/octet-stream"},
    )
    assert resp.status_code == 200, resp.text
    seen = hub.sim.seen("/upload")[-1]
    assert hashlib.sha256(seen.body).digest() == hashlib.sha256(chunk * 40).digest()


async def test_known_length_body_keeps_its_content_length_upstream(hub, tenant):
    cid = await hub.connect(tenant, secrets={"api_key": "key-1"})
    body = b"y" * (200 * 1024)  # above the replay buffer: streamed, but with its length
    resp = await hub.http.put(hub.proxy(hub.a, cid, "sized"), content=body, headers=hub.user_headers(tenant))
    assert resp.status_code == 200
    seen = hub.sim.seen("/sized")[-1]
    assert seen.header("content-length") == str(len(body)) and seen.body == body


async def test_body_too_large(hub, tenant):
    cid = await hub.connect(tenant, secrets={"api_key": "key-1"})
    too_big = b"z" * (4 * 1024 * 1024 + 1)
    resp = await hub.http.post(
        hub.proxy(hub.a, cid, "big"), content=too_big, headers=hub.user_headers(tenant)
    )
    assert resp.status_code == 413 and resp.json()["error"]["code"] == "body_too_large"

    async def chunked():
        for _ in range(70):
            yield b"z" * 65536

    before = len(hub.sim.seen("/big-chunked"))
    try:
        resp = await hub.http.post(
            hub.proxy(hub.a, cid, "big-chunked"), content=chunked(), headers=hub.user_headers(tenant)
        )
        assert resp.status_code == 413 and resp.json()["error"]["code"] == "body_too_large"
    except httpx.RemoteProtocolError:
        pass  # the gateway may close the connection while the client is still sending
    # A small call after it: once the provider has it, whatever the gateway passed on of the
    # large body before has arrived too.
    sentinel = await hub.http.post(
        hub.proxy(hub.a, cid, "big-chunked-sentinel"), content=b"{}", headers=hub.user_headers(tenant)
    )
    assert sentinel.status_code == 200, sentinel.text
    arrived = hub.sim.seen("/big-chunked")[before:]
    assert arrived and arrived[-1].raw_path == "/big-chunked-sentinel"
    assert all(len(r.body) < 4 * 1024 * 1024 for r in arrived)


async def test_head_and_no_content_answers(hub, tenant):
    cid = await hub.connect(tenant, secrets={"api_key": "key-1"})
    hub.sim.on(f"/head-{cid}", Scripted(body=b"x" * 1000))
    head = await hub.http.head(hub.proxy(hub.a, cid, f"head-{cid}"), headers=hub.user_headers(tenant))
    assert head.status_code == 200 and head.headers["content-length"] == "1000" and head.content == b""
    hub.sim.on(f"/gone-{cid}", Scripted(status=204, body=b""))
    gone = await hub.http.delete(hub.proxy(hub.a, cid, f"gone-{cid}"), headers=hub.user_headers(tenant))
    assert gone.status_code == 204 and gone.content == b""
    # The gateway's connections are still usable afterwards.
    again = await hub.http.get(hub.proxy(hub.a, cid, f"head-{cid}"), headers=hub.user_headers(tenant))
    assert again.status_code == 200 and len(again.content) == 1000


async def test_a_caller_leaving_a_streamed_answer_stops_the_providers_stream(hub, tenant):
    """A slow feed (one chunk every 50 ms for 15 s): the caller reads a little and leaves; the
    gateway closes the provider's stream within a moment instead of reading it to the end."""
    sim = ProviderSimulator().start()
    try:
        cid = await hub.connect(tenant, secrets={"api_key": "key-1"}, base_url=sim.url)
        sim.on("/feed", Scripted(body=b"data: x\n\n" * 100, stream_chunks=300, chunk_delay_s=0.05))
        url = urlsplit(hub.a)
        reader, writer = await asyncio.open_connection(url.hostname, url.port)
        head = [f"GET /v1/proxy/{cid}/feed HTTP/1.1", f"Host: {url.netloc}"]
        head += [f"{k}: {v}" for k, v in hub.user_headers(tenant).items()]
        writer.write(("\r\n".join(head) + "\r\n\r\n").encode())
        await writer.drain()
        first = await asyncio.wait_for(reader.read(4096), 5)
        assert first.startswith(b"HTTP/1.1 200")
        left = time.time()
        writer.close()
        for _ in range(60):
            if sim.cut_short:
                break
            await asyncio.sleep(0.05)
        assert sim.cut_short and sim.cut_short[0][0] == "/feed"
        assert sim.cut_short[0][1] - left < 2.0
    finally:
        sim.stop()
