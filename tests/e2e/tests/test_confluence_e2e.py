"""Confluence end to end: the built-in ``confluence`` connector connected through the Atlassian
simulator's OAuth 2.0 (3LO) pages, every action through connectors → gateway → simulator
(``/ex/confluence/{cloud_id}/wiki/api/v2/...``, each request held to confluence-v2.json by the
simulator), a ``manual`` registration whose URL and secret an admin enters in Confluence's
webhook settings (here: the simulator's admin form) → a signed ``page_updated`` on
``integration.trigger-fired``, and a page export that resumes after the connectors service is
stopped mid-export."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import httpx
import pytest

from hub_common.testing.events import expect_events
from hub_e2e.atlassian_e2e import (
    API_EMAIL,
    API_TOKEN,
    CLOUD_ID,
    atlassian_hub,
    connect_oauth,
    run_action,
    user_headers,
    wait_active,
)

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]  # five services start on a shared, loaded machine
TENANT = "e2e-confluence"


@pytest.fixture(scope="module")
def hub(hub_stack, module_dsn) -> Iterator[dict]:
    with atlassian_hub(hub_stack, module_dsn, "confluence-v2.json") as running:
        yield running


def run(hub, cid: str, action: str, parameters: dict) -> dict:
    result = run_action(hub, TENANT, cid, action, parameters)
    assert result["success"] is True, result
    return result["data"]


def test_every_action_through_connectors_gateway_and_simulator(hub):
    cid = connect_oauth(hub, TENANT, "confluence")  # no cloud_id: the only accessible site
    spaces = run(hub, cid, "list_spaces", {"page_size": 2})  # two pages through _links.next
    assert [s["key"] for s in spaces["spaces"]] == ["OPS", "DOCS", "ENG"] and spaces["truncated"] is False
    page = run(
        hub,
        cid,
        "create_page",
        {"space_key": "OPS", "title": "Runbook", "body": "# Restart\n\nRun `make up`."},
    )
    assert page["space_id"] == "98305" and page["version"] == 1 and page["text"] == "Restart\n\nRun make up."
    updated = run(hub, cid, "update_page", {"page_id": page["id"], "body": "Now **automated**."})
    assert updated["version"] == 2 and updated["title"] == "Runbook"
    got = run(hub, cid, "get_page", {"page_id": page["id"]})
    assert got["text"] == "Now automated." and got["version"] == 2  # storage format → text
    comment = run(hub, cid, "add_comment", {"page_id": page["id"], "body": "Thanks!"})
    assert comment["page_id"] == page["id"] and comment["text"] == "Thanks!"
    missing = run_action(hub, TENANT, cid, "get_page", {"page_id": "999999"})
    assert missing["error_code"] == "provider_not_found" and missing["error_message"] == "Page not found"


def test_api_token_connection(hub):
    sim, connectors = hub["sim"], hub["connectors"]
    created = httpx.post(
        f"{connectors.url}/v1/connections",
        headers=user_headers(TENANT),
        json={
            "connector_id": "confluence_api_token",
            "name": f"token {time.monotonic_ns()}",
            "config": {"base_url": sim.url},
            "credentials": {"username": API_EMAIL, "password": API_TOKEN},
        },
    )
    assert created.status_code == 201, created.text
    cid = created.json()["id"]
    httpx.post(f"{connectors.url}/v1/connections/{cid}/health", headers=user_headers(TENANT), timeout=60)
    assert wait_active(hub, TENANT, cid)["external_account_name"] == "bot"  # GET /wiki/rest/api/user/current
    page = run(hub, cid, "create_page", {"space_key": "DOCS", "title": "Via API token", "body": "Hello"})
    assert run(hub, cid, "get_page", {"page_id": page["id"]})["text"] == "Hello"


async def test_manual_registration_then_a_signed_page_event_on_trigger_fired(hub, hub_stack):
    cid = connect_oauth(hub, TENANT, "confluence", cloud_id=CLOUD_ID)
    async with httpx.AsyncClient(headers=user_headers(TENANT), timeout=60) as api:
        auto = await api.post(
            f"{hub['webhooks'].url}/v1/webhooks/registrations",
            json={"connection_id": cid, "trigger_ids": ["page_updated"], "mode": "auto"},
        )
        assert auto.status_code == 422 and auto.json()["error"]["code"] == "manual_only", auto.text
        created = await api.post(
            f"{hub['webhooks'].url}/v1/webhooks/registrations",
            json={"connection_id": cid, "trigger_ids": ["page_updated"], "mode": "manual"},
        )
        assert created.status_code == 201, created.text
        reg = created.json()
        assert (
            reg["status"] == "active" and reg["secret"] and any(reg["url"] in step for step in reg["steps"])
        )
        # The admin enters URL and secret in Confluence's webhook settings.
        form = {"url": reg["url"], "secret": reg["secret"], "events": ["page_updated"]}
        configured = await api.post(f"{hub['sim'].url}/_sim/atlassian/confluence-webhooks", json=form)
        assert configured.status_code == 201
        page = run(hub, cid, "create_page", {"space_id": "98306", "title": "Watched", "body": "v1"})
        async with expect_events(
            hub_stack.kafka_bootstrap,
            "integration.trigger-fired",
            match=lambda e: e["connection_id"] == cid,
            timeout_s=60,
        ) as fired:
            run(hub, cid, "update_page", {"page_id": page["id"], "body": "v2"})
    event = fired[0].data
    assert event["trigger_id"] == "page_updated" and event["connector_id"] == "confluence"
    assert event["payload"]["page"]["id"] == page["id"] and event["payload"]["page"]["version"] == 2
    assert event["payload"]["page"]["space_key"] == "DOCS"


async def test_page_export_resumes_after_the_connectors_service_stops_mid_export(hub, hub_stack):
    cid = connect_oauth(hub, TENANT, "confluence", cloud_id=CLOUD_ID, export_space_ids=["98307"])
    ids = [
        run(hub, cid, "create_page", {"space_key": "ENG", "title": f"Page {n}", "body": f"Text {n}"})["id"]
        for n in range(60)
    ]
    async with httpx.AsyncClient(timeout=30) as sim_api:
        await sim_api.post(f"{hub['sim'].url}/_sim/atlassian/seed", json={"search_delay_s": 1.0})
    connectors = hub["connectors"]
    url = f"{connectors.url}/v1/connections/{cid}/exports"
    async with expect_events(
        hub_stack.kafka_bootstrap,
        "integration.content",
        match=lambda d: d["connection_id"] == cid,
        count=60,
        timeout_s=120,
    ) as seen:
        async with httpx.AsyncClient(headers=user_headers(TENANT), timeout=30) as api:
            started = await api.post(url, json={})
            assert started.status_code == 202, started.text
            export_id = started.json()["id"]
            deadline = time.monotonic() + 60
            while (export := (await api.get(f"{url}/{export_id}")).json())["pages"] < 1:
                assert time.monotonic() < deadline and export["status"] == "running", export
                await asyncio.sleep(0.1)
        connectors.stop()  # mid-export: the first page is checkpointed, the rest is not
        connectors.start()
        async with httpx.AsyncClient(headers=user_headers(TENANT), timeout=30) as api:
            deadline = time.monotonic() + 90
            while (export := (await api.get(f"{url}/{export_id}")).json())["status"] == "running":
                assert time.monotonic() < deadline, export
                await asyncio.sleep(0.2)
    async with httpx.AsyncClient(timeout=30) as sim_api:
        await sim_api.post(f"{hub['sim'].url}/_sim/atlassian/seed", json={"search_delay_s": 0})
    assert export["status"] == "completed", export
    assert export["pages"] == 3 and export["documents"] == 60, export  # the same export, resumed
    assert {e.data["id"] for e in seen} == set(ids)
    newest = next(e.data for e in seen if e.data["id"] == ids[-1])
    assert (
        newest["title"] == "Page 59"
        and newest["text"] == "Text 59"
        and newest["connector_id"] == "confluence"
    )
