"""The connector against the Notion simulator, in process, through the SDK's ``ContractTransport``
(every request the description covers held to it): every action on the simulator's workspace,
the export with its blocks, and the webhook round trip — Notion's one-time verification token,
an action that sends a signed thin event, the hub's ``notion`` verifier, the parser, and the
re-fetch of the page through the (simulated) gateway."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from hub_connector_notion import NotionConnector
from hub_connector_sdk import ProviderClient, verify_webhook
from hub_connector_sdk.testkit import connection_context, parse_webhook
from hub_connector_sdk.testkit.contract import ContractTransport
from hub_e2e.simulators.framework import create_provider_app
from hub_e2e.simulators.notion import NotionSimulator

pytestmark = pytest.mark.unit
TOKEN = "ntn_inProcessContractToken000000000001"
PROXY = "/v1/proxy/conn_test"


class SimulatedGateway(httpx.AsyncBaseTransport):
    """What the gateway does to a call, minimally: strip the proxy prefix, add the token and the
    manifest's default headers (Notion-Version), send it to the provider (the simulator)."""

    def __init__(self, app: Starlette) -> None:
        self._provider = httpx.ASGITransport(app=app)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        path = request.url.raw_path.decode().removeprefix(PROXY)
        headers = {k: v for k, v in request.headers.items() if k.lower() != "host"}
        headers.update(NotionConnector.api.default_headers)
        headers["Authorization"] = f"Bearer {TOKEN}"
        upstream = httpx.Request(
            request.method, f"http://notion.test/v1{path}", headers=headers, content=request.content
        )
        return await self._provider.handle_async_request(upstream)


@dataclass
class Receiver:
    got: list[tuple[dict[str, str], bytes]] = field(default_factory=list)

    def app(self) -> Starlette:
        async def hooks(request: Request) -> Response:
            self.got.append((dict(request.headers), await request.body()))
            return Response(status_code=200)

        return Starlette(routes=[Route("/hooks", hooks, methods=["POST"])])


@pytest.fixture
async def world(contract) -> AsyncIterator[dict[str, Any]]:
    sim = NotionSimulator.load(require_spec=True)
    sim.add_pat(TOKEN, "notion-dev")
    receiver = Receiver()
    sim.outbox.transport = httpx.ASGITransport(app=receiver.app())
    app = create_provider_app(sim)
    transport = ContractTransport(contract, SimulatedGateway(app), base_path=PROXY)
    client = ProviderClient(gateway_url="http://gateway.test", connection_id="conn_test", transport=transport)
    connector = NotionConnector(connection_context({}), client)
    async with (
        client,
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://notion.test") as admin,
    ):
        yield {"sim": sim, "connector": connector, "receiver": receiver, "admin": admin, "contract": contract}


async def run(connector: NotionConnector, action_id: str, **params: Any) -> Any:
    result = await connector.execute(action_id, params)
    assert result.success, result
    return result.data


async def home_and_tasks(connector: NotionConnector) -> tuple[str, str]:
    found = await run(connector, "search", query="")
    home = next(r["id"] for r in found["results"] if r["object"] == "page" and r["title"] == "Sim Home")
    source = next(r["id"] for r in found["results"] if r["object"] == "data_source")
    return home, source


