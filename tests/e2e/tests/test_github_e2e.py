"""GitHub end to end: the built-in ``github`` connector connected through the GitHub simulator's
OAuth pages (the simulator plays a GitHub Enterprise Server at 127.0.0.1: ``{base}/api/v3``),
every action run through connectors → gateway → simulator, the personal-access-token variant,
and the catalog as ``GET /v1/connectors`` shows it."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import httpx
import pytest

from hub_common.settings import HubSettings
from hub_common.testing.events import expect_events
from hub_common.testing.service_keys import service_minter
from hub_common.web.auth import mint_user_token
from hub_connector_github import GitHubConnector
from hub_connector_sdk import verify_webhook
from hub_connector_sdk.testkit import parse_webhook
from hub_e2e.provider_hub import provider_hub
from hub_e2e.receiver import WebhookReceiver

pytestmark = pytest.mark.e2e
TENANT = "e2e-github"
CLIENT_ID, CLIENT_SECRET = "Iv1.e2egithub", "e2e-github-secret-0123456789"
PAT = "ghp_e2eSimulatedPersonalAccessToken01"


@pytest.fixture(scope="module")
def hub(hub_stack, module_dsn) -> Iterator[dict]:
    # The simulator stands in for a GitHub Enterprise Server the operator allows.
    env = {"HUB_GITHUB_ENTERPRISE_HOSTS": "127.0.0.1"}
    with provider_hub(
        hub_stack,
        module_dsn,
        "github",
        env,
        spec="github-rest.json",
        client=(CLIENT_ID, CLIENT_SECRET),
        pats={PAT: "pat-owner"},
        services=("vault", "connectors", "oauth", "gateway"),
    ) as running:
        yield running


def headers() -> dict[str, str]:
    token = mint_user_token(HubSettings(), tenant=TENANT, user="alice", tier="enterprise")
    return {"Authorization": f"Bearer {token}"}


def wait_active(hub, cid: str) -> dict:
    deadline = time.monotonic() + 20
    while True:
        body = httpx.get(f"{hub['connectors'].url}/v1/connections/{cid}", headers=headers()).json()
        if body.get("status") == "active":
            return body
        assert time.monotonic() < deadline, f"connection stayed {body.get('status')}: {body}"
        time.sleep(0.1)


def connect_oauth(hub, **extra_config: object) -> str:
    sim, connectors, oauth = hub["sim"], hub["connectors"], hub["oauth"]
    config = {
        **extra_config,
        "base_url": f"{sim.url}/api/v3",
        "oauth_authorization_url": f"{sim.url}/login/oauth/authorize",
        "oauth_token_url": f"{sim.url}/login/oauth/access_token",
        "oauth_revocation_url": f"{sim.url}/applications/{{client_id}}/token",
        "oauth_identity_url": f"{sim.url}/api/v3/user",
        "webhook_repository": "sim-user/sandbox",
    }
    created = httpx.post(
        f"{connectors.url}/v1/connections",
        headers=headers(),
        json={"connector_id": "github", "name": f"gh {time.monotonic_ns()}", "config": config},
    )
    assert created.status_code == 201, created.text
    cid = created.json()["id"]
    app = httpx.put(
        f"{oauth.url}/v1/oauth/apps/github",
        headers=headers(),
        json={"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET},
    )
    assert app.status_code in (200, 201), app.text
    flow = httpx.post(f"{oauth.url}/v1/oauth/flows", headers=headers(), json={"connection_id": cid})
    assert flow.status_code == 201, flow.text
    # One cookie-keeping "browser" opens the flow's start link (the hub binds the flow to this
    # browser, docs/adr/0012) and follows it: GitHub's consent, then the hub's callback.
    with httpx.Client(follow_redirects=True, timeout=30) as browser:
        landed = browser.get(flow.json()["start_url"])
    assert landed.status_code == 200, landed.text
    assert str(landed.url).startswith(f"{oauth.url}/v1/oauth/callback")
    active = wait_active(hub, cid)
    assert active["external_account_id"]  # GET /user through the identity override
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
    repo = {"owner": "sim-user", "repo": "sandbox"}
    issue = run(
        hub, cid, "create_issue", {**repo, "title": "E2E bug", "body": "Found end to end", "labels": ["bug"]}
    )
    assert issue["title"] == "E2E bug" and issue["author"] == "sim-user" and issue["labels"] == ["bug"]
    number = issue["number"]
    closed = run(hub, cid, "update_issue", {**repo, "issue_number": number, "state": "closed"})
    assert closed["state"] == "closed" and closed["closed_at"]
    comment = run(hub, cid, "add_comment", {**repo, "issue_number": number, "body": "Closing note"})
    assert comment["body"] == "Closing note"
    listed = run(hub, cid, "list_issues", {**repo, "state": "all"})
    assert [i["number"] for i in listed["issues"]] == [number] and listed["issues"][0]["comments"] == 1

    pull = run(
        hub, cid, "create_pull_request", {**repo, "title": "E2E feature", "head": "feat", "base": "main"}
    )
    got = run(hub, cid, "get_pull_request", {**repo, "pull_number": pull["number"]})
    assert got["mergeable"] is True and got["merged"] is False
    merged = run(
        hub, cid, "merge_pull_request", {**repo, "pull_number": pull["number"], "merge_method": "squash"}
    )
    assert merged["merged"] is True and merged["sha"]
    assert run(hub, cid, "get_pull_request", {**repo, "pull_number": pull["number"]})["merged"] is True

    repos = run(hub, cid, "list_repositories", {"per_page": 1})  # three pages through the gateway
    assert {r["full_name"] for r in repos["repositories"]} == {
        "sim-user/sandbox",
        "sim-user/website",
        "sim-user/docs",
    }


def test_a_provider_refusal_reaches_the_result_with_githubs_message(hub):
    cid = connect_oauth(hub)
    resp = httpx.post(
        f"{hub['connectors'].url}/v1/connections/{cid}/actions/get_pull_request",
        headers=headers(),
        json={"parameters": {"owner": "sim-user", "repo": "sandbox", "pull_number": 999}},
        timeout=60,
    )
    result = resp.json()
    assert result["success"] is False and result["error_code"] == "provider_not_found", result
    assert result["status_code"] == 404 and "Not Found" in result["error_message"]


async def test_issue_export_lands_on_integration_content(hub, hub_stack):
    cid = connect_oauth(hub, export_repositories=["sim-user/docs"])
    repo = {"owner": "sim-user", "repo": "docs"}
    for title in ("Search me", "Find me too"):
        run(hub, cid, "create_issue", {**repo, "title": title, "body": f"{title}: body text"})
    run(hub, cid, "create_pull_request", {**repo, "title": "Not an issue", "head": "feat", "base": "main"})
    url = f"{hub['connectors'].url}/v1/connections/{cid}/exports"
    async with (
        httpx.AsyncClient(headers=headers(), timeout=30) as api,
        expect_events(
            hub_stack.kafka_bootstrap,
            "integration.content",
            match=lambda d: d["connection_id"] == cid,
            count=2,
            timeout_s=60,
            exact=True,
        ) as seen,
    ):
        started = await api.post(url, json={})
        assert started.status_code == 202, started.text
        export = started.json()
        deadline = time.monotonic() + 60
        while export["status"] == "running":
            assert time.monotonic() < deadline, export
            await asyncio.sleep(0.2)
            export = (await api.get(f"{url}/{export['id']}")).json()
    assert export["status"] == "completed" and export["documents"] == 2, export
    documents = {e.data["id"]: e.data for e in seen}
    assert set(documents) == {"sim-user/docs#1", "sim-user/docs#2"}
    first = documents["sim-user/docs#1"]
    assert first["connector_id"] == "github" and first["title"] == "Search me"
    assert first["text"] == "Search me: body text" and first["author"] == "sim-user"
    assert first["url"].endswith("/sim-user/docs/issues/1")


def test_webhook_registered_through_the_connector_delivers_signed_events(hub):
    """The webhooks service's registration call: the connector creates a repository hook at the
    simulator through the gateway; an issue opened afterwards arrives at the hub's URL signed
    with the hub's secret, verifies with the github-sha256 verifier and parses into the trigger."""
    cid = connect_oauth(hub)
    secret = "hub-generated-signing-secret-0123456789"
    as_webhooks = service_minter("webhooks")
    with WebhookReceiver() as receiver:
        registered = httpx.post(
            f"{hub['connectors'].url}/internal/v1/connections/{cid}/webhooks",
            headers=as_webhooks.headers_for("connectors"),
            json={
                "tenant_id": TENANT,
                "trigger_ids": ["issue_opened", "issue_commented"],
                "target_url": receiver.url,
                "secret": secret,
            },
            timeout=60,
        )
        assert registered.status_code == 201, registered.text
        assert registered.json()["events"] == ["issue_comment", "issues"]
        assert registered.json()["provider_secret_key"] is None  # GitHub signs with the hub's secret
        issue = run(hub, cid, "create_issue", {"owner": "sim-user", "repo": "sandbox", "title": "Hooked e2e"})
        got = receiver.wait_for(2)  # ping, then issues.opened
    by_event = {r.headers["x-github-event"]: r for r in got}
    delivery = by_event["issues"]
    verify_webhook(GitHubConnector.webhook_signature, secret, delivery.headers, delivery.body)
    (fired,) = parse_webhook(GitHubConnector, delivery.body, headers=delivery.headers)
    assert fired.trigger_id == "issue_opened" and fired.payload["issue"]["number"] == issue["number"]
    assert fired.event_id == delivery.headers["x-github-delivery"]


