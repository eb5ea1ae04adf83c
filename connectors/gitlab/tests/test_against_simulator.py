"""The connector against the GitLab simulator, in process, through the SDK's ``ContractTransport``
(every request of an operation in gitlab-v4.json held to it): every action on the simulator's
state with a project named by its path (``group%2Fproject`` on the wire), and the webhook round
trip — register a project hook, an action fires it, the delivery verifies with the hub's
``gitlab-token`` verifier and parses into the trigger, the hook is removed."""

from __future__ import annotations

import base64
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

from hub_connector_gitlab import GitLabTokenConnector
from hub_connector_sdk import ProviderClient, WebhookVerificationError, verify_webhook
from hub_connector_sdk.testkit import connection_context, parse_webhook
from hub_connector_sdk.testkit.contract import ContractTransport, OpenApiContract, provider_contract
from hub_connector_sdk.testkit.openapi import SpecViolation
from hub_e2e.simulators.framework import create_provider_app
from hub_e2e.simulators.gitlab import GitLabSimulator
from hub_e2e.simulators.spec_guard import SpecGuard

pytestmark = pytest.mark.unit
PAT = "glpat-inProcessContractToken01"
PROXY = "/v1/proxy/conn_test"
RECEIVER = "http://receiver.test/hooks"
PROJECT = "dev-lead/sandbox"


class DescribedOnly(OpenApiContract):
    """gitlab-v4.json's contract for the operations it has; the four it lacks are checked by
    test_contract.py against gitlab-missing.md's facts instead."""

    def check_request(
        self, method: str, path: str, query: Any = None, body: Any = None, *, headers: Any = None
    ) -> Any:
        try:
            return super().check_request(method, path, query, body, headers=headers)
        except SpecViolation as err:
            if err.operation is None:  # not an operation of the description
                return None
            raise


