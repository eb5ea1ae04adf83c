"""Jira end to end: the built-in ``jira`` connector connected through the Atlassian simulator's
OAuth 2.0 (3LO) pages (audience, prompt=consent, offline_access, accessible-resources), every
action run through connectors → gateway → simulator (``/ex/jira/{cloud_id}/rest/api/3/...``,
each request held to jira-platform-v3.json by the simulator), an ``auto`` registration through
the webhooks service (a Jira dynamic webhook with a JQL filter) whose JWT-signed delivery fires
``status_changed`` on ``integration.trigger-fired``, a content export that resumes after the
connectors service is stopped mid-export, and the API-token variant."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from hub_common.testing.events import expect_events
from hub_e2e.atlassian_e2e import (
    API_EMAIL,
    API_TOKEN,
    CLIENT_ID,
    CLIENT_SECRET,
    CLOUD_ID,
    atlassian_hub,
    run_action,
    user_headers,
    wait_active,
)
from hub_e2e.atlassian_e2e import connect_oauth as connect
from hub_e2e.simulators.atlassian import jwt_hs256

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]  # five services start on a shared, loaded machine
TENANT = "e2e-jira"


@pytest.fixture(scope="module")
def hub(hub_stack, module_dsn) -> Iterator[dict]:
    with atlassian_hub(hub_stack, module_dsn, "jira-platform-v3.json") as running:
        yield running


def headers() -> dict[str, str]:
    return user_headers(TENANT)


def connect_oauth(hub, **extra_config: object) -> str:
    return connect(hub, TENANT, "jira", **{"webhook_jql": "project = E2E", **extra_config})


def run(hub, cid: str, action: str, parameters: dict, *, ok: bool = True) -> dict:
    result = run_action(hub, TENANT, cid, action, parameters)
    if ok:
        assert result["success"] is True, result
        return result["data"]
    return result


def test_every_action_through_connectors_gateway_and_simulator(hub):
    cid = connect_oauth(hub)  # no cloud_id: the only accessible site is used
    created = run(
        hub,
        cid,
        "create_issue",
        {
            "project_key": "E2E",
            "summary": "E2E bug",
            "description": "Found **end to end**",
            "issue_type": "Bug",
        },
    )
    key = created["key"]
    assert key.startswith("E2E-") and f"/ex/jira/{CLOUD_ID}/" in created["api_url"]
    assert run(hub, cid, "update_issue", {"issue_key": key, "labels": ["e2e"]})["changed"] == ["labels"]
    comment = run(hub, cid, "add_comment", {"issue_key": key, "body": "A *Markdown* note"})
    assert comment["body"] == "A Markdown note"
    moved = run(hub, cid, "transition_issue", {"issue_key": key, "to_status": "In Progress"})
    assert moved["to_status"] == "In Progress"
    me = httpx.get(f"{hub['connectors'].url}/v1/connections/{cid}", headers=headers()).json()
    run(hub, cid, "assign_issue", {"issue_key": key, "account_id": me["external_account_id"]})
    for n in range(2):
        run(hub, cid, "create_issue", {"project_key": "E2E", "summary": f"More {n}"})
    found = run(hub, cid, "search_issues", {"jql": f"issuekey = {key}", "page_size": 1})
    (issue,) = found["issues"]
    assert issue["status"] == "In Progress" and issue["labels"] == ["e2e"]
    assert (
        issue["description"] == "Found end to end"
        and issue["assignee_account_id"] == me["external_account_id"]
    )
    paged = run(hub, cid, "search_issues", {"jql": "project = E2E", "page_size": 1, "max_items": 2})
    assert len(paged["issues"]) == 2 and paged["truncated"] is True  # nextPageToken followed
    refused = run(hub, cid, "create_issue", {"project_key": "NOPE", "summary": " "}, ok=False)
    assert refused["success"] is False and refused["status_code"] == 400, refused
    assert refused["error_message"] == "summary: You must specify a summary of the issue."


def test_an_expired_token_is_refreshed_once_and_the_rotated_refresh_token_kept(hub):
    """Atlassian rotates refresh tokens (the old one is spent by a refresh): concurrent calls
    meeting an expired token cause one refresh (the gateway's refresh on 401 through the oauth
    service's race-free refresh), and the connection keeps working with the new pair."""
    sim = hub["sim"]
    before = {f["id"] for f in sim.families()}
    cid = connect_oauth(hub, cloud_id=CLOUD_ID)
    (family,) = [f for f in sim.families() if f["id"] not in before]
    sim.expire(family_id=family["id"])
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: run(hub, cid, "search_issues", {"jql": "project = E2E"}), range(4)))
    assert len(results) == 4
    (after,) = [f for f in sim.families() if f["id"] == family["id"]]
    assert after["refreshes"] == 1 and after["revoked"] is False, after
    sim.expire(family_id=family["id"])
    run(hub, cid, "search_issues", {"jql": "project = E2E"})  # the rotated refresh token works
    (again,) = [f for f in sim.families() if f["id"] == family["id"]]
    assert again["refreshes"] == 2 and again["revoked"] is False, again


