"""The connector against the Linear simulator, in process, through the SDK's ``ContractTransport``
(every document validated against linear-schema.graphql before the simulator executes it against
the same schema): every action on the simulator's workspace, pagination by ``endCursor``, a spent
rate limit, and the webhook round trip — ``webhookCreate``, an action fires it, the delivery
verifies with the hub's verifier for ``linear`` and the provider-issued secret, it parses into the
triggers, ``webhookDelete`` removes it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from hub_connector_linear import LinearApiKeyConnector
from hub_connector_sdk import ProviderClient, verify_webhook
from hub_connector_sdk.testkit import connection_context, parse_webhook
from hub_connector_sdk.testkit.contract import ContractTransport, provider_contract
from hub_e2e.simulators.framework import create_provider_app
from hub_e2e.simulators.linear import LinearSimulator

pytestmark = pytest.mark.unit
API_KEY = "lin_api_inProcessContractKey000000000001"
PROXY = "/v1/proxy/conn_test"
RECEIVER = "http://receiver.test/hooks"


class SimulatedGateway(httpx.AsyncBaseTransport):
    """What the gateway does to a call, minimally: strip the proxy prefix, add the key (Linear takes
    a personal API key without ``Bearer``) and the manifest's default headers."""

    def __init__(self, app: Starlette) -> None:
        self._provider = httpx.ASGITransport(app=app)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        path = request.url.raw_path.decode().removeprefix(PROXY)
        headers = {k: v for k, v in request.headers.items() if k.lower() != "host"}
        headers.update(LinearApiKeyConnector.api.default_headers)
        headers["Authorization"] = API_KEY
        upstream = httpx.Request(
            request.method, f"http://linear.test{path}", headers=headers, content=request.content
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
async def world() -> AsyncIterator[dict[str, Any]]:
    contract = provider_contract("linear")
    sim = LinearSimulator.load(require_spec=True)
    sim.add_api_key(API_KEY, "lin-dev")
    receiver = Receiver()
    sim.outbox.transport = httpx.ASGITransport(app=receiver.app())
    transport = ContractTransport(contract, SimulatedGateway(create_provider_app(sim)), base_path=PROXY)
    client = ProviderClient(gateway_url="http://gateway.test", connection_id="conn_test", transport=transport)
    connector = LinearApiKeyConnector(connection_context({}), client)
    team = next(iter(sim.teams.values()))
    async with client:
        yield {"sim": sim, "connector": connector, "receiver": receiver, "team": team, "transport": transport}


async def run(connector: LinearApiKeyConnector, action_id: str, **params: Any) -> Any:
    result = await connector.execute(action_id, params)
    assert result.success, result
    return result.data


async def test_every_action_against_the_simulator(world):
    connector, team = world["connector"], world["team"]
    issue = await run(connector, "create_issue", team_id=team.id, title="Crash on save", priority=2)
    assert issue["identifier"] == "ENG-1" and issue["state"]["name"] == "Backlog"
    assert issue["priority_label"] == "High" and issue["creator"]["name"] == "Lin Dev"
    updated = await run(
        connector, "update_issue", issue_id=issue["identifier"], title="Crash on save (macOS)"
    )
    assert updated["title"] == "Crash on save (macOS)" and updated["id"] == issue["id"]
    done = await run(connector, "update_status", issue_id=issue["id"], state_name="done")
    assert done["state"]["type"] == "completed" and done["completed_at"]
    comment = await run(connector, "add_comment", issue_id=issue["id"], body="Fixed in 1.2")
    assert comment["issue_identifier"] == "ENG-1" and comment["author"]["name"] == "Lin Dev"
    for n in range(4):
        await run(connector, "create_issue", team_id=team.id, title=f"Search target {n}")
    found = await run(connector, "search_issues", term="search target", max_items=3, page_size=2)
    assert len(found["issues"]) == 3 and found["truncated"] is True  # two pages by endCursor
    health = await connector.health_check()
    assert health.is_healthy and health.account_info["name"] == "Lin Dev"
    assert health.account_info["organization_name"] == "Simulated Workspace"


async def test_errors_become_action_errors(world):
    connector, sim, team = world["connector"], world["sim"], world["team"]
    missing = await connector.execute("update_status", {"issue_id": "ENG-999", "state_name": "Done"})
    assert missing.success is False and missing.error_code == "provider_not_found"
    unknown_state = await connector.execute("create_issue", {"team_id": team.id, "title": "x"})
    assert unknown_state.success
    no_state = await connector.execute("update_status", {"issue_id": "ENG-1", "state_name": "Shipped"})
    assert no_state.error_code == "unknown_state"
    sim.requests_limit = 0
    sim.windows.clear()
    limited = await connector.execute("search_issues", {"term": "x"})
    assert limited.success is False and limited.error_code == "provider_rate_limited"
    assert limited.status_code == 400 and limited.retry_after_s is not None and limited.retry_after_s > 3000


async def test_webhook_round_trip_register_fire_verify_parse_remove(world):
    sim, connector, receiver, team = world["sim"], world["connector"], world["receiver"], world["team"]
    registration = await connector.register_webhook(
        ["issue_created", "status_changed", "comment_created"], RECEIVER, "hub-secret-not-used-by-linear"
    )
    assert registration.events == ["Comment", "Issue"]
    hook = sim.webhooks[registration.external_id]
    assert hook.url == RECEIVER and hook.all_public_teams and hook.resource_types == ["Comment", "Issue"]
    issued = registration.secret.get_secret_value() if registration.secret else ""
    assert issued.startswith("lin_wh_") and issued == hook.secret  # Linear's own secret, kept

    issue = await run(connector, "create_issue", team_id=team.id, title="Hooked")
    await run(connector, "update_status", issue_id=issue["id"], state_name="In Progress")
    await run(connector, "add_comment", issue_id=issue["id"], body="On it")
    await sim.outbox.drain()
    fired = []
    for headers, body in receiver.got:
        verify_webhook(
            LinearApiKeyConnector.webhook_signature, issued, headers, body
        )  # raises unless signed right
        fired += parse_webhook(LinearApiKeyConnector, body, headers=headers)
    assert [f.trigger_id for f in fired] == [
        "issue_created",
        "issue_updated",
        "status_changed",
        "comment_created",
    ]
    assert {f.event_id for f in fired} == {h["linear-delivery"] for h, _ in receiver.got}
    change = fired[2].payload
    assert change["status"]["to_state_name"] == "In Progress" and change["status"]["from_state_id"]
    assert fired[3].payload["comment"]["issue_identifier"] == issue["identifier"]

    await connector.unregister_webhook(registration)
    assert sim.webhooks == {}
    await connector.unregister_webhook(registration)  # already gone: nothing to do, no error


async def test_export_pages_through_the_simulator_with_comments(world):
    connector, team = world["connector"], world["team"]
    for n in range(3):
        made = await run(
            connector, "create_issue", team_id=team.id, title=f"Doc {n}", description=f"Text {n}"
        )
        await run(connector, "add_comment", issue_id=made["id"], body=f"Note {n}")
    client = connector.client
    pages = []
    cursor = None
    while True:
        page = await LinearApiKeyConnector(connection_context({}), client).export_content(cursor)
        pages.append(page)
        cursor = page.cursor
        if not page.has_more:
            break
    ids = [d.id for p in pages for d in p.documents]
    assert ids == ["ENG-1", "ENG-2", "ENG-3"]
    assert "Note 0" in pages[0].documents[0].text and "Text 0" in pages[0].documents[0].text
    again = await LinearApiKeyConnector(connection_context({}), client).export_content(cursor)
    assert again.documents == [] and not again.has_more
