"""GitLab end to end: the built-in ``gitlab`` connector connected through the GitLab simulator's
OAuth pages (the simulator plays a self-managed GitLab at 127.0.0.1: ``{base}/api/v4``, allowed by
``HUB_GITLAB_HOSTS``), every action run through connectors → gateway → simulator, an ``auto``
webhook registration that creates a project hook at the simulator whose ``X-Gitlab-Token``-signed
event becomes ``issue_opened`` on ``integration.trigger-fired``, the ``PRIVATE-TOKEN`` variant,
and a content export of issues and merge requests that, after the connectors service restarts,
resumes from its stored cursor with only what changed."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import httpx
import pytest

from hub_common.settings import HubSettings
from hub_common.testing.events import expect_events
from hub_common.web.auth import mint_user_token
from hub_e2e.provider_hub import provider_hub
from hub_e2e.simulators.runner import ProviderSim

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]  # five services and a simulator start
TENANT = "e2e-gitlab"
CLIENT_ID, CLIENT_SECRET = "e2e-gitlab-app", "e2e-gitlab-secret-0123456789"
PAT = "glpat-e2eSimulatedAccessToken0001"
PROJECT = "sim-user/sandbox"


@pytest.fixture(scope="module")
def hub(hub_stack, module_dsn) -> Iterator[dict]:
    env = {
        # The simulator stands in for a self-managed GitLab the operator allows.
        "HUB_GITLAB_HOSTS": "127.0.0.1",
        "HUB_WEBHOOKS_DELIVERY_OFFSET_RESET": "latest",
    }
    client, pats = (CLIENT_ID, CLIENT_SECRET), {PAT: "pat-owner"}
    with provider_hub(
        hub_stack, module_dsn, "gitlab", env, spec="gitlab-v4.json", client=client, pats=pats
    ) as running:
        yield running


def headers() -> dict[str, str]:
    token = mint_user_token(HubSettings(), tenant=TENANT, user="alice", tier="enterprise")
    return {"Authorization": f"Bearer {token}"}


def wait_active(hub, cid: str) -> dict:
    deadline = time.monotonic() + 30
    while True:
        body = httpx.get(f"{hub['connectors'].url}/v1/connections/{cid}", headers=headers()).json()
        if body.get("status") == "active":
            return body
        assert time.monotonic() < deadline, f"connection stayed {body.get('status')}: {body}"
        time.sleep(0.1)


def connect_oauth(hub, **extra_config: object) -> str:
    sim, connectors, oauth = hub["sim"], hub["connectors"], hub["oauth"]
    config = {
        "base_url": f"{sim.url}/api/v4",
        "oauth_authorization_url": f"{sim.url}/oauth/authorize",
        "oauth_token_url": f"{sim.url}/oauth/token",
        "oauth_revocation_url": f"{sim.url}/oauth/revoke",
        "oauth_identity_url": f"{sim.url}/api/v4/user",
        "webhook_project": PROJECT,
        **extra_config,
    }
    created = httpx.post(
        f"{connectors.url}/v1/connections",
        headers=headers(),
        json={"connector_id": "gitlab", "name": f"gl {time.monotonic_ns()}", "config": config},
    )
    assert created.status_code == 201, created.text
    cid = created.json()["id"]
    app = httpx.put(
        f"{oauth.url}/v1/oauth/apps/gitlab",
        headers=headers(),
        json={"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET},
    )
    assert app.status_code in (200, 201), app.text
    flow = httpx.post(f"{oauth.url}/v1/oauth/flows", headers=headers(), json={"connection_id": cid})
    assert flow.status_code == 201, flow.text
    with httpx.Client(follow_redirects=True, timeout=30) as browser:  # GitLab's consent, then the callback
        landed = browser.get(flow.json()["start_url"])
    assert landed.status_code == 200, landed.text
    assert str(landed.url).startswith(f"{oauth.url}/v1/oauth/callback")
    active = wait_active(hub, cid)
    assert active["external_account_id"]  # GET /api/v4/user through the identity override
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


def add_project(sim: ProviderSim, full_path: str) -> None:
    namespace, _, path = full_path.partition("/")
    httpx.post(
        f"{sim.url}/_sim/gitlab/projects", json={"namespace": namespace, "path": path}
    ).raise_for_status()


def budget(sim: ProviderSim, limit: int, *, window_s: int = 60) -> None:
    """GitLab's rate limit per credential at the simulator (fresh windows from now on)."""
    httpx.post(
        f"{sim.url}/_sim/gitlab/rate_limit", json={"limit": limit, "window_s": window_s}
    ).raise_for_status()