async def test_auto_registration_delivers_a_jwt_signed_event_to_trigger_fired(hub, hub_stack):
    cid = connect_oauth(hub, cloud_id=CLOUD_ID)
    issue = run(hub, cid, "create_issue", {"project_key": "E2E", "summary": "Watched"})
    async with httpx.AsyncClient(headers=headers(), timeout=60) as api:
        registration = await api.post(
            f"{hub['webhooks'].url}/v1/webhooks/registrations",
            json={"connection_id": cid, "trigger_ids": ["status_changed", "comment_created"], "mode": "auto"},
        )
        assert registration.status_code == 201, registration.text
        reg = registration.json()
        assert reg["status"] == "active" and reg["events"] == ["comment_created", "jira:issue_updated"]
        assert reg["expires_at"]  # the dynamic webhook's 30 days, renewed by the webhooks service
        hooks = (await api.get(f"{hub['sim'].url}/_sim/atlassian/webhooks")).json()
        assert [(h["url"], h["jqlFilter"]) for h in hooks] == [(reg["url"], "project = E2E")]
        # Jira signs dynamic webhooks with the OAuth app's client secret: the registration says
        # so (never the secret) and verifies with it, no manual step (docs/adr/0030).
        assert reg["secret_source"] == "oauth_app" and reg["secret"] is None
        assert reg["oauth_app"]["app"] == "tenant" and reg["oauth_app"]["client_id"] == CLIENT_ID
        assert CLIENT_SECRET not in registration.text
        manual = await api.put(
            f"{hub['webhooks'].url}/v1/webhooks/registrations/{reg['id']}/secret",
            json={"secret": "not-the-app-secret"},
        )
        assert manual.status_code == 409 and manual.json()["error"]["code"] == "secret_from_oauth_app"
        async with expect_events(
            hub_stack.kafka_bootstrap,
            "integration.trigger-fired",
            match=lambda e: e["connection_id"] == cid,
            timeout_s=60,
        ) as fired:
            run(hub, cid, "transition_issue", {"issue_key": issue["key"], "to_status": "Done"})
    event = fired[0].data
    assert event["trigger_id"] == "status_changed" and event["connector_id"] == "jira"
    assert event["payload"]["from_status"] == "To Do" and event["payload"]["to_status"] == "Done"
    assert event["payload"]["issue"]["key"] == issue["key"]
    assert event["event_id"]  # X-Atlassian-Webhook-Identifier
    (delivery,) = [d for d in hub["sim"].deliveries() if d["url"] == reg["url"]]
    assert delivery["request"]["headers"]["Authorization"].startswith("Bearer ey")
    assert delivery["status_code"] == 200