def test_personal_access_token_connection(hub):
    sim, connectors = hub["sim"], hub["connectors"]
    created = httpx.post(
        f"{connectors.url}/v1/connections",
        headers=headers(),
        json={
            "connector_id": "github_pat",
            "name": f"pat {time.monotonic_ns()}",
            "config": {"base_url": f"{sim.url}/api/v3"},
            "credentials": {"token": PAT},
        },
    )
    assert created.status_code == 201, created.text
    cid = created.json()["id"]
    check = httpx.post(f"{connectors.url}/v1/connections/{cid}/health", headers=headers(), timeout=60)
    assert check.status_code in (200, 202), check.text
    active = wait_active(hub, cid)
    assert active["external_account_name"] == "pat-owner"
    repos = run(hub, cid, "list_repositories", {"visibility": "public"})
    assert {r["owner"] for r in repos["repositories"]} == {"pat-owner"}


def test_the_catalog_lists_github_with_actions_triggers_and_schemas(hub):
    listed = httpx.get(f"{hub['connectors'].url}/v1/connectors", headers=headers())
    assert listed.status_code == 200, listed.text
    github = next(c for c in listed.json()["connectors"] if c["id"] == "github")
    assert github["builtin"] is True and github["origin"] == "builtin"
    assert github["auth"]["method"] == "oauth2"
    actions = {a["id"]: a for a in github["actions"]}
    assert set(actions) == {
        "create_issue",
        "update_issue",
        "add_comment",
        "list_issues",
        "create_pull_request",
        "get_pull_request",
        "merge_pull_request",
        "list_repositories",
    }
    assert actions["create_issue"]["parameters_schema"]["required"] == ["owner", "repo", "title"]
    assert actions["create_issue"]["output_schema"]["properties"]["number"]["type"] == "integer"
    triggers = {t["id"]: t for t in github["triggers"]}
    assert set(triggers) == {
        "issue_opened",
        "issue_closed",
        "issue_commented",
        "pull_request_opened",
        "pull_request_merged",
        "push",
    }
    assert triggers["push"]["payload_schema"]["properties"]["commits"]
    assert github["webhook_signature"]["preset"] == "github-sha256"
    assert github["api"]["default_headers"]["X-GitHub-Api-Version"] == "2022-11-28"