def test_every_action_through_connectors_gateway_and_simulator(hub):
    cid = connect_oauth(hub)
    p = {"project": PROJECT}
    issue = run(
        hub,
        cid,
        "create_issue",
        {**p, "title": "E2E bug", "description": "Found end to end", "labels": ["bug"]},
    )
    assert issue["title"] == "E2E bug" and issue["author"] == "sim-user" and issue["labels"] == ["bug"]
    closed = run(hub, cid, "update_issue", {**p, "issue_iid": issue["iid"], "state_event": "close"})
    assert closed["state"] == "closed" and closed["closed_at"]
    note = run(hub, cid, "add_issue_note", {**p, "issue_iid": issue["iid"], "body": "Closing note"})
    assert note["body"] == "Closing note" and note["noteable_iid"] == issue["iid"]
    mr = run(
        hub,
        cid,
        "create_merge_request",
        {**p, "title": "E2E feature", "source_branch": "feat", "target_branch": "main"},
    )
    assert mr["detailed_merge_status"] == "mergeable"
    for n in range(3):
        run(
            hub,
            cid,
            "create_merge_request",
            {**p, "title": f"Other {n}", "source_branch": f"o{n}", "target_branch": "main"},
        )
    merged = run(hub, cid, "merge_merge_request", {**p, "merge_request_iid": mr["iid"], "squash": True})
    assert merged["state"] == "merged" and merged["merge_commit_sha"]
    listed = run(hub, cid, "list_merge_requests", {**p, "state": "opened", "per_page": 1})  # three pages
    assert [m["title"] for m in listed["merge_requests"]] == ["Other 2", "Other 1", "Other 0"]
    refused = httpx.post(
        f"{hub['connectors'].url}/v1/connections/{cid}/actions/merge_merge_request",
        headers=headers(),
        json={"parameters": {**p, "merge_request_iid": mr["iid"]}},
        timeout=60,
    ).json()
    assert refused["success"] is False and refused["status_code"] == 405, refused
    assert refused["error_message"] == "405 Method Not Allowed"


@pytest.mark.parametrize("scheme", ["gitlab-token", "gitlab-signing"])
async def test_auto_registration_turns_a_signed_gitlab_event_into_a_trigger(hub, hub_stack, scheme):
    """``gitlab-token``: the hook's token is the hub's secret (``X-Gitlab-Token``);
    ``gitlab-signing`` (chosen in the connection's config): the hub generates a ``whsec_`` signing
    token, GitLab signs each delivery with it, the intake checks signature and timestamp."""
    cid = connect_oauth(hub, webhook_signature=scheme)
    async with httpx.AsyncClient(headers=headers(), timeout=60) as api:
        registration = await api.post(
            f"{hub['webhooks'].url}/v1/webhooks/registrations",
            json={"connection_id": cid, "trigger_ids": ["issue_opened"], "mode": "auto"},
        )
        assert registration.status_code == 201, registration.text
        rid = registration.json()["id"]
        assert registration.json()["status"] == "active" and registration.json()["events"] == [
            "issues_events"
        ]
        async with expect_events(
            hub_stack.kafka_bootstrap,
            "integration.trigger-fired",
            match=lambda e: e["connection_id"] == cid,
            timeout_s=60,
        ) as fired:
            issue = run(hub, cid, "create_issue", {"project": PROJECT, "title": f"Hooked ({scheme})"})
        event = fired[0].data
        assert event["trigger_id"] == "issue_opened" and event["connector_id"] == "gitlab"
        assert event["registration_id"] == rid
        assert event["payload"]["issue"]["iid"] == issue["iid"]
        assert event["payload"]["issue"]["title"] == f"Hooked ({scheme})"
        (delivery,) = [d for d in hub["sim"].deliveries() if d["url"].endswith(rid)]
        sent = delivery["request"]["headers"]
        assert delivery["status_code"] == 200 and event["event_id"] == sent["Idempotency-Key"]
        if scheme == "gitlab-token":
            assert sent["X-Gitlab-Token"] and "webhook-signature" not in sent
        else:
            assert sent["webhook-signature"].startswith("v1,") and "X-Gitlab-Token" not in sent
        gone = await api.delete(f"{hub['webhooks'].url}/v1/webhooks/registrations/{rid}")
        assert gone.status_code == 204, gone.text


