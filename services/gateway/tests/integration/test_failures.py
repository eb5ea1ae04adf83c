"""Retries where they are safe, timeouts, unreachable providers and the circuit breaker."""

from __future__ import annotations

import asyncio
from urllib.parse import urlsplit

import pytest
from gateway_support import Dropper, ProviderSimulator, Recorded, Scripted, free_port

from hub_common.testing import eventually

pytestmark = pytest.mark.component  # neighbouring services stood in (docs/testing.md)


def fail_then_ok(failures: int, status: int = 503, retry_after: str = "0.2"):
    count = {"n": 0}

    def respond(_: Recorded) -> Scripted:
        count["n"] += 1
        if count["n"] <= failures:
            return Scripted(status=status, headers={"Retry-After": retry_after}, body=b"{}")
        return Scripted(body=b'{"done": true}')

    return respond


@pytest.mark.parametrize("status", [429, 503, 529])
async def test_short_retry_after_is_honoured_and_retried(hub, tenant, status):
    cid = await hub.connect(tenant, secrets={"api_key": "key-1"})
    hub.sim.on(f"/flaky-{cid}", fail_then_ok(1, status))
    resp = await hub.http.post(
        hub.proxy(hub.a, cid, f"flaky-{cid}"), json={"x": 1}, headers=hub.user_headers(tenant)
    )
    assert resp.status_code == 200 and resp.json() == {"done": True}
    sent = hub.sim.seen(f"/flaky-{cid}")
    assert len(sent) == 2 and sent[1].at - sent[0].at >= 0.19


async def test_read_timeout_is_upstream_timeout_and_not_retried(hub, tenant):
    cid = await hub.connect(tenant, secrets={"api_key": "key-1"})
    hub.sim.on(f"/slow-{cid}", Scripted(delay_s=1.5))
    resp = await hub.http.get(hub.proxy(hub.a, cid, f"slow-{cid}"), headers=hub.user_headers(tenant))
    assert resp.status_code == 504
    assert resp.json()["error"]["code"] == "upstream_timeout"
    assert len(hub.sim.seen(f"/slow-{cid}")) == 1


async def test_unreachable_provider_then_circuit_open(hub, tenant):
    port = free_port()  # nothing listens here
    cid = await hub.connect(tenant, secrets={"api_key": "key-1"}, base_url=f"http://127.0.0.1:{port}")
    headers = hub.user_headers(tenant)
    codes = []
    for _ in range(3):
        resp = await hub.http.post(hub.proxy(hub.a, cid, "x"), headers=headers)
        codes.append(resp.json()["error"]["code"])
    assert codes == ["upstream_unreachable"] * 3
    resp = await hub.http.get(hub.proxy(hub.a, cid, "x"), headers=headers)
    assert resp.status_code == 503 and resp.json()["error"]["code"] == "circuit_open"
    assert int(resp.headers["retry-after"]) >= 1


@pytest.mark.parametrize(
    ("method", "headers", "attempts"),
    [
        ("GET", {}, 3),
        ("PUT", {}, 3),
        ("POST", {}, 1),
        ("PATCH", {}, 1),
        ("POST", {"Idempotency-Key": "k-1"}, 3),
    ],
)
async def test_connection_errors_are_retried_only_when_safe(hub, tenant, method, headers, attempts):
    dropper = Dropper().start()
    try:
        cid = await hub.connect(tenant, secrets={"api_key": "key-1"}, base_url=dropper.url)
        resp = await hub.http.request(
            method, hub.proxy(hub.a, cid, "x"), content=b"{}", headers={**hub.user_headers(tenant), **headers}
        )
        assert resp.status_code == 502 and resp.json()["error"]["code"] == "upstream_unreachable"
        assert dropper.connections == attempts  # 1 try + 2 retries when safe
    finally:
        dropper.stop()


async def send_part_and_leave(
    gateway: str, path: str, headers: dict[str, str], declared: int, sent: int
) -> None:
    """A POST that declares ``declared`` body bytes, sends ``sent`` of them and disconnects."""
    url = urlsplit(gateway)
    _, writer = await asyncio.open_connection(url.hostname, url.port)
    head = [f"POST {path} HTTP/1.1", f"Host: {url.netloc}", f"Content-Length: {declared}"]
    head += [f"{k}: {v}" for k, v in headers.items()]
    writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + b"x" * sent)
    await writer.drain()
    await asyncio.sleep(0.1)
    writer.close()
    await writer.wait_closed()


async def open_circuit(hub, tenant: str, sim: ProviderSimulator) -> str:
    cid = await hub.connect(tenant, secrets={"api_key": "key-1"}, base_url=sim.url)
    sim.on("/", Scripted(status=503, body=b"{}"))
    for _ in range(3):
        resp = await hub.http.get(hub.proxy(hub.a, cid, "x"), headers=hub.user_headers(tenant))
        assert resp.status_code == 503 and resp.json() == {}
    resp = await hub.http.get(hub.proxy(hub.a, cid, "x"), headers=hub.user_headers(tenant))
    assert resp.json()["error"]["code"] == "circuit_open"
    return cid


