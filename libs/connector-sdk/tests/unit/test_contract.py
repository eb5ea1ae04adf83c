"""The contract-test harness against the providers' published descriptions ($HUB_SPECS_DIR, else
$HUB_SPECS_DIR; skipped with the reason when absent)."""

from __future__ import annotations

import httpx
import pytest

from hub_connector_sdk.testkit import GatewayStub, SpecViolation
from hub_connector_sdk.testkit.contract import (
    DESCRIPTIONS,
    ContractTransport,
    OpenApiContract,
    load_contract,
    provider_contract,
)

pytestmark = pytest.mark.unit


def test_every_shipped_provider_has_a_loadable_description() -> None:
    contract = provider_contract("github")  # skips without the folder
    assert isinstance(contract, OpenApiContract)
    for name in DESCRIPTIONS:
        assert load_contract(name) is not None, name


async def test_github_requests_are_checked_through_the_gateway_stub() -> None:
    stub = GatewayStub(spec=provider_contract("github"), check_responses=False)
    stub.route("POST", "/repos/{owner}/{repo}/issues", (201, {"id": 1}))
    async with stub.client() as client:
        await client.post("repos/acme/app/issues", json={"title": "Bug", "labels": ["x"]})
        with pytest.raises(SpecViolation, match="body/title: 'title' is a required property"):
            await client.post("repos/acme/app/issues", json={"body": "no title"})
        with pytest.raises(SpecViolation, match="query parameter 'colour' is not in the description"):
            await client.get("repos/acme/app/issues", params={"colour": "red"})
        with pytest.raises(SpecViolation, match="no path of"):
            await client.get("repos/acme/app/teleport")


async def test_answers_that_the_provider_could_never_give_are_refused() -> None:
    stub = GatewayStub(spec=provider_contract("github"))
    stub.route("POST", "/repos/{owner}/{repo}/issues", (201, {"id": 1}))
    stub.route("DELETE", "/repos/{owner}/{repo}/hooks/{hook_id}", 204)
    stub.route("GET", "/rate_limit", (299, {}))
    async with stub.client() as client:
        assert (await client.delete("repos/acme/app/hooks/42")).status_code == 204
        with pytest.raises(SpecViolation, match="response/node_id: 'node_id' is a required property"):
            await client.post("repos/acme/app/issues", json={"title": "Bug"})
        with pytest.raises(SpecViolation, match="status 299 is not documented"):
            await client.get("rate_limit")


def test_swagger_descriptions_slack_and_gitlab() -> None:
    slack = provider_contract("slack")
    slack.check_request("POST", "/chat.postMessage", None, {"channel": "C1", "text": "hi"})
    with pytest.raises(SpecViolation):
        slack.check_request("GET", "/conversations.list", {"limit": "many"})
    gitlab = provider_contract("gitlab")  # paths start with /api/v4, the connector's base URL ends with it
    operation = gitlab.check_request("POST", "/projects/5/hooks", None, {"url": "https://hub.example/h"})
    assert operation is not None and operation.template == "/api/v4/projects/{id}/hooks"


def test_notion_is_split_across_files_by_api_version() -> None:
    notion = provider_contract("notion")
    op = notion.check_request("POST", "/databases/d1/query", None, {"page_size": 10})
    assert op is not None and op.template == "/v1/databases/{database_id}/query"
    notion.check_request("GET", "/users/me", None, None, headers={"Notion-Version": "2025-09-03"})
    with pytest.raises(SpecViolation):
        notion.check_request("PATCH", "/pages/p1", None, {"archived": "yes"})


def test_linear_graphql_documents_are_validated_against_the_schema() -> None:
    linear = provider_contract("linear")
    create = (
        "mutation Create($input: IssueCreateInput!) { issueCreate(input: $input) { success issue { id } } }"
    )
    good = {"query": create, "variables": {"input": {"teamId": "t1", "title": "Bug"}}}
    linear.check_request("POST", "/graphql", None, good)
    with pytest.raises(SpecViolation, match="Cannot query field 'nonsense'"):
        linear.check_request("POST", "/graphql", None, {"query": "{ viewer { nonsense } }"})
    with pytest.raises(SpecViolation, match=r"Variable .\$input. has invalid value"):
        bad = {"query": create, "variables": {"input": {"title": 5}}}
        linear.check_request("POST", "/graphql", None, bad)


async def test_contract_transport_checks_requests_and_answers_of_any_transport() -> None:
    def provider(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"login": "octocat"})  # /user answers need much more

    transport = ContractTransport(provider_contract("github"), httpx.MockTransport(provider), collect=True)
    async with httpx.AsyncClient(transport=transport, base_url="https://sim.test") as http:
        await http.get("/user")
        await http.post("/repos/a/b/issues", json={})
    problems = [str(v) for v in transport.violations]
    assert any("GET /user" in p and "response" in p for p in problems)
    assert any("'title' is a required property" in p for p in problems)