def test_private_token_connection(hub):
    sim, connectors = hub["sim"], hub["connectors"]
    created = httpx.post(
        f"{connectors.url}/v1/connections",
        headers=headers(),
        json={
            "connector_id": "gitlab_pat",
            "name": f"pat {time.monotonic_ns()}",
            "config": {"base_url": f"{sim.url}/api/v4"},
            "credentials": {"token": PAT},
        },
    )
    assert created.status_code == 201, created.text
    cid = created.json()["id"]
    httpx.post(f"{connectors.url}/v1/connections/{cid}/health", headers=headers(), timeout=60)
    active = wait_active(hub, cid)
    assert active["external_account_name"] == "pat-owner"
    issue = run(hub, cid, "create_issue", {"project": "pat-owner/docs", "title": "Via PRIVATE-TOKEN"})
    assert issue["author"] == "pat-owner"


def test_a_base_url_outside_the_allowed_hosts_is_refused(hub):
    created = httpx.post(
        f"{hub['connectors'].url}/v1/connections",
        headers=headers(),
        json={
            "connector_id": "gitlab_pat",
            "name": "elsewhere",
            "config": {"base_url": "https://169.254.169.254/api/v4"},
            "credentials": {"token": PAT},
        },
    )
    assert created.status_code in (400, 422), created.text


async def export(api: httpx.AsyncClient, url: str, mode: str = "full") -> dict:
    started = await api.post(url, json={"mode": mode})
    assert started.status_code == 202, started.text
    job = started.json()
    deadline = time.monotonic() + 60
    while job["status"] == "running":
        assert time.monotonic() < deadline, job
        await asyncio.sleep(0.2)
        job = (await api.get(f"{url}/{job['id']}")).json()
    return job


async def test_content_export_and_its_resumption_after_a_restart(hub, hub_stack):
    cid = connect_oauth(hub, export_projects=["sim-user/docs"])
    p = {"project": "sim-user/docs"}
    first = run(hub, cid, "create_issue", {**p, "title": "Search me", "description": "Search me: body text"})
    run(hub, cid, "create_issue", {**p, "title": "Find me too"})
    run(
        hub,
        cid,
        "create_merge_request",
        {**p, "title": "A change", "source_branch": "c", "target_branch": "main"},
    )
    url = f"{hub['connectors'].url}/v1/connections/{cid}/exports"
    match = lambda d: d["connection_id"] == cid  # noqa: E731
    async with httpx.AsyncClient(headers=headers(), timeout=30) as api:
        async with expect_events(
            hub_stack.kafka_bootstrap, "integration.content", match=match, count=3, timeout_s=60, exact=True
        ) as seen:
            job = await export(api, url)
        assert job["status"] == "completed" and job["documents"] == 3, job
        documents = {e.data["id"]: e.data for e in seen}
        assert set(documents) == {"sim-user/docs#1", "sim-user/docs#2", "sim-user/docs!1"}
        doc = documents["sim-user/docs#1"]
        assert doc["connector_id"] == "gitlab" and doc["title"] == "Search me" and doc["author"] == "sim-user"
        assert doc["text"] == "Search me: body text" and doc["url"].endswith("/sim-user/docs/-/issues/1")

        hub["connectors"].stop()  # the export's cursor is in Postgres, not in the process
        hub["connectors"].start()
        await asyncio.sleep(1.1)  # GitLab times have second precision: the change must be later
        run(hub, cid, "update_issue", {**p, "issue_iid": first["iid"], "title": "Search me (edited)"})
        async with expect_events(
            hub_stack.kafka_bootstrap,
            "integration.content",
            match=match,
            count=1,
            timeout_s=60,
            exact=True,
            settle_s=2.0,
        ) as again:
            job = await export(api, url, "incremental")  # from the cursor the first one stored
        assert job["status"] == "completed", job
    assert [e.data["id"] for e in again] == ["sim-user/docs#1"]
    assert again[0].data["title"] == "Search me (edited)"


