"""The connector against the GitHub simulator, in process, through the SDK's ``ContractTransport``
(every request and answer held to github-rest.json): every action on the simulator's state, and
the webhook round trip — register a hook, an action fires it, the delivery verifies with the
hub's verifier for ``github-sha256`` and parses into the trigger, the hook is removed."""

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

from hub_connector_github import GitHubConnector
from hub_connector_sdk import ProviderClient, verify_webhook
from hub_connector_sdk.testkit import connection_context, parse_webhook
from hub_connector_sdk.testkit.contract import ContractTransport, provider_contract
from hub_e2e.simulators.framework import create_provider_app
from hub_e2e.simulators.github import GitHubSimulator
from hub_e2e.simulators.spec_guard import SpecGuard, WebhookGuard

pytestmark = pytest.mark.unit
PAT = "ghp_inProcessContractToken0000001"
PROXY = "/v1/proxy/conn_test"
RECEIVER = "http://receiver.test/hooks"


class SimulatedGateway(httpx.AsyncBaseTransport):
    """What the gateway does to a call, minimally: strip the proxy prefix, add the token and the
    manifest's default headers, send it to the provider (here the simulator, as GHES)."""

    def __init__(self, app: Starlette) -> None:
        self._provider = httpx.ASGITransport(app=app)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        path = request.url.raw_path.decode().removeprefix(PROXY)
        headers = {k: v for k, v in request.headers.items() if k.lower() != "host"}
        headers.update(GitHubConnector.api.default_headers)
        headers["Authorization"] = f"Bearer {PAT}"
        upstream = httpx.Request(
            request.method, f"http://ghes.test/api/v3{path}", headers=headers, content=request.content
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
    contract = provider_contract("github")
    sim = GitHubSimulator(
        SpecGuard.load("github-rest.json", required=True), WebhookGuard.load("github-webhooks.json")
    )
    sim.add_pat(PAT, "octo-dev")
    receiver = Receiver()
    sim.outbox.transport = httpx.ASGITransport(app=receiver.app())
    transport = ContractTransport(contract, SimulatedGateway(create_provider_app(sim)), base_path=PROXY)
    client = ProviderClient(gateway_url="http://gateway.test", connection_id="conn_test", transport=transport)
    config = {"webhook_repository": "octo-dev/sandbox", "base_url": "http://ghes.test/api/v3"}
    connector = GitHubConnector(connection_context(config), client)
    async with client:
        yield {"sim": sim, "connector": connector, "receiver": receiver}


async def run(connector: GitHubConnector, action_id: str, **params: Any) -> Any:
    result = await connector.execute(action_id, params)
    assert result.success, result
    return result.data


async def test_every_action_against_the_simulator(world):
    connector = world["connector"]
    repo = {"owner": "octo-dev", "repo": "sandbox"}
    issue = await run(connector, "create_issue", **repo, title="Bug", labels=["bug"])
    await run(connector, "update_issue", **repo, issue_number=issue["number"], state="closed")
    await run(connector, "add_comment", **repo, issue_number=issue["number"], body="done")
    pull = await run(connector, "create_pull_request", **repo, title="Fix", head="fix", base="main")
    assert (await run(connector, "get_pull_request", **repo, pull_number=pull["number"]))["mergeable"] is True
    assert (await run(connector, "merge_pull_request", **repo, pull_number=pull["number"]))["merged"] is True
    listed = await run(connector, "list_issues", **repo, state="all")
    assert [i["number"] for i in listed["issues"]] == [pull["number"], issue["number"]]
    assert listed["issues"][1]["state"] == "closed" and listed["issues"][1]["comments"] == 1
    repos = await run(connector, "list_repositories", max_items=2)
    assert len(repos["repositories"]) == 2 and repos["truncated"] is True
    health = await connector.health_check()
    assert health.is_healthy and health.account_info["name"] == "octo-dev"


async def test_webhook_round_trip_register_fire_verify_parse_remove(world):
    sim, connector, receiver = world["sim"], world["connector"], world["receiver"]
    secret = "hub-generated-secret-0123456789"
    registration = await connector.register_webhook(["issue_opened", "issue_commented"], RECEIVER, secret)
    assert registration.events == ["issue_comment", "issues"]
    hook = sim.repos["octo-dev/sandbox"].hooks[int(registration.external_id)]
    assert hook.url == RECEIVER and hook.content_type == "json"

    issue = await run(connector, "create_issue", owner="octo-dev", repo="sandbox", title="Hooked")
    await sim.outbox.drain()
    events = {headers["x-github-event"]: (headers, body) for headers, body in receiver.got}
    assert set(events) == {"ping", "issues"}
    headers, body = events["issues"]
    verify_webhook(GitHubConnector.webhook_signature, secret, headers, body)  # raises unless signed right
    (fired,) = parse_webhook(GitHubConnector, body, headers=headers)
    assert fired.trigger_id == "issue_opened" and fired.payload["issue"]["number"] == issue["number"]
    assert fired.event_id == headers["x-github-delivery"]
    assert json.loads(body)["issue"]["title"] == "Hooked"

    await connector.unregister_webhook(registration)
    assert sim.repos["octo-dev/sandbox"].hooks == {}
    await connector.unregister_webhook(registration)  # already gone: nothing to do, no error
