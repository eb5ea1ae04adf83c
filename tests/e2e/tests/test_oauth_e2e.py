"""OAuth end to end: real connectors, vault and two oauth processes against a strict simulator.

The headline property: 200 concurrent on-demand refreshes of one expired connection, spread
over two oauth processes, reach the provider as exactly one refresh, and the rotating token
family stays valid.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Iterator
from datetime import datetime, timedelta

import httpx
import pytest

from hub_common.settings import HubSettings
from hub_common.web.auth import mint_user_token
from hub_e2e.connectors import plugin_path
from hub_e2e.oauth_browser import complete_in_browser
from hub_e2e.processes import ServiceProcess, free_port
from hub_e2e.simulators.runner import OAuthSimulator

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def hub(hub_stack, module_dsn, tmp_path_factory) -> Iterator[dict[str, ServiceProcess | OAuthSimulator]]:
    oauth_port = free_port()
    public = f"http://127.0.0.1:{oauth_port}"
    client = {
        "client_id": "e2e-app",
        "client_secret": "e2e-app-secret-0123456789",
        "redirect_uris": [f"{public}/v1/oauth/callback"],
    }
    plugins = plugin_path(tmp_path_factory.mktemp("plugins"))
    with OAuthSimulator("generic", clients=[client]) as sim:
        vault = ServiceProcess("vault", {})
        connectors = ServiceProcess("connectors", {})
        oauth_a = ServiceProcess("oauth", {}, port=oauth_port)
        oauth_b = ServiceProcess("oauth", {})
        # The connectors service health-checks each connect through the gateway.
        gateway = ServiceProcess("gateway", {})
        env = {
            "HUB_POSTGRES_DSN": module_dsn,
            "HUB_KAFKA_BOOTSTRAP": hub_stack.kafka_bootstrap,
            "HUB_REDIS_URL": hub_stack.redis_url,
            "HUB_OUTBOUND_ALLOWLIST": "127.0.0.1",
            "HUB_VAULT_URL": vault.url,
            "HUB_CONNECTORS_URL": connectors.url,
            "HUB_OAUTH_URL": oauth_a.url,
            "HUB_GATEWAY_URL": gateway.url,
            "HUB_OAUTH_PUBLIC_URL": public,
            "HUB_PROVIDER_BACKOFF_S": "0.01",
            "PYTHONPATH": str(plugins),
            "HUB_CONNECTORS_CONSUMER_OFFSET_RESET": "latest",
            # A margin longer than the short tokens' whole life, and rounds every second: the
            # scheduler must still wait until half a token's life is gone, on one replica.
            "HUB_REFRESH_MARGIN_S": "300",
            "HUB_REFRESH_SCHEDULER_INTERVAL_S": "1",
        }
        procs = [vault, connectors, oauth_a, oauth_b, gateway]
        for proc in procs:
            proc.env = env
        try:
            for proc in [vault, connectors, oauth_a, gateway]:
                proc.migrate()
            for proc in procs:
                proc.start()
            yield {
                "sim": sim,
                "vault": vault,
                "connectors": connectors,
                "oauth_a": oauth_a,
                "oauth_b": oauth_b,
            }
        finally:
            for proc in reversed(procs):
                proc.stop()


def headers(tenant: str) -> dict[str, str]:
    token = mint_user_token(HubSettings(), tenant=tenant, user="alice", tier="enterprise")
    return {"Authorization": f"Bearer {token}"}


def wait_status(
    connectors: ServiceProcess, cid: str, h: dict[str, str], status: str, timeout_s: float = 15
) -> dict:
    deadline = time.monotonic() + timeout_s
    body: dict = {}
    while time.monotonic() < deadline:
        body = httpx.get(f"{connectors.url}/v1/connections/{cid}", headers=h).json()
        if body.get("status") == status:
            return body
        time.sleep(0.1)
    raise AssertionError(f"connection stayed {body.get('status')}, expected {status}: {body}")


def connect(hub, tenant: str) -> str:
    sim, connectors, oauth = hub["sim"], hub["connectors"], hub["oauth_a"]
    h = headers(tenant)
    config = {
        "base_url": sim.url,
        "oauth_authorization_url": f"{sim.url}/authorize",
        "oauth_token_url": f"{sim.url}/token",
        "oauth_revocation_url": f"{sim.url}/revoke",
        "oauth_identity_url": f"{sim.url}/userinfo",
    }
    created = httpx.post(
        f"{connectors.url}/v1/connections",
        headers=h,
        json={"connector_id": "simoauth", "name": f"sim {time.monotonic_ns()}", "config": config},
    )
    assert created.status_code == 201, created.text
    cid = created.json()["id"]
    assert created.json()["status"] == "initializing"
    app = httpx.put(
        f"{oauth.url}/v1/oauth/apps/simoauth",
        headers=h,
        json={"client_id": "e2e-app", "client_secret": "e2e-app-secret-0123456789"},
    )
    assert app.status_code in (200, 201), app.text
    flow = httpx.post(f"{oauth.url}/v1/oauth/flows", headers=h, json={"connection_id": cid})
    assert flow.status_code == 201, flow.text
    browser = complete_in_browser(flow.json(), accept="text/html")
    assert browser.status_code == 303 and "status=connected" in browser.headers["location"], browser.text
    active = wait_status(connectors, cid, h, "active")
    assert active["external_account_id"]
    return cid


def test_two_hundred_refreshes_over_two_processes_make_one(hub):
    sim = hub["sim"]
    tenant = "e2e-refresh"
    known = {f["id"] for f in sim.families()}
    cid = connect(hub, tenant)
    (family,) = [f for f in sim.families() if f["id"] not in known]  # this connection's token family
    sim.expire(family_id=family["id"])
    before = sim.stats()
    h = headers(tenant)

    async def storm() -> list[int]:
        async with httpx.AsyncClient(timeout=60) as client:
            urls = [hub["oauth_a"].url, hub["oauth_b"].url] * 100
            results = await asyncio.gather(
                *(client.post(f"{u}/v1/oauth/connections/{cid}/refresh", headers=h, json={}) for u in urls)
            )
        return [r.status_code for r in results]

    statuses = asyncio.run(storm())
    after = sim.stats()
    assert statuses == [200] * 200
    assert after["refreshes"] == before["refreshes"] + 1
    assert after["reuse_detections"]["refresh_token"] == before["reuse_detections"]["refresh_token"]
    live = [f for f in sim.families() if f["id"] == family["id"]]
    assert live and not live[0].get("revoked")


async def burst(hub, cid: str, h: dict[str, str], n: int, body: dict) -> list[httpx.Response]:
    limits = httpx.Limits(max_connections=n, max_keepalive_connections=n)
    async with httpx.AsyncClient(timeout=60, limits=limits) as client:
        urls = [hub["oauth_a"].url, hub["oauth_b"].url] * (n // 2)
        return await asyncio.gather(
            *(client.post(f"{u}/v1/oauth/connections/{cid}/refresh", headers=h, json=body) for u in urls)
        )


@pytest.mark.parametrize("ttl", [30, 3600])
@pytest.mark.parametrize("force", [False, True])
def test_a_burst_over_two_processes_is_one_refresh_whatever_the_lifetime(hub, ttl, force):
    sim = hub["sim"]
    tenant = f"e2e-burst-{ttl}-{int(force)}"
    h = headers(tenant)
    sim.update_settings(access_token_ttl=ttl)
    try:
        known = {f["id"] for f in sim.families()}
        cid = connect(hub, tenant)
    finally:
        sim.update_settings(access_token_ttl=3600)
    (family,) = [f["id"] for f in sim.families() if f["id"] not in known]

    def refreshes() -> int:
        count: int = sim.stats()["refreshes_by_family"].get(family, 0)
        return count

    before = refreshes()
    # A provider that takes its time: every request of the burst begins while the one refresh
    # is still under way, as when 200 callers find the same expired token at once.
    sim.inject_fault("token", "delay", delay_s=1.5, count=1, grant_type="refresh_token")
    try:
        answers = asyncio.run(burst(hub, cid, h, 200, {"force": True} if force else {}))
    finally:
        sim.clear_faults()
    assert [r.status_code for r in answers] == [200] * 200, {r.text for r in answers if r.status_code != 200}
    bodies = [r.json() for r in answers]
    assert refreshes() == before + 1
    assert sorted(b["outcome"] for b in bodies) == ["coalesced"] * 199 + ["refreshed"]
    assert [b["performed"] for b in bodies].count(True) == 1
    assert all(b["refreshed"] for b in bodies) and len({b["generation"] for b in bodies}) == 1
    if not force:
        # Callers arriving after the refresh ended need none either, however short the token.
        late = asyncio.run(burst(hub, cid, h, 100, {}))
        assert {r.json()["outcome"] for r in late} == {"not_needed"}
        assert refreshes() == before + 1
    assert sim.stats()["reuse_detections"]["refresh_token"] == 0
    live = [f for f in sim.families() if f["id"] == family]
    assert live and not live[0].get("revoked")  # the grant stays valid


def test_the_scheduler_waits_for_half_the_life_and_refreshes_on_one_replica(hub):
    sim, oauth = hub["sim"], hub["oauth_a"]
    ttl = 6.0
    tenant = "e2e-scheduler"
    h = headers(tenant)
    sim.update_settings(access_token_ttl=ttl)
    try:
        known = {f["id"] for f in sim.families()}
        cid = connect(hub, tenant)
        (family,) = [f["id"] for f in sim.families() if f["id"] not in known]
        seen = [httpx.get(f"{oauth.url}/v1/oauth/connections/{cid}/token", headers=h).json()]
        deadline = time.monotonic() + 60
        while len(seen) < 4 and time.monotonic() < deadline:
            info = httpx.get(f"{oauth.url}/v1/oauth/connections/{cid}/token", headers=h).json()
            if info["expires_at"] != seen[-1]["expires_at"]:
                seen.append(info)
            time.sleep(0.1)
    finally:
        sim.update_settings(access_token_ttl=3600)
    assert len(seen) == 4, seen  # three proactive refreshes came
    for previous, current in itertools.pairwise(seen):
        issued = datetime.fromisoformat(previous["expires_at"]) - timedelta(seconds=ttl)
        refreshed = datetime.fromisoformat(current["last_refreshed_at"])
        # Never while the token had more than half its life left (with 300 s of margin).
        assert refreshed >= issued + timedelta(seconds=ttl / 2 - 0.25), (previous, current)
    # Each stored token came from one provider refresh: no replica refreshed behind another.
    generations = seen[-1]["generation"] - seen[0]["generation"]
    assert sim.stats()["refreshes_by_family"][family] == generations
    assert sim.stats()["reuse_detections"]["refresh_token"] == 0


def test_invalid_grant_reaches_the_connection_and_disconnect_revokes(hub):
    sim, connectors, oauth = hub["sim"], hub["connectors"], hub["oauth_a"]
    tenant = "e2e-invalid"
    h = headers(tenant)
    cid = connect(hub, tenant)
    sim.inject_fault("token", "invalid_grant", count=1, grant_type="refresh_token")
    resp = httpx.post(f"{oauth.url}/v1/oauth/connections/{cid}/refresh", headers=h, json={"force": True})
    assert resp.status_code == 409 and resp.json()["error"]["code"] == "invalid_grant"
    wait_status(connectors, cid, h, "token_invalid")

    other = connect(hub, "e2e-disconnect")
    before = sim.stats()["revocations"]
    gone = httpx.delete(f"{connectors.url}/v1/connections/{other}", headers=headers("e2e-disconnect"))
    assert gone.status_code in (200, 202, 204), gone.text
    wait_status(connectors, other, headers("e2e-disconnect"), "disconnected")
    assert sim.stats()["revocations"] != before  # connectors asked oauth to revoke at the provider
