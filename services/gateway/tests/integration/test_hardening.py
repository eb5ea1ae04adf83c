"""Security hardening of the proxy (issues #22, #31, #33), black-box against two real gateway
processes: methods, per-tenant circuits, query keys echoed in bodies, the health check of an
`initializing` connection, the status checked before the host, and the API's body limit."""

from __future__ import annotations

import pytest
from gateway_support import Scripted

from hub_common.testing.events import expect_events

pytestmark = pytest.mark.component  # neighbouring services stood in (docs/testing.md)


@pytest.mark.parametrize("method", ["TRACE", "PROPFIND", "FOO"])
async def test_methods_beyond_the_rest_verbs_are_405_and_never_sent(hub, tenant, method):
    cid = await hub.connect(tenant, secrets={"api_key": "key-405-secret"})
    hub.sim.on(f"/verb-{cid}", Scripted(body=b'{"echo": "x-api-key: key-405-secret"}'))
    resp = await hub.http.request(
        method, hub.proxy(hub.a, cid, f"verb-{cid}"), headers=hub.user_headers(tenant)
    )
    assert resp.status_code == 405, resp.text
    assert resp.json()["error"]["code"] == "method_not_allowed"
    assert resp.headers["allow"] == "DELETE, GET, HEAD, OPTIONS, PATCH, POST, PUT"
    assert resp.headers["x-request-id"]
    assert hub.sim.seen(f"/verb-{cid}") == []
    for allowed in ("PATCH", "OPTIONS", "DELETE"):
        ok = await hub.http.request(
            allowed, hub.proxy(hub.a, cid, f"verb-{cid}"), headers=hub.user_headers(tenant)
        )
        assert ok.status_code == 200, (allowed, ok.text)


async def test_one_tenants_failures_do_not_open_another_tenants_circuit(hub):
    """Tenant A's calls fail (502) until A's circuit opens; tenant B's calls to the same
    endpoint (same base URL) keep going out."""
    tenant_a, tenant_b = hub.tenant(), hub.tenant()
    base = f"{hub.sim.url}/shared-{tenant_a}"
    cid_a = await hub.connect(tenant_a, secrets={"api_key": "key-a-123456"}, base_url=base)
    cid_b = await hub.connect(tenant_b, secrets={"api_key": "key-b-123456"}, base_url=base)
    hub.sim.on(f"/shared-{tenant_a}/heavy", Scripted(status=502, body=b'{"message": "bad gateway"}'))
    user_a, user_b = hub.user_headers(tenant_a), hub.user_headers(tenant_b)
    codes = []
    for _ in range(5):  # HUB_GATEWAY_CIRCUIT_FAILURES=3 in these tests
        resp = await hub.http.get(hub.proxy(hub.a, cid_a, "heavy"), headers=user_a)
        codes.append(
            resp.json().get("error", {}).get("code") if resp.status_code == 503 else resp.status_code
        )
    assert codes[:3] == [502, 502, 502] and codes[3] == "circuit_open", codes
    light = await hub.http.get(hub.proxy(hub.a, cid_b, "light"), headers=user_b)
    assert light.status_code == 200, light.text
    assert hub.sim.seen(f"/shared-{tenant_a}/light")