def test_the_gateway_stops_calling_once_gitlabs_budget_is_spent(hub):
    """GitLab's ``RateLimit-Remaining: 0`` on an answer makes the gateway refuse the next call
    itself (until ``RateLimit-Reset``): GitLab never gets to answer 429 ``Retry later``."""
    sim, connectors = hub["sim"], hub["connectors"]
    created = httpx.post(
        f"{connectors.url}/v1/connections",
        headers=headers(),
        json={
            "connector_id": "gitlab_pat",
            "name": f"budget {time.monotonic_ns()}",
            "config": {"base_url": f"{sim.url}/api/v4"},
            "credentials": {"token": PAT},
        },
    )
    assert created.status_code == 201, created.text
    cid = created.json()["id"]
    httpx.post(f"{connectors.url}/v1/connections/{cid}/health", headers=headers(), timeout=60)
    wait_active(hub, cid)
    budget(sim, 2)
    try:
        run(hub, cid, "create_issue", {"project": "pat-owner/website", "title": "one"})
        run(hub, cid, "create_issue", {"project": "pat-owner/website", "title": "two"})  # Remaining: 0
        third = httpx.post(
            f"{connectors.url}/v1/connections/{cid}/actions/create_issue",
            headers=headers(),
            json={"parameters": {"project": "pat-owner/website", "title": "three"}},
            timeout=60,
        ).json()
    finally:
        budget(sim, 2000)
    assert third["success"] is False and third["error_code"] == "provider_rate_limited", third
    assert third["retry_after_s"] and third["retry_after_s"] > 0
    assert "provider_body" not in (third.get("error_details") or {})  # the gateway's answer, not GitLab's


async def test_an_export_stopped_mid_run_resumes_after_a_restart_from_its_checkpoint(hub, hub_stack):
    """GitLab's budget runs out after two pages (the gateway then refuses locally until the
    window resets): the export waits at its checkpoint, the connectors service is stopped and
    started again, and the export finishes from page three — every document exactly once."""
    sim = hub["sim"]
    suffix = time.monotonic_ns()
    projects = [f"sim-user/resume-a{suffix}", f"sim-user/resume-b{suffix}"]  # only this test's content
    for project in projects:
        add_project(sim, project)
    cid = connect_oauth(hub, export_projects=projects)
    for project in projects:
        for n in range(2):
            run(hub, cid, "create_issue", {"project": project, "title": f"{project} issue {n}"})
        run(
            hub,
            cid,
            "create_merge_request",
            {
                "project": project,
                "title": f"{project} change",
                "source_branch": f"r{time.monotonic_ns()}",
                "target_branch": "main",
            },
        )
    url = f"{hub['connectors'].url}/v1/connections/{cid}/exports"
    expected = {f"{p}#1" for p in projects} | {f"{p}#2" for p in projects} | {f"{p}!1" for p in projects}
    # Four pages (issues, merge requests; per project); the budget covers two of them.
    budget(sim, 2, window_s=20)
    try:
        async with (
            httpx.AsyncClient(headers=headers(), timeout=30) as api,
            expect_events(
                hub_stack.kafka_bootstrap,
                "integration.content",
                match=lambda d: d["connection_id"] == cid,
                count=len(expected),
                timeout_s=120,
                exact=True,
                settle_s=2.0,
            ) as seen,
        ):
            started = await api.post(url, json={"mode": "full"})
            assert started.status_code == 202, started.text
            export_id = started.json()["id"]
            deadline = time.monotonic() + 60
            while True:  # the third page is refused: the export waits, two pages committed
                job = (await api.get(f"{url}/{export_id}")).json()
                if job["pages"] == 2:
                    break
                assert job["status"] == "running" and time.monotonic() < deadline, job
                await asyncio.sleep(0.1)
            hub["connectors"].stop()
            budget(sim, 2000)
            hub["connectors"].start()
            deadline = time.monotonic() + 90
            while job["status"] == "running":
                assert time.monotonic() < deadline, job
                await asyncio.sleep(0.3)
                job = (await api.get(f"{url}/{export_id}")).json()
    finally:
        budget(sim, 2000)
    assert job["status"] == "completed" and job["pages"] == 4 and job["documents"] == len(expected), job
    assert sorted(e.data["id"] for e in seen) == sorted(expected)  # none lost, none repeated