async def test_every_action_against_the_simulator(world):
    connector, sim = world["connector"], world["sim"]
    home, source = await home_and_tasks(connector)
    page = await run(
        connector,
        "create_page",
        parent_page_id=home,
        title="Plan",
        content="Intro line\n\n- first\n- [docs](https://example.com/docs)",
        icon_emoji="📝",
    )
    assert page["title"] == "Plan" and page["parent"] == {"type": "page_id", "id": home}
    space = next(iter(sim.spaces.values()))
    kinds = [space.blocks[b]["type"] for b in space.children[page["id"]]]
    assert kinds == ["paragraph", "bulleted_list_item", "bulleted_list_item"]
    assert space.pages[page["id"]]["icon"]["emoji"] == "📝"
    renamed = await run(connector, "update_page", page_id=page["id"].replace("-", ""), title="Plan v2")
    assert renamed["title"] == "Plan v2"
    appended = await run(
        connector, "append_blocks", block_id=page["id"], content="One more", content_format="plain"
    )
    assert len(appended["block_ids"]) == 1 and space.children[page["id"]][-1] == appended["block_ids"][0]
    comment = await run(connector, "add_comment", page_id=page["id"], text="Looks good")
    assert comment["text"] == "Looks good" and comment["parent"]["id"] == page["id"]

    database_id = next(iter(space.databases))
    for n in range(3):
        await run(
            connector,
            "create_page",
            database_id=database_id,
            title=f"Task {n}",
            properties={"Notes": {"rich_text": [{"text": {"content": f"note {n}"}}]}},
        )
    rows = await run(connector, "query_database", data_source_id=source, page_size=2, max_items=10)
    assert [r["title"] for r in rows["pages"]] == ["Task 0", "Task 1", "Task 2"] and rows[
        "truncated"
    ] is False
    assert rows["pages"][0]["properties"]["Notes"] == "note 0"
    by_database = await run(connector, "query_database", database_id=database_id, max_items=2)
    assert len(by_database["pages"]) == 2 and by_database["truncated"] is True
    found = await run(connector, "search", query="task", object="page", page_size=1)
    assert sorted(r["title"] for r in found["results"]) == ["Task 0", "Task 1", "Task 2"]
    health = await connector.health_check()
    assert health.is_healthy and health.account_info["workspace_name"] == "Notion Dev's Workspace"


async def test_rate_limits_and_notion_errors_become_clear_action_errors(world):
    connector, admin = world["connector"], world["admin"]
    await admin.post("/_sim/notion/throttle", json={"status": 429, "retry_after": 30})
    limited = await connector.execute("search", {"query": "x"})
    assert limited.error_code == "provider_rate_limited" and limited.retry_after_s == 30
    assert limited.error_message.startswith("rate_limited: ")
    await admin.post("/_sim/notion/throttle", json={"status": 529, "retry_after": 2})
    busy = await connector.execute("search", {})
    assert busy.error_code == "provider_unavailable" and busy.status_code == 529 and busy.retry_after_s == 2
    missing = await connector.execute("update_page", {"page_id": "0" * 32, "title": "x"})
    assert (
        missing.error_code == "provider_not_found"
        and "object_not_found: Could not find page" in missing.error_message
    )


async def test_export_reads_pages_and_rows_with_their_blocks(world):
    connector = world["connector"]
    home, _ = await home_and_tasks(connector)
    await run(
        connector, "create_page", parent_page_id=home, title="Runbook", content="Step one\n\n- check logs"
    )
    exported = await connector.export_content(None)
    assert not exported.has_more
    docs = {d.title: d for d in exported.documents}
    assert docs["Runbook"].text == "Step one\n- check logs" and docs["Runbook"].metadata["kind"] == "page"
    again = await connector.export_content(exported.cursor)  # nothing edited since: only the same minute
    assert {d.title for d in again.documents} <= set(docs)


async def test_webhook_round_trip_verification_token_signed_event_refetched_page(world):
    sim, connector, receiver, admin = world["sim"], world["connector"], world["receiver"], world["admin"]
    subscribed = (
        await admin.post("/_sim/notion/subscriptions", json={"url": "http://receiver.test/hooks"})
    ).json()
    (first,) = receiver.got
    token = json.loads(first[1])["verification_token"]
    assert token == subscribed["verification_token"] and "x-notion-signature" not in first[0]

    home, _ = await home_and_tasks(connector)
    page = await run(connector, "create_page", parent_page_id=home, title="Hooked")
    await sim.outbox.drain()
    headers, body = receiver.got[1]
    verify_webhook(NotionConnector.webhook_signature, token, headers, body)  # raises unless signed right
    (fired,) = parse_webhook(NotionConnector, body, headers=headers)
    event = json.loads(body)
    assert fired.trigger_id == "page_created" and fired.event_id == event["id"]
    assert fired.payload["page_id"] == page["id"] and fired.payload["page"] is None
    (completed,) = await connector.refetch_trigger_events([fired])
    assert completed.payload["page"]["title"] == "Hooked" and completed.event_id == fired.event_id
