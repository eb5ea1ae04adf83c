"""Actions end to end: connectors → gateway (credential injection, rate limits, events) →
provider, with the real vault, oauth and Kafka; a 401 makes the gateway refresh once via oauth."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest

from hub_common.settings import HubSettings
from hub_common.web.auth import mint_user_token
from hub_e2e.connectors import plugin_path
from hub_e2e.oauth_browser import complete_in_browser
from hub_e2e.processes import ServiceProcess, free_port
from hub_e2e.simulators.runner import OAuthSimulator

pytestmark = pytest.mark.e2e
TENANT = "e2e-actions"


@pytest.fixture(scope="module")
def hub(hub_stack, module_dsn, tmp_path_factory) -> Iterator[dict]:
    oauth_port = free_port()
    public = f"http://127.0.0.1:{oauth_port}"
    client = {
        "client_id": "e2e-actions",
        "client_secret": "e2e-actions-secret-0123456789",
        "redirect_uris": [f"{public}/v1/oauth/callback"],
    }
    plugins = plugin_path(tmp_path_factory.mktemp("plugins"))
    with OAuthSimulator("generic", clients=[client]) as sim:
        vault, connectors = ServiceProcess("vault", {}), ServiceProcess("connectors", {})
        oauth, gateway = ServiceProcess("oauth", {}, port=oauth_port), ServiceProcess("gateway", {})
        env = {
            "HUB_POSTGRES_DSN": module_dsn,
            "HUB_KAFKA_BOOTSTRAP": hub_stack.kafka_bootstrap,
            "HUB_REDIS_URL": hub_stack.redis_url,
            "HUB_OUTBOUND_ALLOWLIST": "127.0.0.1",
            "HUB_VAULT_URL": vault.url,
            "HUB_CONNECTORS_URL": connectors.url,
            "HUB_OAUTH_URL": oauth.url,
            "HUB_GATEWAY_URL": gateway.url,
            "HUB_OAUTH_PUBLIC_URL": public,
            "PYTHONPATH": str(plugins),
            "HUB_CONNECTORS_CONSUMER_OFFSET_RESET": "latest",
        }
        procs = [vault, connectors, oauth, gateway]
        try:
            for proc in procs:
                proc.env = env
                proc.migrate()
            for proc in procs:
                proc.start()
            yield {"sim": sim, "connectors": connectors, "oauth": oauth, "gateway": gateway}
        finally:
            for proc in reversed(procs):
                proc.stop()


def headers() -> dict[str, str]:
    return {
        "Authorization": "Bearer "
        + mint_user_token(HubSettings(), tenant=TENANT, user="alice", tier="enterprise")
    }


def connected(hub) -> str:
    sim, connectors, oauth = hub["sim"], hub["connectors"], hub["oauth"]
    config = {
        "base_url": sim.url,
        "oauth_authorization_url": f"{sim.url}/authorize",
        "oauth_token_url": f"{sim.url}/token",
        "oauth_identity_url": f"{sim.url}/userinfo",
    }
    created = httpx.post(
        f"{connectors.url}/v1/connections",
        headers=headers(),
        json={"connector_id": "simoauth", "name": f"a{time.monotonic_ns()}", "config": config},
    )
    assert created.status_code == 201, created.text
    cid = created.json()["id"]
    httpx.put(
        f"{oauth.url}/v1/oauth/apps/simoauth",
        headers=headers(),
        json={"client_id": "e2e-actions", "client_secret": "e2e-actions-secret-0123456789"},
    )
    flow = httpx.post(f"{oauth.url}/v1/oauth/flows", headers=headers(), json={"connection_id": cid}).json()
    assert complete_in_browser(flow).status_code == 200
    deadline = time.monotonic() + 15
    while httpx.get(f"{connectors.url}/v1/connections/{cid}", headers=headers()).json()["status"] != "active":
        assert time.monotonic() < deadline, "connection never became active"
        time.sleep(0.1)
    return cid


def run_action(hub, cid: str) -> httpx.Response:
    return httpx.post(
        f"{hub['connectors'].url}/v1/connections/{cid}/actions/whoami",
        headers=headers(),
        json={"parameters": {}},
        timeout=60,
    )


def test_action_runs_through_the_gateway_with_the_injected_token(hub):
    cid = connected(hub)
    resp = run_action(hub, cid)
    assert resp.status_code == 200, resp.text
    result = resp.json()
    assert result["success"] is True, result
    assert result["data"]["sub"]  # the simulator only answers with a valid bearer token


def test_expired_token_is_refreshed_once_by_the_gateway(hub):
    sim = hub["sim"]
    known = {f["id"] for f in sim.families()}
    cid = connected(hub)
    (family,) = [f for f in sim.families() if f["id"] not in known]  # this connection's token family
    sim.expire(family_id=family["id"])
    before = sim.stats()["refreshes"]
    resp = run_action(hub, cid)
    assert resp.status_code == 200 and resp.json()["success"] is True, resp.text
    assert sim.stats()["refreshes"] == before + 1


def test_statuses_follow_an_oauth_connect_and_a_revoke(hub):
    connectors, oauth = hub["connectors"], hub["oauth"]
    cid = connected(hub)
    url = f"{connectors.url}/v1/connections/{cid}"
    deadline = time.monotonic() + 15
    # The connect is followed by a health check, as an API-key connection's creation is.
    while not (body := httpx.get(url, headers=headers()).json())["last_health_check_at"]:
        assert time.monotonic() < deadline, f"no health check after the connect: {body}"
        time.sleep(0.1)
    assert body["status"] == "active" and body["last_health_check_status"] is True
    assert body["external_account_id"] not in (None, "unknown")

    revoked = httpx.post(f"{oauth.url}/v1/oauth/connections/{cid}/revoke", headers=headers(), json={})
    assert revoked.status_code == 200, revoked.text
    deadline = time.monotonic() + 15
    while (body := httpx.get(url, headers=headers()).json())["status"] != "token_invalid":
        assert time.monotonic() < deadline, f"the connection did not follow the revoke: {body}"
        time.sleep(0.1)
    assert body["last_error"] == "revoked"

    info = httpx.get(f"{oauth.url}/v1/oauth/connections/{cid}/token", headers=headers()).json()
    assert info["status"] == "revoked" and info["has_refresh_token"] is False
    checked = httpx.post(f"{url}/health", headers=headers(), timeout=60)
    assert checked.status_code == 200, checked.text
    assert checked.json()["connection"]["status"] == "token_invalid"
    assert checked.json()["health"]["credentials_invalid"] is True
    action = run_action(hub, cid)
    assert action.status_code == 409 and action.json()["error"]["code"] == "connection_not_active", (
        action.text
    )
