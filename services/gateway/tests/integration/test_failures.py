"""Retries where they are safe, timeouts, unreachable providers and the circuit breaker."""

from __future__ import annotations

import pytest
from gateway_support import Dropper, Recorded, Scripted, free_port

pytestmark = pytest.mark.integration


def fail_then_ok(failures: int, status: int = 503, retry_after: str = "0.2"):
    count = {"n": 0}

    def respond(_: Recorded) -> Scripted:
        count["n"] += 1
        if count["n"] <= failures:
            return Scripted(status=status, headers={"Retry-After": retry_after}, body=b"{}")
        return Scripted(body=b'{"done": true}')

    return respond


@pytest.mark.parametrize("status", [429, 503])
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
