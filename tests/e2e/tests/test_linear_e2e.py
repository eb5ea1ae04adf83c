"""Linear end to end with real processes: the built-in ``linear`` connector connected through the
Linear simulator's OAuth pages (``hub-sim linear``: comma-separated scopes, ``actor=app``), every
action run through connectors → gateway → simulator (whose GraphQL endpoint validates each
document against linear-schema.graphql and executes it), an ``auto`` webhook registration
(``webhookCreate``, Linear's own secret kept in the vault) whose signed delivery fires the
normalised trigger on ``integration.trigger-fired``, the personal-API-key variant, and an issue
export that resumes from its checkpoint after the connectors process is killed mid-export."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from hub_common.settings import HubSettings
from hub_common.testing.events import expect_events
from hub_common.web.auth import mint_user_token
from hub_e2e.provider_hub import provider_hub
from hub_e2e.simulators.linear import sim_uuid
from hub_e2e.simulators.runner import ProviderSim

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]
TENANT = "e2e-linear"
CLIENT_ID, CLIENT_SECRET = "lin-e2e-client", "lin-e2e-client-secret-0123456789"
API_KEY = "lin_api_e2eSimulatedPersonalApiKey000000001"
TEAM = sim_uuid("team", "ENG")


@pytest.fixture(scope="module")
def hub(hub_stack, module_dsn) -> Iterator[dict]:
    env = {
        # The simulator stands in for api.linear.app: a host the operator allows.
        "HUB_LINEAR_API_HOSTS": "127.0.0.1",
        # A killed export worker's lease runs out quickly, and the next worker looks often.
        "HUB_CONNECTORS_EXPORT_LEASE_S": "3",
        "HUB_CONNECTORS_EXPORT_POLL_INTERVAL_S": "0.2",
    }
    client, pats = (CLIENT_ID, CLIENT_SECRET), {API_KEY: "key-owner"}
    with provider_hub(
        hub_stack, module_dsn, "linear", env, spec="linear-schema.graphql", client=client, pats=pats
    ) as running:
        yield running


def headers() -> dict[str, str]:
    token = mint_user_token(HubSettings(), tenant=TENANT, user="alice", tier="enterprise")
    return {"Authorization": f"Bearer {token}"}


def wait_active(hub, cid: str) -> dict:
    deadline = time.monotonic() + 30
    while True:
        body = httpx.get(f"{hub['connectors'].url}/v1/connections/{cid}", headers=headers()).json()
        if body.get("status") == "active" and body.get("external_account_name"):
            return body
        assert time.monotonic() < deadline, f"connection stayed {body.get('status')}: {body}"
        httpx.post(f"{hub['connectors'].url}/v1/connections/{cid}/health", headers=headers(), timeout=30)
        time.sleep(0.2)


def connect_oauth(hub, **extra_config: object) -> str:
    sim, connectors, oauth = hub["sim"], hub["connectors"], hub["oauth"]
    config = {
        **extra_config,
        "base_url": sim.url,
        "oauth_authorization_url": f"{sim.url}/oauth/authorize",
        "oauth_token_url": f"{sim.url}/oauth/token",
        "oauth_revocation_url": f"{sim.url}/oauth/revoke",
    }
    created = httpx.post(
        f"{connectors.url}/v1/connections",
        headers=headers(),
        json={"connector_id": "linear", "name": f"lin {time.monotonic_ns()}", "config": config},
    )
    assert created.status_code == 201, created.text
    cid = created.json()["id"]
    app = httpx.put(
        f"{oauth.url}/v1/oauth/apps/linear",
        headers=headers(),
        json={"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET},
    )
    assert app.status_code in (200, 201), app.text
    flow = httpx.post(f"{oauth.url}/v1/oauth/flows", headers=headers(), json={"connection_id": cid})
    assert flow.status_code == 201, flow.text
    with httpx.Client(follow_redirects=True, timeout=30) as browser:
        landed = browser.get(flow.json()["start_url"])
        asked = next(r for r in landed.history if r.url.path == "/oauth/authorize")
    assert landed.status_code == 200, landed.text
    # Linear's authorize request: scopes comma-separated, the app as the actor.
    query = parse_qs(urlsplit(str(asked.url)).query)
    assert query["scope"] == ["read,write,admin"] and query["actor"] == ["app"]
    active = wait_active(hub, cid)
    # No REST identity endpoint: the post-connect health check (query { viewer }) names the account.
    assert active["external_account_id"] == sim_uuid("user", "sim-user")
    assert active["external_account_name"] == "Sim User"
    return cid


def run(hub, cid: str, action: str, parameters: dict) -> dict:
    resp = httpx.post(
        f"{hub['connectors'].url}/v1/connections/{cid}/actions/{action}",
        headers=headers(),
        json={"parameters": parameters},
        timeout=60,
    )
    assert resp.status_code == 200, resp.text
    result = resp.json()
    assert result["success"] is True, result
    return result["data"]


def test_every_action_through_connectors_gateway_and_simulator(hub):
    cid = connect_oauth(hub)
    issue = run(hub, cid, "create_issue", {"team_id": TEAM, "title": "E2E bug", "priority": 2})
    assert issue["identifier"].startswith("ENG-") and issue["state"]["name"] == "Backlog"
    assert issue["creator"]["name"] == "Sim User" and issue["priority_label"] == "High"
    updated = run(
        hub, cid, "update_issue", {"issue_id": issue["identifier"], "description": "Found end to end"}
    )
    assert updated["description"] == "Found end to end"
    moved = run(hub, cid, "update_status", {"issue_id": issue["id"], "state_name": "In Progress"})
    assert moved["state"]["type"] == "started"
    comment = run(hub, cid, "add_comment", {"issue_id": issue["id"], "body": "Looking into it"})
    assert comment["issue_identifier"] == issue["identifier"] and comment["author"]["name"] == "Sim User"
    found = run(hub, cid, "search_issues", {"term": "e2e bug", "page_size": 1})
    assert [i["id"] for i in found["issues"]] == [issue["id"]] and found["truncated"] is False


def test_a_graphql_error_reaches_the_result_with_linears_message(hub):
    cid = connect_oauth(hub)
    resp = httpx.post(
        f"{hub['connectors'].url}/v1/connections/{cid}/actions/add_comment",
        headers=headers(),
        json={"parameters": {"issue_id": "ENG-99999", "body": "nobody home"}},
        timeout=60,
    )
    result = resp.json()
    assert result["success"] is False and result["error_code"] == "provider_not_found", result
    assert result["error_message"] == "Could not find referenced Issue."


async def test_auto_registration_then_a_signed_event_fires_the_trigger(hub, hub_stack):
    """The webhooks service registers through the connector (``webhookCreate`` at the simulator,
    Linear's secret into the vault); a status change made through the hub comes back as Linear's
    signed delivery, verified with that secret, and the connectors service fires
    ``status_changed`` with the event's delivery id and time on ``integration.trigger-fired``."""
    cid = connect_oauth(hub)
    webhooks = hub["webhooks"].url
    async with httpx.AsyncClient(headers=headers(), timeout=60) as api:
        registration = await api.post(
            f"{webhooks}/v1/webhooks/registrations",
            json={"connection_id": cid, "trigger_ids": ["status_changed", "comment_created"], "mode": "auto"},
        )
        assert registration.status_code == 201, registration.text
        registered = registration.json()
        assert registered["status"] == "active" and registered["events"] == ["Comment", "Issue"]
        workspace = (await api.get(f"{hub['sim'].url}/_sim/linear/workspace")).json()
        (hook,) = [h for h in workspace["webhooks"] if h["id"] == registered["external_id"]]
        assert hook["url"].startswith(webhooks)

        issue = run(hub, cid, "create_issue", {"team_id": TEAM, "title": "Hooked end to end"})
        async with expect_events(
            hub_stack.kafka_bootstrap,
            "integration.trigger-fired",
            match=lambda e: e["connection_id"] == cid,
            count=2,
            timeout_s=60,
        ) as fired:
            run(hub, cid, "update_status", {"issue_id": issue["id"], "state_name": "Done"})
            run(hub, cid, "add_comment", {"issue_id": issue["id"], "body": "Shipped"})
    by_trigger = {e.data["trigger_id"]: e.data for e in fired}
    assert set(by_trigger) == {"status_changed", "comment_created"}
    change = by_trigger["status_changed"]
    assert change["connector_id"] == "linear" and change["registration_id"] == registered["id"]
    assert change["payload"]["status"]["to_state_name"] == "Done"
    assert change["payload"]["issue"]["identifier"] == issue["identifier"]
    assert change["event_id"] and change["occurred_at"]
    assert by_trigger["comment_created"]["payload"]["comment"]["body"] == "Shipped"
    deliveries = hub["sim"].deliveries()
    assert {d["guid"] for d in deliveries} >= {change["event_id"], by_trigger["comment_created"]["event_id"]}
    assert all(d["status_code"] == 200 for d in deliveries), deliveries  # every signature verified

    async with httpx.AsyncClient(headers=headers(), timeout=60) as api:
        removed = await api.delete(f"{webhooks}/v1/webhooks/registrations/{registered['id']}")
        assert removed.status_code in (200, 204), removed.text
        workspace = (await api.get(f"{hub['sim'].url}/_sim/linear/workspace")).json()
    assert all(h["id"] != registered["external_id"] for h in workspace["webhooks"])  # webhookDelete


def test_personal_api_key_connection(hub):
    created = httpx.post(
        f"{hub['connectors'].url}/v1/connections",
        headers=headers(),
        json={
            "connector_id": "linear_api_key",
            "name": f"key {time.monotonic_ns()}",
            "config": {"base_url": hub["sim"].url},
            "credentials": {"api_key": API_KEY},
        },
    )
    assert created.status_code == 201, created.text
    active = wait_active(hub, created.json()["id"])
    assert active["external_account_name"] == "Key Owner"
    made = run(hub, active["id"], "create_issue", {"team_id": TEAM, "title": "Made with a key"})
    assert made["creator"]["name"] == "Key Owner"


async def test_issue_export_resumes_after_the_connectors_process_is_killed(hub, hub_stack):
    """120 issues (some with a comment): three pages of 50. The simulator holds the second page's
    query; the connectors process is killed (SIGKILL) while it waits, started again, the hold
    released: the export finishes from its checkpointed cursor — page one is never asked again,
    and every issue lands on ``integration.content`` exactly once."""
    sim, connectors = hub["sim"], hub["connectors"]
    cid = export_world(hub)
    sim_admin(sim, "/linear/hold", {"operation": "ExportIssues", "after": 1})
    url = f"{connectors.url}/v1/connections/{cid}/exports"
    async with (
        expect_events(
            hub_stack.kafka_bootstrap,
            "integration.content",
            match=lambda d: d["connection_id"] == cid,
            count=120,
            timeout_s=120,
            exact=True,
            settle_s=1.0,
        ) as seen,
        httpx.AsyncClient(headers=headers(), timeout=30) as api,
    ):
        started = await api.post(url, json={})
        assert started.status_code == 202, started.text
        export_id = started.json()["id"]
        export = await poll(api, f"{url}/{export_id}", lambda e: e["pages"] >= 1 and held(sim))
        assert export["status"] == "running" and export["documents"] == 50

        assert connectors.proc is not None
        os.killpg(connectors.proc.pid, signal.SIGKILL)  # a crash: no lease released
        connectors.proc.wait(10)
        connectors.start(timeout_s=120)  # a loaded machine: faust rejoins its group first
        sim_admin(sim, "/linear/release")
        export = await poll(api, f"{url}/{export_id}", lambda e: e["status"] != "running", timeout_s=90)
    assert export["status"] == "completed" and export["documents"] == 120, export
    ids = sorted(e.data["id"] for e in seen)
    assert ids == sorted(f"ENG-{n}" for n in range(1, 121))
    first = next(e.data for e in seen if e.data["id"] == "ENG-1")
    assert first["title"] == "Export 0" and "Body 0" in first["text"] and "Comment on 0" in first["text"]
    asked = [c["variables"].get("after") for c in export_calls(sim)]
    assert asked.count(None) == 1  # page one was committed before the crash: never fetched again


def export_world(hub) -> str:
    """A fresh simulated workspace with 120 issues, and an API-key connection to it."""
    sim, connectors = hub["sim"], hub["connectors"]
    sim_admin(sim, "/provider/reset")
    sim_admin(sim, "/linear/api-keys", {"token": API_KEY, "login": "key-owner"})
    created = httpx.post(
        f"{connectors.url}/v1/connections",
        headers=headers(),
        json={
            "connector_id": "linear_api_key",
            "name": f"export {time.monotonic_ns()}",
            "config": {"base_url": sim.url},
            "credentials": {"api_key": API_KEY},
        },
    )
    assert created.status_code == 201, created.text
    cid: str = wait_active(hub, created.json()["id"])["id"]
    for n in range(120):
        made = run(
            hub, cid, "create_issue", {"team_id": TEAM, "title": f"Export {n}", "description": f"Body {n}"}
        )
        if n % 10 == 0:
            run(hub, cid, "add_comment", {"issue_id": made["id"], "body": f"Comment on {n}"})
    return cid


def sim_admin(sim: ProviderSim, path: str, body: dict | None = None) -> None:
    httpx.post(f"{sim.url}/_sim{path}", json=body, timeout=10).raise_for_status()


def export_calls(sim: ProviderSim) -> list[dict]:
    calls = httpx.get(f"{sim.url}/_sim/linear/calls", timeout=10).json()
    return [c for c in calls if c["operation"] == "ExportIssues"]


def held(sim: ProviderSim) -> bool:
    return len(export_calls(sim)) == 1


async def poll(api: httpx.AsyncClient, url: str, done, timeout_s: float = 60) -> dict:
    deadline = time.monotonic() + timeout_s
    while True:
        body = (await api.get(url)).json()
        if done(body):
            return body
        assert time.monotonic() < deadline, body
        await asyncio.sleep(0.2)


def test_linear_rate_limits_reach_the_action_and_the_gateway(hub):
    """A query costing more than the complexity left: Linear's ``RATELIMITED`` (HTTP 400) reaches
    the action as ``provider_rate_limited`` with the wait until the reset (epoch ms). A spent
    request budget (``X-RateLimit-Requests-Remaining: 0`` on the last answer): the gateway read
    Linear's headers and refuses the next call itself, without reaching Linear."""
    sim = hub["sim"]
    sim_admin(sim, "/linear/api-keys", {"token": API_KEY, "login": "key-owner"})
    created = httpx.post(
        f"{hub['connectors'].url}/v1/connections",
        headers=headers(),
        json={
            "connector_id": "linear_api_key",
            "name": f"limits {time.monotonic_ns()}",
            "config": {"base_url": sim.url},
            "credentials": {"api_key": API_KEY},
        },
    )
    assert created.status_code == 201, created.text
    cid = wait_active(hub, created.json()["id"])["id"]
    before = rate_limited_at(sim)
    try:
        sim_admin(sim, "/linear/rate-limit", {"complexity": 1})
        by_linear = attempt(hub, cid)
        assert rate_limited_at(sim) == before + 1
        sim_admin(sim, "/linear/rate-limit", {"complexity": 250_000, "requests": 1})
        run(hub, cid, "search_issues", {"term": "anything"})  # the last request of the window
        calls = len(httpx.get(f"{sim.url}/_sim/linear/calls", timeout=10).json())
        by_gateway = attempt(hub, cid)
        assert len(httpx.get(f"{sim.url}/_sim/linear/calls", timeout=10).json()) == calls
        assert rate_limited_at(sim) == before + 1  # Linear never saw the refused call
    finally:
        sim_admin(sim, "/linear/rate-limit", {"requests": 1500, "complexity": 250_000})
    assert by_linear["success"] is False and by_linear["error_code"] == "provider_rate_limited", by_linear
    assert by_linear["status_code"] == 400 and 3000 < by_linear["retry_after_s"] <= 3600
    assert by_gateway["success"] is False and by_gateway["error_code"] == "provider_rate_limited", by_gateway
    assert by_gateway["status_code"] == 429 and by_gateway["retry_after_s"] > 3000


def attempt(hub, cid: str) -> dict:
    resp = httpx.post(
        f"{hub['connectors'].url}/v1/connections/{cid}/actions/search_issues",
        headers=headers(),
        json={"parameters": {"term": "anything"}},
        timeout=60,
    )
    assert resp.status_code == 200, resp.text
    result: dict = resp.json()
    return result


def rate_limited_at(sim: ProviderSim) -> int:
    count: int = httpx.get(f"{sim.url}/_sim/linear/workspace", timeout=10).json()["rate_limited"]
    return count


def test_the_catalog_lists_linear_with_actions_triggers_and_schemas(hub):
    listed = httpx.get(f"{hub['connectors'].url}/v1/connectors", headers=headers())
    assert listed.status_code == 200, listed.text
    linear = next(c for c in listed.json()["connectors"] if c["id"] == "linear")
    assert linear["builtin"] is True and linear["auth"]["method"] == "oauth2"
    assert linear["auth"]["oauth"]["scope_separator"] == ","
    assert linear["auth"]["oauth"]["extra_authorize_params"] == {"actor": "app"}
    actions = {a["id"]: a for a in linear["actions"]}
    assert set(actions) == {"create_issue", "update_issue", "update_status", "add_comment", "search_issues"}
    assert actions["create_issue"]["parameters_schema"]["required"] == ["team_id", "title"]
    assert set(t["id"] for t in linear["triggers"]) == {
        "issue_created",
        "issue_updated",
        "status_changed",
        "comment_created",
    }
    assert linear["webhook_signature"]["preset"] == "linear" and linear["content_export"] is True
