"""Notion end to end: the built-in ``notion`` connector connected through the Notion simulator's
OAuth (Basic client auth, JSON token body, ``owner=user``; the workspace becomes the account),
every action through connectors → gateway → simulator (a short 429 waited out by the gateway),
a manual webhook registration that Notion's one-time verification token completes, a signed
thin event fired as a trigger with the page re-fetched through the gateway, and a content export
interrupted by a restart of the connectors service and resumed from its checkpoint."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from hub_common.settings import HubSettings
from hub_common.testing.events import expect_events
from hub_common.web.auth import mint_user_token
from hub_e2e.provider_hub import provider_hub

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]  # five services start on a shared machine
TENANT = "e2e-notion"
CLIENT_ID, CLIENT_SECRET = "e2e-notion-client", "secret_e2eNotionClientSecret0123456789"
TOKEN = "ntn_e2eSimulatedInternalIntegration0001"


@pytest.fixture(scope="module")
def hub(hub_stack, module_dsn) -> Iterator[dict]:
    env = {
        "HUB_NOTION_API_HOSTS": "127.0.0.1",  # the simulator stands in for api.notion.com
        "HUB_CONNECTORS_EXPORT_POLL_INTERVAL_S": "0.2",
    }
    client, pats = (CLIENT_ID, CLIENT_SECRET), {TOKEN: "pat-owner"}
    with provider_hub(
        hub_stack, module_dsn, "notion", env, spec="notion.json", client=client, pats=pats
    ) as running:
        yield running


def headers() -> dict[str, str]:
    token = mint_user_token(HubSettings(), tenant=TENANT, user="alice", tier="enterprise")
    return {"Authorization": f"Bearer {token}"}


def connection(hub, cid: str) -> dict:
    return httpx.get(f"{hub['connectors'].url}/v1/connections/{cid}", headers=headers()).json()


def wait_active(hub, cid: str) -> dict:
    deadline = time.monotonic() + 30
    while (body := connection(hub, cid)).get("status") != "active":
        assert time.monotonic() < deadline, f"connection stayed {body.get('status')}: {body}"
        time.sleep(0.1)
    return body


def connect_oauth(hub) -> str:
    sim, connectors, oauth = hub["sim"], hub["connectors"], hub["oauth"]
    config = {
        "base_url": f"{sim.url}/v1",
        "oauth_authorization_url": f"{sim.url}/v1/oauth/authorize",
        "oauth_token_url": f"{sim.url}/v1/oauth/token",
        "oauth_revocation_url": f"{sim.url}/v1/oauth/revoke",
    }
    created = httpx.post(
        f"{connectors.url}/v1/connections",
        headers=headers(),
        json={"connector_id": "notion", "name": f"notion {time.monotonic_ns()}", "config": config},
    )
    assert created.status_code == 201, created.text
    cid = created.json()["id"]
    app = httpx.put(
        f"{oauth.url}/v1/oauth/apps/notion",
        headers=headers(),
        json={"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET},
    )
    assert app.status_code in (200, 201), app.text
    flow = httpx.post(f"{oauth.url}/v1/oauth/flows", headers=headers(), json={"connection_id": cid})
    assert flow.status_code == 201, flow.text
    with httpx.Client(follow_redirects=True, timeout=30) as browser:
        landed = browser.get(flow.json()["start_url"])  # the simulator refuses it without owner=user
    assert landed.status_code == 200, landed.text
    wait_active(hub, cid)
    return cid


def connect_token(hub) -> str:
    created = httpx.post(
        f"{hub['connectors'].url}/v1/connections",
        headers=headers(),
        json={
            "connector_id": "notion_token",
            "name": f"notion token {time.monotonic_ns()}",
            "config": {"base_url": f"{hub['sim'].url}/v1"},
            "credentials": {"token": TOKEN},
        },
    )
    assert created.status_code == 201, created.text
    cid = created.json()["id"]
    httpx.post(f"{hub['connectors'].url}/v1/connections/{cid}/health", headers=headers(), timeout=60)
    return str(wait_active(hub, cid)["id"])


def run(hub, cid: str, action: str, parameters: dict) -> Any:
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


def sim_admin(hub, path: str, body: dict) -> dict:
    resp = httpx.post(f"{hub['sim'].url}/_sim/notion/{path}", json=body, timeout=30)
    assert resp.status_code in (200, 201), resp.text
    return resp.json()


def home_and_tasks(hub, cid: str) -> tuple[str, dict]:
    found = run(hub, cid, "search", {})["results"]
    home = next(r["id"] for r in found if r["object"] == "page" and r["title"] == "Sim Home")
    tasks = next(r for r in found if r["object"] == "data_source")
    return home, tasks


def test_oauth_captures_the_workspace_and_every_action_runs_through_the_gateway(hub):
    cid = connect_oauth(hub)
    account = connection(hub, cid)
    assert account["external_account_id"]  # the token answer's workspace_id
    home, tasks = home_and_tasks(hub, cid)
    page = run(
        hub,
        cid,
        "create_page",
        {
            "parent_page_id": home,
            "title": "E2E plan",
            "content": "Written end to end\n\n- through the [gateway](https://example.com/gw)",
        },
    )
    assert page["title"] == "E2E plan" and page["parent"]["id"] == home
    assert (
        run(hub, cid, "update_page", {"page_id": page["id"], "title": "E2E plan v2"})["title"]
        == "E2E plan v2"
    )
    appended = run(hub, cid, "append_blocks", {"block_id": page["id"], "content": "- one\n- two"})
    assert len(appended["block_ids"]) == 2
    comment = run(hub, cid, "add_comment", {"page_id": page["id"], "text": "Reviewed"})
    assert comment["text"] == "Reviewed"
    row = run(hub, cid, "create_page", {"database_id": tasks["parent"]["id"], "title": "E2E task"})
    assert row["parent"]["type"] == "data_source_id"
    rows = run(hub, cid, "query_database", {"data_source_id": tasks["id"], "page_size": 1})
    assert [r["title"] for r in rows["pages"]] == ["E2E task"]
    # A short 429 (Retry-After: 1) is waited out by the gateway: the action still succeeds.
    sim_admin(hub, "throttle", {"status": 429, "retry_after": 1, "count": 1})
    assert run(hub, cid, "search", {"query": "E2E plan"})["results"][0]["id"] == page["id"]
    refused = httpx.post(
        f"{hub['connectors'].url}/v1/connections/{cid}/actions/update_page",
        headers=headers(),
        json={"parameters": {"page_id": "0" * 32, "title": "x"}},
        timeout=60,
    ).json()
    assert refused["success"] is False and refused["error_code"] == "provider_not_found"
    assert refused["error_message"].startswith("object_not_found: Could not find page")


async def test_manual_registration_verification_token_signed_event_fires_with_the_page(hub, hub_stack):
    cid = connect_oauth(hub)
    workspace = connection(hub, cid)["external_account_id"]
    api = f"{hub['webhooks'].url}/v1/webhooks/registrations"
    body = {"connection_id": cid, "trigger_ids": ["page_created", "comment_created"], "mode": "manual"}
    async with httpx.AsyncClient(headers=headers(), timeout=60) as client:
        created = await client.post(api, json=body)
        assert created.status_code == 201, created.text
        registration = created.json()
        assert registration["status"] == "pending_secret" and registration["secret"] is None
        assert any(registration["url"] in step for step in registration["steps"])
        assert any("verification token" in step for step in registration["steps"])
        # Saving the URL in Notion's settings: Notion posts the verification token once, unsigned.
        subscribed = sim_admin(hub, "subscriptions", {"url": registration["url"], "workspace_id": workspace})
        assert subscribed["verification"]["status_code"] == 200, subscribed["verification"]
        assert (await client.get(f"{api}/{registration['id']}")).json()["status"] == "active"
        home, _ = await asyncio.to_thread(home_and_tasks, hub, cid)
        async with expect_events(
            hub_stack.kafka_bootstrap,
            "integration.trigger-fired",
            match=lambda d: d["connection_id"] == cid,
            count=2,
            timeout_s=60,
        ) as seen:
            page = await asyncio.to_thread(
                run, hub, cid, "create_page", {"parent_page_id": home, "title": "Hooked"}
            )
            await asyncio.to_thread(run, hub, cid, "add_comment", {"page_id": page["id"], "text": "First!"})
    fired = {e.data["trigger_id"]: e.data for e in seen}
    assert set(fired) == {"page_created", "comment_created"}
    created_event = fired["page_created"]
    assert created_event["payload"]["page_id"] == page["id"] and created_event["event_id"]
    assert created_event["payload"]["page"]["title"] == "Hooked"  # re-fetched through the gateway
    assert created_event["payload"]["workspace_id"] == workspace
    assert fired["comment_created"]["payload"]["page"]["id"] == page["id"]
    deliveries = [d for d in hub["sim"].deliveries() if d["url"] == registration["url"]]
    signed = [d for d in deliveries if d["event"] != "verification"]
    assert signed and all(d["request"]["headers"]["X-Notion-Signature"].startswith("sha256=") for d in signed)
    assert all(d["status_code"] == 202 or d["status_code"] == 200 for d in signed), signed


async def test_export_resumes_after_a_restart_without_repeating_a_page(hub, hub_stack):
    cid = connect_token(hub)
    home, _ = home_and_tasks(hub, cid)
    titles = [f"Doc {n:02d}" for n in range(21)]
    for title in titles:
        run(hub, cid, "create_page", {"parent_page_id": home, "title": title, "content": f"{title} body"})
    expected = len(titles) + 1  # and Sim Home (the Tasks database holds no rows here)
    url = f"{hub['connectors'].url}/v1/connections/{cid}/exports"
    sim_admin(hub, "hold", {"path": "/v1/search", "skip": 1})  # the second search page hangs
    async with (
        httpx.AsyncClient(headers=headers(), timeout=30) as api,
        expect_events(
            hub_stack.kafka_bootstrap,
            "integration.content",
            match=lambda d: d["connection_id"] == cid,
            count=expected,
            timeout_s=120,
            exact=True,
            settle_s=1.0,
        ) as seen,
    ):
        started = await api.post(url, json={})
        assert started.status_code == 202, started.text
        export_id = started.json()["id"]
        deadline = time.monotonic() + 60
        while (export := (await api.get(f"{url}/{export_id}")).json())["pages"] < 1:
            assert time.monotonic() < deadline and export["status"] == "running", export
            await asyncio.sleep(0.2)
        assert export["status"] == "running" and export["documents"] == 20 and export["cursor"]
        hub["connectors"].stop()  # mid-export: the second page is still at the provider
        sim_admin(hub, "release", {})
        hub["connectors"].start()
        deadline = time.monotonic() + 90
        while (export := (await api.get(f"{url}/{export_id}")).json())["status"] == "running":
            assert time.monotonic() < deadline, export
            await asyncio.sleep(0.3)
    assert export["status"] == "completed" and export["documents"] == expected and export["pages"] == 2, (
        export
    )
    documents = [e.data for e in seen]
    assert len({d["id"] for d in documents}) == expected  # none lost, none published twice
    by_title = {d["title"]: d for d in documents}
    assert set(by_title) == {*titles, "Sim Home"}
    assert (
        by_title["Doc 00"]["text"] == "Doc 00 body" and by_title["Doc 00"]["connector_id"] == "notion_token"
    )