async def test_a_trial_call_whose_caller_leaves_does_not_keep_the_circuit_open(hub, tenant):
    sim = ProviderSimulator().start()  # its own origin: circuits are per host and port
    try:
        cid = await open_circuit(hub, tenant, sim)
        sim.on("/", Scripted(body=b'{"back": true}'))
        await asyncio.sleep(2.1)  # HUB_GATEWAY_CIRCUIT_OPEN_S
        # The trial call: the caller declares a body, sends part of it, and goes away.
        path = f"/v1/proxy/{cid}/trial"
        await send_part_and_leave(hub.a, path, hub.user_headers(tenant), declared=1000, sent=10)
        await asyncio.sleep(0.2)
        resp = await hub.http.get(hub.proxy(hub.a, cid, "x"), headers=hub.user_headers(tenant))
        assert resp.status_code == 200 and resp.json() == {"back": True}
        assert not sim.seen("/trial")
    finally:
        sim.stop()


async def test_callers_leaving_mid_stream_are_not_the_providers_failures(hub, tenant):
    sim = ProviderSimulator().start()
    try:
        cid = await hub.connect(tenant, secrets={"api_key": "key-1"}, base_url=sim.url)
        path = f"/v1/proxy/{cid}/upload"
        # Larger than the replay buffer (64 KiB here): streamed to the provider as it arrives.
        for _ in range(3):  # HUB_GATEWAY_CIRCUIT_FAILURES
            await send_part_and_leave(
                hub.a, path, hub.user_headers(tenant), declared=1024 * 1024, sent=200 * 1024
            )
        # The gateway broke each upload off rather than leave the provider waiting for the rest
        # (whose read timeout would then count against the circuit).
        await eventually(lambda: len(sim.uploads_cut_short) == 3, what="three uploads broken off")
        resp = await hub.http.get(hub.proxy(hub.a, cid, "x"), headers=hub.user_headers(tenant))
        assert resp.status_code == 200, resp.text
    finally:
        sim.stop()


async def test_throttling_503s_with_retry_after_do_not_open_the_circuit(hub, tenant):
    """A 503 that says when to come back is one account throttled, not the endpoint failing:
    the retries it causes and the final 503 leave the circuit alone."""
    sim = ProviderSimulator().start()
    try:
        cid = await hub.connect(tenant, secrets={"api_key": "key-1"}, base_url=sim.url)
        sim.on("/", Scripted(status=503, headers={"Retry-After": "0.1"}, body=b"{}"))
        for _ in range(3):  # HUB_GATEWAY_CIRCUIT_FAILURES, with two retries each
            resp = await hub.http.get(hub.proxy(hub.a, cid, "x"), headers=hub.user_headers(tenant))
            assert resp.status_code == 503 and resp.json() == {}
            await asyncio.sleep(0.3)  # past the Retry-After, which also blocks the connection locally
        sim.on("/", Scripted(body=b'{"back": true}'))
        resp = await hub.http.get(hub.proxy(hub.a, cid, "x"), headers=hub.user_headers(tenant))
        assert resp.status_code == 200 and resp.json() == {"back": True}
    finally:
        sim.stop()


async def send_part_and_stall(
    gateway: str, path: str, headers: dict[str, str], declared: int, sent: int
) -> tuple[int, bytes]:
    """A POST that declares ``declared`` body bytes, sends ``sent`` and then nothing; the answer."""
    url = urlsplit(gateway)
    reader, writer = await asyncio.open_connection(url.hostname, url.port)
    head = [f"POST {path} HTTP/1.1", f"Host: {url.netloc}", f"Content-Length: {declared}"]
    head += [f"{k}: {v}" for k, v in headers.items()]
    writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + b"x" * sent)
    await writer.drain()
    try:
        answer = await asyncio.wait_for(reader.read(65536), 5)
    finally:
        writer.close()
    status = int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/1.1 ") else 0
    return status, answer


@pytest.mark.parametrize("declared", [1000, 1024 * 1024])  # buffered, then streamed
async def test_a_stalled_upload_is_408_and_not_the_providers_failure(hub, tenant, declared):
    sim = ProviderSimulator().start()
    try:
        cid = await hub.connect(tenant, secrets={"api_key": "key-1"}, base_url=sim.url)
        path = f"/v1/proxy/{cid}/upload"
        for _ in range(3):  # HUB_GATEWAY_CIRCUIT_FAILURES
            status, answer = await send_part_and_stall(
                hub.a, path, hub.user_headers(tenant), declared=declared, sent=min(declared // 2, 100 * 1024)
            )
            assert status == 408 and b"request_body_timeout" in answer
        resp = await hub.http.get(hub.proxy(hub.a, cid, "x"), headers=hub.user_headers(tenant))
        assert resp.status_code == 200, resp.text
    finally:
        sim.stop()


async def test_a_throttling_503_does_not_reset_the_count_of_real_failures(hub, tenant):
    sim = ProviderSimulator().start()
    try:
        cid = await hub.connect(tenant, secrets={"api_key": "key-1"}, base_url=sim.url)
        headers = hub.user_headers(tenant)
        for status, extra in ((502, {}), (502, {}), (503, {"Retry-After": "0.1"}), (502, {})):
            sim.on("/", Scripted(status=status, headers=extra, body=b"{}"))
            resp = await hub.http.post(hub.proxy(hub.a, cid, "x"), headers=headers)  # not retried
            assert resp.status_code == status
            await asyncio.sleep(0.3)  # past the Retry-After's local block
        sim.on("/", Scripted(body=b'{"back": true}'))
        resp = await hub.http.get(hub.proxy(hub.a, cid, "x"), headers=headers)
        assert resp.status_code == 503 and resp.json()["error"]["code"] == "circuit_open"
    finally:
        sim.stop()