async def test_a_query_key_echoed_in_a_body_is_masked(hub, tenant):
    key = "qk-echo-0123456789"
    cid = await hub.connect(
        tenant,
        secrets={"api_key": key},
        connector_id="echoquery",
        api_key={"location": "query", "name": "api_key", "prefix": ""},
    )

    def page(rec):
        # A pagination link echoing the URL the provider saw, whole and in a stream.
        nxt = f'{{"next": "{hub.sim.url}/pages?cursor=2&{rec.raw_path.split("?", 1)[1]}"}}'.encode()
        return Scripted(body=nxt, headers={"Content-Type": "application/json"})

    hub.sim.on(f"/pages-{cid}", page)
    hub.sim.on(
        f"/stream-{cid}",
        lambda rec: Scripted(
            parts=(b'{"items": [], "next": "/x?api_key=qk-echo-01', b'23456789&page=3"}'),
            headers={"Content-Type": "application/json"},
        ),
    )
    user = {**hub.user_headers(tenant), "Accept-Encoding": "gzip"}
    resp = await hub.http.get(hub.proxy(hub.a, cid, f"pages-{cid}?limit=5"), headers=user)
    assert resp.status_code == 200, resp.text
    assert key not in resp.text and "limit=5&api_key=" + "*" * len(key) in resp.text
    assert int(resp.headers["content-length"]) == len(resp.content)
    seen = hub.sim.seen(f"/pages-{cid}")[-1]
    assert seen.header("accept-encoding") is None  # asked for a body it can search
    assert key in seen.raw_path  # the provider did get its key
    streamed = await hub.http.get(hub.proxy(hub.b, cid, f"stream-{cid}"), headers=user)
    assert streamed.status_code == 200
    assert streamed.content == b'{"items": [], "next": "/x?api_key=' + b"*" * len(key) + b'&page=3"}'


async def test_only_the_connectors_health_check_goes_through_an_initializing_connection(hub, tenant):
    cid = await hub.connect(tenant, secrets={"api_key": "key-init-123456"}, status="initializing")
    path = hub.proxy(hub.a, cid, f"me-{cid}")
    check = {"X-Hub-Purpose": "health-check"}
    ok = await hub.http.get(path, headers={**hub.service_headers(tenant), **check})
    assert ok.status_code == 200, ok.text
    assert hub.sim.seen(f"/me-{cid}")[-1].header("x-api-key") == "key-init-123456"
    assert hub.sim.seen(f"/me-{cid}")[-1].header("x-hub-purpose") is None
    refused = [
        await hub.http.get(path, headers=hub.service_headers(tenant)),  # not a health check
        await hub.http.get(path, headers={**hub.service_headers(tenant, "webhooks"), **check}),
        await hub.http.get(path, headers={**hub.user_headers(tenant), **check}),
    ]
    for resp in refused:
        assert resp.status_code == 409, resp.text
        assert resp.json()["error"]["details"] == {"status": "initializing"}
    assert len(hub.sim.seen(f"/me-{cid}")) == 1


async def test_a_disconnected_connection_is_409_before_its_host_is_resolved(hub, tenant):
    """Disconnected while the event feed was down (no tombstone): the lookup says so, the host
    does not resolve from here; the answer is 409, not a retryable 502, and the call is evented."""
    cid = await hub.connect(
        tenant,
        secrets={"api_key": "key-gone-123456"},
        status="disconnected",
        base_url="https://api.gone.invalid",
        allowed_hosts=["api.gone.invalid"],
    )
    async with expect_events(
        hub.kafka_bootstrap, "integration.api-request", match=lambda e: e["connection_id"] == cid, count=1
    ) as seen:
        resp = await hub.http.get(hub.proxy(hub.b, cid, "anything"), headers=hub.user_headers(tenant))
    assert resp.status_code == 409, resp.text
    assert resp.json()["error"]["code"] == "connection_not_active"
    assert resp.json()["error"]["details"] == {"status": "disconnected"}
    assert seen[0].data["status_code"] == 409 and seen[0].data["error_code"] == "connection_not_active"


async def test_the_transforms_api_refuses_oversized_bodies(hub, tenant):
    headers = {**hub.user_headers(tenant, tier="enterprise"), "Content-Type": "application/json"}
    big = b'{"routes": [], "pad": "' + b"x" * (300 * 1024) + b'"}'
    resp = await hub.http.put(f"{hub.a}/v1/gateway/transforms/simapi", content=big, headers=headers)
    assert resp.status_code == 413, resp.text
    assert resp.json()["error"]["code"] == "payload_too_large"

    async def chunks():
        for _ in range(40):
            yield b"x" * 10_000

    chunked = await hub.http.put(f"{hub.a}/v1/gateway/transforms/simapi", content=chunks(), headers=headers)
    assert chunked.status_code == 413, chunked.text
