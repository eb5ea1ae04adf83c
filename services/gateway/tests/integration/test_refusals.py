"""Traversal, absolute URLs, host injection, SSRF, tiers, callers and tenant isolation."""

from __future__ import annotations

import asyncio
import socket
import time

import pytest

pytestmark = pytest.mark.component  # neighbouring services stood in (docs/testing.md)


def raw_get(port: int, target: str, headers: dict[str, str]) -> tuple[int, bytes]:
    """Send a request line exactly as written (HTTP clients normalise dot segments away)."""
    lines = [f"GET {target} HTTP/1.1", f"Host: 127.0.0.1:{port}", "Connection: close"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split(b" ")[1]), body


@pytest.mark.parametrize(
    ("path", "code"),
    [
        ("../admin", "path_traversal"),
        ("a/../../etc/passwd", "path_traversal"),
        ("a/%2e%2e/b", "path_traversal"),
        ("a/..%2fb", "path_traversal"),
        ("a/%252e%252e/b", "path_traversal"),
        ("./x", "path_traversal"),
        ("https://evil.example/x", "absolute_url_not_allowed"),
        ("http:%2f%2fevil.example", "absolute_url_not_allowed"),
        ("/evil.example/x", "host_injection"),
        ("%2Fevil.example/x", "host_injection"),
        ("a%5c..%5cb", "invalid_path"),
        ("a%00b", "invalid_path"),
    ],
)
async def test_path_refusals(hub, tenant, path, code):
    cid = await hub.connect(tenant, secrets={"api_key": "key-1"})
    port = int(hub.a.rsplit(":", 1)[1])
    before = len(hub.sim.requests)
    status, body = raw_get(port, f"/v1/proxy/{cid}/{path}", hub.user_headers(tenant))
    assert status == 400, body
    assert f'"code":"{code}"'.encode() in body
    assert len(hub.sim.requests) == before


@pytest.mark.parametrize(
    ("override", "code"),
    [
        ("http://10.1.2.3", "url_not_allowed"),
        ("https://169.254.169.254/latest", "url_not_allowed"),
        ("http://127.0.0.2:9", "url_not_allowed"),  # loopback, but not the allow-listed address
        ("http://192.168.0.1", "url_not_allowed"),
        ("http://[::1]:9", "host_not_allowed"),  # no manifest can even list an IPv6 literal
    ],
)
async def test_base_url_override_to_internal_address_is_refused(hub, tenant, override, code):
    # The manifest allows the host: only the SSRF check stands between the call and the address.
    cid = await hub.connect(
        tenant,
        secrets={"api_key": "key-1"},
        config={"base_url": override},
        allowed_hosts=["10.1.2.3", "169.254.169.254", "127.0.0.2:9", "192.168.0.1"],
    )
    before = len(hub.sim.requests)
    resp = await hub.http.get(hub.proxy(hub.a, cid, "x"), headers=hub.user_headers(tenant))
    assert resp.status_code == 403, resp.text
    assert resp.json()["error"]["code"] == code
    assert len(hub.sim.requests) == before


async def test_override_host_outside_the_manifests_allowed_hosts(hub, tenant):
    cid = await hub.connect(
        tenant,
        secrets={"api_key": "key-1"},
        builtin=False,
        config={"base_url": "https://other.example.org"},
        allowed_hosts=["api.example.com"],
    )
    resp = await hub.http.get(hub.proxy(hub.a, cid, "x"), headers=hub.user_headers(tenant))
    assert resp.status_code == 403
    assert resp.json()["error"]["code"] == "host_not_allowed"


async def test_core_tier_has_no_gateway(hub, tenant):
    cid = await hub.connect(tenant, secrets={"api_key": "key-1"})
    resp = await hub.http.get(hub.proxy(hub.a, cid, "x"), headers=hub.user_headers(tenant, tier="core"))
    assert resp.status_code == 403
    err = resp.json()["error"]
    assert err["code"] == "feature_not_in_tier"
    assert err["details"]["available_in"] == ["writerpro", "teams", "enterprise"]


async def test_tenant_isolation_for_users_and_services(hub, tenant):
    cid = await hub.connect(tenant, secrets={"api_key": "key-1"})
    other = hub.tenant()
    for headers in (hub.user_headers(other), hub.service_headers(other)):
        resp = await hub.http.get(hub.proxy(hub.a, cid, "x"), headers=headers)
        assert resp.status_code == 404 and resp.json()["error"]["code"] == "connection_not_found"
    ok = await hub.http.get(hub.proxy(hub.a, cid, "x"), headers=hub.service_headers(tenant))
    assert ok.status_code == 200


