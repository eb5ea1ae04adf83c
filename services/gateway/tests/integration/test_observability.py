"""One ``integration.api-request`` event per call, latency metrics, spans linked to the caller's
trace — and no credential in any of them, nor in the logs."""

from __future__ import annotations

import asyncio
import secrets
from functools import partial

import pytest
from gateway_support import Scripted

from hub_common.testing import eventually
from hub_common.testing.events import expect_events

pytestmark = pytest.mark.component  # neighbouring services stood in (docs/testing.md)


async def test_events_metrics_spans_and_logs_carry_no_secret(hub, tenant):
    api_key = f"qsecret{secrets.token_hex(12)}"
    oauth_token = f"oauthsecret{secrets.token_hex(12)}"
    cid_key = await hub.connect(
        tenant,
        secrets={"api_key": api_key},
        connector_id="querykey",
        api_key={"location": "query", "name": "api_key", "prefix": ""},
    )
    cid_oauth = await hub.connect(
        tenant, method="oauth2", secrets={"access_token": oauth_token}, connector_id="oauthy"
    )
    hub.sim.on(f"/missing-{tenant}", Scripted(status=404, body=b'{"message": "Not Found"}'))
    user = hub.user_headers(tenant)
    jwt = user["Authorization"].removeprefix("Bearer ")
    trace_id = secrets.token_hex(16)
    traceparent = f"00-{trace_id}-{secrets.token_hex(8)}-01"

    async with expect_events(
        hub.kafka_bootstrap,
        "integration.api-request",
        match=lambda e: e["connection_id"] in (cid_key, cid_oauth),
        count=3,
        exact=True,
    ) as seen:
        r1 = await hub.http.get(
            hub.proxy(hub.a, cid_key, "items?page=2"), headers={**user, "traceparent": traceparent}
        )
        r2 = await hub.http.get(hub.proxy(hub.b, cid_oauth, f"missing-{tenant}"), headers=user)
        r3 = await hub.http.post(
            hub.proxy(hub.a, cid_oauth, "things"),
            json={"token": "body-only"},
            headers=hub.service_headers(tenant),
        )
    assert (r1.status_code, r2.status_code, r3.status_code) == (200, 404, 200)

    by_status = {(s.data["connection_id"], s.data["status_code"]): s for s in seen}
    first = by_status[(cid_key, 200)]
    assert first.data["tenant_id"] == tenant and first.data["connector_id"] == "querykey"
    assert first.data["method"] == "GET" and first.data["endpoint"] == "/items"  # never the query
    assert first.data["duration_ms"] >= 0 and first.data["error_code"] is None
    assert first.key == cid_key.encode()
    assert first.headers["traceparent"].decode().split("-")[1] == trace_id  # linked to the caller
    assert (cid_oauth, 404) in by_status and (cid_oauth, 200) in by_status

    forbidden = [api_key, oauth_token, jwt]
    for ev in seen:
        raw = ev.event.data + b"".join(v for v in ev.headers.values())
        assert not any(s.encode() in raw for s in forbidden)

    for gateway in (hub.a, hub.b):
        metrics = (await hub.http.get(f"{gateway}/metrics")).text
        assert "hub_gateway_request_duration_seconds_bucket" in metrics
        assert not any(s in metrics for s in forbidden)
    metrics_a = (await hub.http.get(f"{hub.a}/metrics")).text
    assert 'hub_gateway_request_duration_seconds_count{connector="querykey",status="200"}' in metrics_a

    for _ in range(100):  # the collector runs on another thread; spans are exported in batches
        if any(bytes.fromhex(trace_id) in p for p in hub.otlp.payloads):
            break
        await asyncio.sleep(0.1)
    spans = b"".join(hub.otlp.payloads)
    assert bytes.fromhex(trace_id) in spans, "the gateway's spans continue the caller's trace"
    assert not any(s.encode() in spans for s in forbidden)

    def proxied_logged(log_path) -> str | None:  # debug logging is on: each call is logged
        log = log_path.read_text(errors="replace")
        return log if '"msg": "proxied"' in log or '"msg":"proxied"' in log else None

    for log_path in [process.log_path for process in hub.gateways]:
        log = await eventually(partial(proxied_logged, log_path), what=f"{log_path} logging its calls")
        assert not any(s in log for s in forbidden)


async def test_upstream_response_headers_are_not_logged_or_evented(hub, tenant):
    # A provider echoing the credential back (some do, in error bodies) reaches the caller only.
    cid = await hub.connect(tenant, secrets={"api_key": "echoed-secret-123"})
    hub.sim.on(
        f"/echo-{cid}", lambda rec: Scripted(status=500, body=(rec.header("x-api-key") or "").encode())
    )
    async with expect_events(
        hub.kafka_bootstrap, "integration.api-request", match=lambda e: e["connection_id"] == cid, count=1
    ) as seen:
        resp = await hub.http.get(hub.proxy(hub.a, cid, f"echo-{cid}"), headers=hub.user_headers(tenant))
    assert resp.status_code == 500
    assert b"echoed-secret-123" not in seen[0].event.data
