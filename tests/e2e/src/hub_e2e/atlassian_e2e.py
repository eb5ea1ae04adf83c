"""What the Jira and Confluence end-to-end tests share: the hub's services around the Atlassian
simulator, an OAuth 2.0 (3LO) connect through the simulator's pages, and running an action."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx

from hub_common.settings import HubSettings
from hub_common.web.auth import mint_user_token
from hub_e2e.provider_hub import provider_hub

CLIENT_ID, CLIENT_SECRET = "e2e-atlassian-app", "e2e-atlassian-client-secret-0123456789"
API_TOKEN, API_EMAIL = "ATATT3xE2eSimulatedApiToken0001", "bot@example.test"
CLOUD_ID = "11111111-2222-4333-8444-555555555555"  # the simulator's default site


@contextmanager
def atlassian_hub(hub_stack: Any, dsn: str, spec: str) -> Iterator[dict[str, Any]]:
    """vault, connectors, oauth, gateway and webhooks around ``hub-sim atlassian``."""
    env = {
        # The simulator stands in for api.atlassian.com and for a site the operator allows.
        "HUB_ATLASSIAN_HOSTS": "127.0.0.1",
        "HUB_CONNECTORS_EXPORT_POLL_INTERVAL_S": "0.2",
        "HUB_CONNECTORS_EXPORT_LEASE_S": "3",
    }
    client, pats = (CLIENT_ID, CLIENT_SECRET), {API_TOKEN: API_EMAIL}
    with provider_hub(hub_stack, dsn, "atlassian", env, spec=spec, client=client, pats=pats) as running:
        yield running


def user_headers(tenant: str) -> dict[str, str]:
    token = mint_user_token(HubSettings(), tenant=tenant, user="alice", tier="enterprise")
    return {"Authorization": f"Bearer {token}"}


def wait_active(hub: dict[str, Any], tenant: str, cid: str) -> dict[str, Any]:
    deadline = time.monotonic() + 30
    while True:
        body: dict[str, Any] = httpx.get(
            f"{hub['connectors'].url}/v1/connections/{cid}", headers=user_headers(tenant)
        ).json()
        if body.get("status") == "active":
            return body
        assert time.monotonic() < deadline, f"connection stayed {body.get('status')}: {body}"
        time.sleep(0.1)


def connect_oauth(hub: dict[str, Any], tenant: str, connector_id: str, **extra_config: object) -> str:
    """A connection of ``connector_id`` (jira, confluence) through the simulator's consent page;
    the simulator plays api.atlassian.com (``base_url``) and auth.atlassian.com."""
    sim, connectors, oauth = hub["sim"], hub["connectors"], hub["oauth"]
    headers = user_headers(tenant)
    config = {
        "base_url": sim.url,
        "oauth_authorization_url": f"{sim.url}/authorize",
        "oauth_token_url": f"{sim.url}/oauth/token",
        "oauth_identity_url": f"{sim.url}/me",
        "oauth_resources_url": f"{sim.url}/oauth/token/accessible-resources",
        **extra_config,
    }
    created = httpx.post(
        f"{connectors.url}/v1/connections",
        headers=headers,
        json={
            "connector_id": connector_id,
            "name": f"{connector_id} {time.monotonic_ns()}",
            "config": config,
        },
    )
    assert created.status_code == 201, created.text
    cid: str = created.json()["id"]
    app = httpx.put(
        f"{oauth.url}/v1/oauth/apps/{connector_id}",
        headers=headers,
        json={"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET},
    )
    assert app.status_code in (200, 201), app.text
    flow = httpx.post(f"{oauth.url}/v1/oauth/flows", headers=headers, json={"connection_id": cid})
    assert flow.status_code == 201, flow.text
    with httpx.Client(follow_redirects=True, timeout=30) as browser:
        landed = browser.get(flow.json()["start_url"])
    assert landed.status_code == 200, landed.text
    active = wait_active(hub, tenant, cid)
    assert active["external_account_id"].startswith("712020:")  # GET /me through the identity override
    return cid


def run_action(
    hub: dict[str, Any], tenant: str, cid: str, action: str, parameters: dict[str, Any]
) -> dict[str, Any]:
    """The action's result (``success``, ``data`` or ``error_*``)."""
    resp = httpx.post(
        f"{hub['connectors'].url}/v1/connections/{cid}/actions/{action}",
        headers=user_headers(tenant),
        json={"parameters": parameters},
        timeout=60,
    )
    assert resp.status_code == 200, resp.text
    result: dict[str, Any] = resp.json()
    return result