class SimulatedGateway(httpx.AsyncBaseTransport):
    """What the gateway does, minimally: strip the proxy prefix, add PRIVATE-TOKEN and the
    manifest's default headers, send it to the simulator (as a self-managed GitLab)."""

    def __init__(self, app: Starlette) -> None:
        self._provider = httpx.ASGITransport(app=app)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        path = request.url.raw_path.decode().removeprefix(PROXY)
        headers = {k: v for k, v in request.headers.items() if k.lower() != "host"}
        headers.update(GitLabTokenConnector.api.default_headers)
        headers["PRIVATE-TOKEN"] = PAT
        upstream = httpx.Request(
            request.method, f"http://gitlab.test/api/v4{path}", headers=headers, content=request.content
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
    base = provider_contract("gitlab")
    assert isinstance(base, OpenApiContract)
    contract = DescribedOnly(base.name, base.specs)
    sim = GitLabSimulator(SpecGuard.load("gitlab-v4.json", required=True))
    sim.add_pat(PAT, "dev-lead")
    receiver = Receiver()
    sim.outbox.transport = httpx.ASGITransport(app=receiver.app())
    transport = ContractTransport(
        contract, SimulatedGateway(create_provider_app(sim)), base_path=PROXY, check_responses=False
    )
    client = ProviderClient(gateway_url="http://gateway.test", connection_id="conn_test", transport=transport)
    config = {"webhook_project": PROJECT, "base_url": "http://gitlab.test/api/v4"}
    connector = GitLabTokenConnector(connection_context(config), client)
    async with client:
        yield {"sim": sim, "connector": connector, "receiver": receiver, "contract": contract}


async def run(connector: GitLabTokenConnector, action_id: str, **params: Any) -> Any:
    result = await connector.execute(action_id, params)
    assert result.success, result
    return result.data


async def test_every_action_against_the_simulator(world):
    connector, contract = world["connector"], world["contract"]
    issue = await run(connector, "create_issue", project=PROJECT, title="Bug", labels=["bug", "p1"])
    assert issue["iid"] == 1 and issue["labels"] == ["bug", "p1"] and issue["author"] == "dev-lead"
    closed = await run(connector, "update_issue", project=PROJECT, issue_iid=1, state_event="close")
    assert closed["state"] == "closed" and closed["closed_at"]
    note = await run(connector, "add_issue_note", project=PROJECT, issue_iid=1, body="done")
    assert note["body"] == "done" and note["noteable_iid"] == 1
    mr = await run(
        connector,
        "create_merge_request",
        project=PROJECT,
        title="Fix",
        source_branch="fix",
        target_branch="main",
    )
    assert mr["iid"] == 1 and mr["detailed_merge_status"] == "mergeable"
    for n in range(2, 5):
        await run(
            connector,
            "create_merge_request",
            project=PROJECT,
            title=f"MR {n}",
            source_branch=f"b{n}",
            target_branch="main",
        )
    merged = await run(connector, "merge_merge_request", project=PROJECT, merge_request_iid=1, sha=mr["sha"])
    assert merged["state"] == "merged" and merged["merge_commit_sha"]
    listed = await run(
        connector, "list_merge_requests", project=PROJECT, state="opened", per_page=2, max_items=10
    )
    assert [m["iid"] for m in listed["merge_requests"]] == [4, 3, 2] and listed["truncated"] is False
    few = await run(connector, "list_merge_requests", project=PROJECT, state="all", per_page=1, max_items=2)
    assert len(few["merge_requests"]) == 2 and few["truncated"] is True
    health = await connector.health_check()
    assert health.is_healthy and health.account_info["name"] == "dev-lead"
    # the operations in gitlab-v4.json were checked against it, the project path as one segment
    assert "GET /api/v4/projects/{id}/merge_requests" in contract.checked
    assert "PUT /api/v4/projects/{id}/merge_requests/{merge_request_iid}/merge" in contract.checked


async def test_a_gitlab_refusal_becomes_a_clear_action_error(world):
    connector = world["connector"]
    result = await connector.execute("merge_merge_request", {"project": PROJECT, "merge_request_iid": 99})
    assert result.success is False and result.error_code == "provider_not_found"
    assert result.error_message == "404 Merge Request Not Found"
    await run(
        connector, "create_merge_request", project=PROJECT, title="A", source_branch="x", target_branch="main"
    )
    again = await connector.execute(
        "create_merge_request",
        {"project": PROJECT, "title": "B", "source_branch": "x", "target_branch": "main"},
    )
    assert again.success is False and again.status_code == 409
    assert again.error_message == "Another open merge request already exists for this source branch: !1"
    hidden = await connector.execute("create_issue", {"project": "someone-else/private", "title": "x"})
    assert hidden.error_code == "provider_not_found" and hidden.error_message == "404 Project Not Found"


async def test_webhook_round_trip_register_fire_verify_parse_remove(world):
    sim, connector, receiver = world["sim"], world["connector"], world["receiver"]
    secret = "hub-generated-secret-0123456789"
    registration = await connector.register_webhook(["issue_opened", "note_added"], RECEIVER, secret)
    assert registration.events == ["issues_events", "note_events"]
    project = sim.find_project(PROJECT)
    hook = project.hooks[int(registration.external_id)]
    assert hook.url == RECEIVER and hook.token == secret
    assert hook.flags["push_events"] is False and hook.flags["merge_requests_events"] is False

    issue = await run(connector, "create_issue", project=PROJECT, title="Hooked")
    await run(
        connector,
        "create_merge_request",
        project=PROJECT,
        title="No hook",
        source_branch="f",
        target_branch="main",
    )
    await sim.outbox.drain()
    assert [h["x-gitlab-event"] for h, _ in receiver.got] == ["Issue Hook"]
    headers, body = receiver.got[0]
    verify_webhook(GitLabTokenConnector.webhook_signature, secret, headers, body)  # raises unless it matches
    (fired,) = parse_webhook(GitLabTokenConnector, body, headers=headers)
    assert fired.trigger_id == "issue_opened" and fired.payload["issue"]["iid"] == issue["iid"]
    assert fired.event_id == headers["idempotency-key"]
    assert json.loads(body)["object_attributes"]["title"] == "Hooked"

    await connector.unregister_webhook(registration)
    assert project.hooks == {}
    await connector.unregister_webhook(registration)  # already gone: nothing to do, no error


async def test_a_connection_that_chose_the_signing_token_gets_signed_deliveries(world):
    sim, receiver = world["sim"], world["receiver"]
    from hub_connector_sdk.testkit import connection_context

    config = {"webhook_project": PROJECT, "webhook_signature": "gitlab-signing"}
    connector = GitLabTokenConnector(connection_context(config), world["connector"].client)
    signing_token = "whsec_" + base64.b64encode(bytes(range(32))).decode()  # what the hub generates for it
    registration = await connector.register_webhook(["issue_opened"], RECEIVER, signing_token)
    hook = sim.find_project(PROJECT).hooks[int(registration.external_id)]
    assert hook.signing_token == signing_token and hook.token is None

    await run(connector, "create_issue", project=PROJECT, title="Signed")
    await sim.outbox.drain()
    ((headers, body),) = receiver.got
    assert "x-gitlab-token" not in headers and headers["webhook-id"] == headers["idempotency-key"]
    verify_webhook("gitlab-signing", signing_token, headers, body)
    with pytest.raises(WebhookVerificationError):
        verify_webhook("gitlab-signing", signing_token, headers, body.replace(b"Signed", b"Forged"))
    (fired,) = parse_webhook(GitLabTokenConnector, body, headers=headers)
    assert fired.trigger_id == "issue_opened" and fired.event_id == headers["webhook-id"]