async def test_a_rotated_client_secret_verifies_at_once_and_the_previous_one_for_the_overlap(hub, hub_stack):
    """The app's client secret rotated in Atlassian's console and registered with
    PUT /v1/oauth/apps/jira: Jira's next delivery (signed with the new one) fires the trigger with
    no step at the webhooks service, and a retry Jira signed before the rotation still verifies
    during the 24 h overlap (docs/adr/0030)."""
    sim, oauth, webhooks = hub["sim"], hub["oauth"], hub["webhooks"]
    redirect = [f"{oauth.url}/v1/oauth/callback"]
    cid = connect_oauth(hub, cloud_id=CLOUD_ID)
    issue = run(hub, cid, "create_issue", {"project_key": "E2E", "summary": "Rotation"})
    rotated = "e2e-atlassian-client-secret-rotated-9876543210"
    async with httpx.AsyncClient(headers=headers(), timeout=60) as api:
        created = await api.post(
            f"{webhooks.url}/v1/webhooks/registrations",
            json={"connection_id": cid, "trigger_ids": ["status_changed"], "mode": "auto"},
        )
        assert created.status_code == 201, created.text
        reg = created.json()
        try:
            sim.register_client(CLIENT_ID, rotated, redirect)  # rotated at Atlassian...
            app = await api.put(
                f"{oauth.url}/v1/oauth/apps/jira", json={"client_id": CLIENT_ID, "client_secret": rotated}
            )
            assert app.status_code == 200, app.text  # ...and told to the hub, nothing else
            shown = (await api.get(f"{webhooks.url}/v1/webhooks/registrations/{reg['id']}")).json()
            assert shown["secret_source"] == "oauth_app" and shown["oauth_app"]["previous_valid_until"]
            assert rotated not in str(shown) and CLIENT_SECRET not in str(shown)
            async with expect_events(
                hub_stack.kafka_bootstrap,
                "integration.trigger-fired",
                match=lambda e: e["connection_id"] == cid,
                timeout_s=60,
            ) as fired:
                run(hub, cid, "transition_issue", {"issue_key": issue["key"], "to_status": "Done"})
            assert fired[0].data["payload"]["to_status"] == "Done"
            (delivery,) = [d for d in sim.deliveries() if d["url"] == reg["url"]]
            body = json.dumps(delivery["request"]["payload"]).encode()

            def signed_with(secret: str) -> dict[str, str]:
                now = int(time.time())
                token = jwt_hs256({"iss": "jira:sim", "iat": now, "exp": now + 180}, secret)
                return {
                    "Authorization": f"Bearer {token}",
                    "Content-Type": "application/json",
                    "X-Atlassian-Webhook-Identifier": f"retry-{uuid.uuid4()}",
                }

            async with httpx.AsyncClient(timeout=30) as jira:
                before = await jira.post(reg["url"], content=body, headers=signed_with(CLIENT_SECRET))
                forged = await jira.post(reg["url"], content=body, headers=signed_with("not-the-app-secret"))
            assert before.status_code == 200 and before.json()["status"] == "accepted", before.text
            assert forged.status_code == 401 and forged.json()["error"]["code"] == "signature_mismatch"
        finally:
            sim.register_client(CLIENT_ID, CLIENT_SECRET, redirect)
            await api.put(
                f"{oauth.url}/v1/oauth/apps/jira",
                json={"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET},
            )


async def test_export_resumes_after_the_connectors_service_stops_mid_export(hub, hub_stack):
    cid = connect_oauth(hub, cloud_id=CLOUD_ID, export_jql="project = EXP")
    seed = f"{hub['sim'].url}/_sim/atlassian/seed"
    async with httpx.AsyncClient(timeout=30) as sim_api:
        answer = await sim_api.post(seed, json={"project": "EXP", "count": 120, "search_delay_s": 1.0})
    seeded = answer.json()["keys"]
    connectors = hub["connectors"]
    url = f"{connectors.url}/v1/connections/{cid}/exports"
    async with expect_events(
        hub_stack.kafka_bootstrap,
        "integration.content",
        match=lambda d: d["connection_id"] == cid,
        count=120,
        timeout_s=120,
    ) as seen:
        async with httpx.AsyncClient(headers=headers(), timeout=30) as api:
            started = await api.post(url, json={})
            assert started.status_code == 202, started.text
            export_id = started.json()["id"]
            deadline = time.monotonic() + 60
            while (export := (await api.get(f"{url}/{export_id}")).json())["pages"] < 1:
                assert time.monotonic() < deadline and export["status"] == "running", export
                await asyncio.sleep(0.1)
        connectors.stop()  # mid-export: the first page is checkpointed, the rest is not
        connectors.start()
        async with httpx.AsyncClient(headers=headers(), timeout=30) as api:
            deadline = time.monotonic() + 90
            while (export := (await api.get(f"{url}/{export_id}")).json())["status"] == "running":
                assert time.monotonic() < deadline, export
                await asyncio.sleep(0.2)
    async with httpx.AsyncClient(timeout=30) as sim_api:
        await sim_api.post(seed, json={"search_delay_s": 0})
    assert export["status"] == "completed", export
    assert export["pages"] == 3 and export["documents"] == 120, export  # the same export, resumed
    ids = {e.data["id"] for e in seen}
    assert ids == set(seeded)
    first = next(e.data for e in seen if e.data["id"] == seeded[0])
    assert first["connector_id"] == "jira" and first["title"] == f"{seeded[0]}: Seeded issue 1"


def test_api_token_connection(hub):
    sim, connectors = hub["sim"], hub["connectors"]
    created = httpx.post(
        f"{connectors.url}/v1/connections",
        headers=headers(),
        json={
            "connector_id": "jira_api_token",
            "name": f"token {time.monotonic_ns()}",
            "config": {"base_url": sim.url},
            "credentials": {"username": API_EMAIL, "password": API_TOKEN},
        },
    )
    assert created.status_code == 201, created.text
    cid = created.json()["id"]
    httpx.post(f"{connectors.url}/v1/connections/{cid}/health", headers=headers(), timeout=60)
    active = wait_active(hub, TENANT, cid)
    assert active["external_account_name"] == "bot"
    made = run(hub, cid, "create_issue", {"project_key": "TOK", "summary": "Via API token"})
    assert made["key"].startswith("TOK-") and "/ex/jira/" not in made["api_url"]


def test_the_catalog_lists_jira_with_actions_triggers_and_schemas(hub):
    listed = httpx.get(f"{hub['connectors'].url}/v1/connectors", headers=headers()).json()["connectors"]
    jira = next(c for c in listed if c["id"] == "jira")
    assert jira["builtin"] is True and jira["auth"]["method"] == "oauth2"
    oauth = jira["auth"]["oauth"]
    assert "offline_access" in oauth["default_scopes"] and oauth["refresh"] == "rotating"
    assert oauth["extra_authorize_params"] == {"audience": "api.atlassian.com", "prompt": "consent"}
    assert {a["id"] for a in jira["actions"]} == {
        "create_issue",
        "update_issue",
        "add_comment",
        "transition_issue",
        "assign_issue",
        "search_issues",
    }
    assert {t["id"] for t in jira["triggers"]} == {
        "issue_created",
        "issue_updated",
        "status_changed",
        "comment_created",
        "issue_assigned",
    }
    assert jira["webhook_signature"]["preset"] == "atlassian-jwt" and jira["content_export"] is True