async def test_another_tenants_broken_or_disconnected_connection_is_only_not_found(hub, tenant):
    """Nothing about another tenant's connection shows: not its host refusal, not that it was
    disconnected (the checks and the tombstone come after the tenant check)."""
    refused = await hub.connect(
        tenant,
        secrets={"api_key": "key-1"},
        builtin=False,
        config={"base_url": "https://other.example.org"},
        allowed_hosts=["api.example.com"],
    )
    gone = await hub.connect(tenant, secrets={"api_key": "key-1"})
    # Its config lacks the value its base-URL template needs: unusable, the owner is told why.
    unusable = await hub.connect(
        tenant, secrets={"api_key": "key-1"}, base_url_template="https://{cloud_id}.example.org"
    )
    await hub.publish_disconnect(tenant, gone)
    owner, other = hub.user_headers(tenant), hub.user_headers(hub.tenant())
    deadline = time.monotonic() + 5
    while (await hub.http.get(hub.proxy(hub.a, gone, "x"), headers=owner)).status_code != 409:
        assert time.monotonic() < deadline, "the disconnect never reached the gateway"
        await asyncio.sleep(0.05)
    for _ in range(2):  # a cold lookup, then whatever the first one left cached
        resp = await hub.http.get(hub.proxy(hub.a, refused, "x"), headers=other)
        assert resp.status_code == 404 and resp.json()["error"]["code"] == "connection_not_found"
        resp = await hub.http.get(hub.proxy(hub.a, gone, "x"), headers=other)
        assert resp.status_code == 404 and resp.json()["error"]["code"] == "connection_not_found"
        status = await hub.http.get(f"{hub.a}/v1/connections/{gone}/rate-limit", headers=other)
        assert status.status_code == 404
        for url in (hub.proxy(hub.a, unusable, "x"), f"{hub.a}/v1/connections/{unusable}/rate-limit"):
            resp = await hub.http.get(url, headers=other)
            assert resp.status_code == 404 and resp.json()["error"]["code"] == "connection_not_found"
    mine = await hub.http.get(hub.proxy(hub.a, refused, "x"), headers=owner)
    assert mine.status_code == 403 and mine.json()["error"]["code"] == "host_not_allowed"
    for url in (hub.proxy(hub.a, unusable, "x"), f"{hub.a}/v1/connections/{unusable}/rate-limit"):
        mine = await hub.http.get(url, headers=owner)
        assert mine.status_code == 502 and mine.json()["error"]["code"] == "connection_lookup_invalid"
        assert mine.json()["error"]["details"] == {"missing": ["cloud_id"]}


async def test_callers_that_are_refused(hub, tenant):
    cid = await hub.connect(tenant, secrets={"api_key": "key-1"})
    url = hub.proxy(hub.a, cid, "x")
    assert (await hub.http.get(url)).json()["error"]["code"] == "missing_token"
    bad = await hub.http.get(url, headers={"Authorization": "Bearer not-a-jwt"})
    assert bad.status_code == 401
    no_tenant = await hub.http.get(url, headers=hub.service_headers(None))
    assert no_tenant.status_code == 400 and no_tenant.json()["error"]["code"] == "tenant_required"
    # The vault never calls the gateway: the gateway does not even hold its public key.
    vault_svc = await hub.http.get(url, headers=hub.service_headers(tenant, service="vault"))
    assert vault_svc.status_code == 401 and vault_svc.json()["error"]["code"] == "unknown_service"
    unknown = await hub.http.get(hub.proxy(hub.a, "not-a-uuid", "x"), headers=hub.user_headers(tenant))
    assert unknown.status_code == 404


@pytest.mark.parametrize("status", ["disconnected", "token_invalid", "initializing"])
async def test_unusable_connections_are_refused(hub, tenant, status):
    cid = await hub.connect(tenant, secrets={"api_key": "key-1"}, status=status)
    resp = await hub.http.get(hub.proxy(hub.a, cid, "x"), headers=hub.user_headers(tenant))
    assert resp.status_code == 409
    assert resp.json()["error"] == {
        "code": "connection_not_active",
        "message": f"the connection is {status}; calls through it are refused",
        "details": {"status": status},
        "request_id": resp.headers["x-request-id"],
    }


@pytest.mark.parametrize("key", ["sk-live\nx-evil: 1", "sk-live\u2019abc"])
async def test_a_credential_http_cannot_carry_is_refused_without_blaming_the_provider(hub, tenant, key):
    broken = await hub.connect(tenant, secrets={"api_key": key})
    fine = await hub.connect(tenant, secrets={"api_key": "key-1"})  # the same provider origin
    before = len(hub.sim.requests)
    for _ in range(8):  # more than it takes to open the origin's circuit, were they counted
        resp = await hub.http.get(hub.proxy(hub.a, broken, "x"), headers=hub.user_headers(tenant))
        assert resp.status_code == 409, resp.text
        assert resp.json()["error"]["code"] == "header_not_sendable"
        assert "sk-live" not in resp.text
    assert len(hub.sim.requests) == before  # nothing was sent
    ok = await hub.http.get(hub.proxy(hub.a, fine, "x"), headers=hub.user_headers(tenant))
    assert ok.status_code == 200, ok.text
