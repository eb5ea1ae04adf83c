"""Every GraphQL operation the Linear connector sends validates against linear-schema.graphql, with
its variables typed (the SDK's ``GraphQLContract``: parse, validate, coerce the variables); each
action is run through a contract-checking gateway stub; pagination follows ``pageInfo.endCursor``;
GraphQL ``errors`` (``RATELIMITED`` included) become action errors."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest

from hub_connector_linear import OPERATIONS, LinearConnector
from hub_connector_linear.connector import linear_error
from hub_connector_sdk import ProviderResponse
from hub_connector_sdk.testkit import GatewayStub, SpecViolation, StubRequest, run_action
from hub_connector_sdk.testkit.contract import GraphQLContract, provider_contract

pytestmark = pytest.mark.unit
TEAM = "9cfb482a-81e3-4154-b5b9-2c805e70a02d"
ISSUE = "5f8b9a0e-1c2d-4e3f-8a9b-0c1d2e3f4a5b"
STATE_DONE = "0b6f3c9e-7a21-4d4e-9f1a-2b3c4d5e6f70"
TESTED: set[str] = set()


def operation_name(req: StubRequest) -> str:
    match = re.search(r"\b(?:query|mutation)\s+(\w+)", req.json["query"])
    assert match, req.json["query"]
    return match.group(1)


def issue(**changes: Any) -> dict[str, Any]:
    base = {
        "id": ISSUE,
        "identifier": "ENG-7",
        "number": 7,
        "title": "Bug",
        "description": "It broke.",
        "url": "https://linear.app/acme/issue/ENG-7/bug",
        "priority": 2,
        "priorityLabel": "High",
        "createdAt": "2026-11-30T10:00:00.000Z",
        "updatedAt": "2026-11-30T10:00:00.000Z",
        "completedAt": None,
        "canceledAt": None,
        "labelIds": [],
        "state": {"id": "s-todo", "name": "Todo", "type": "unstarted"},
        "team": {"id": TEAM, "key": "ENG", "name": "Engineering"},
        "assignee": None,
        "creator": {"id": "u1", "name": "Ada", "email": "ada@example.com"},
    }
    return {**base, **changes}


def page(nodes: list[Any], end: str | None) -> dict[str, Any]:
    return {"nodes": nodes, "pageInfo": {"hasNextPage": end is not None, "endCursor": end}}


async def act(stub: GatewayStub, action_id: str, params: dict[str, Any]) -> Any:
    TESTED.add(action_id)
    result = await run_action(LinearConnector, action_id, params, stub=stub)
    assert result.success, result
    return result.data


# Variables of the shapes the connector sends, per operation (typed: the contract coerces them).
EXAMPLE_VARIABLES: dict[str, dict[str, Any]] = {
    "Viewer": {},
    "IssueCreate": {
        "input": {"teamId": TEAM, "title": "T", "priority": 1, "labelIds": ["l1"], "dueDate": "2027-01-31"}
    },
    "IssueUpdate": {"id": "ENG-7", "input": {"stateId": STATE_DONE, "assigneeId": None}},
    "IssueTeam": {"id": "ENG-7"},
    "WorkflowStates": {
        "filter": {"team": {"id": {"eq": TEAM}}, "name": {"eqIgnoreCase": "done"}},
        "first": 50,
    },
    "CommentCreate": {"input": {"issueId": ISSUE, "body": "x", "parentId": ISSUE}},
    "SearchIssues": {"term": "x", "first": 51, "after": "c1", "teamId": TEAM, "includeComments": True},
    "ExportIssues": {
        "first": 50,
        "after": "c1",
        "sort": [{"updatedAt": {"order": "Ascending"}}],
        "filter": {"updatedAt": {"gt": "2026-12-01T00:00:00.000Z"}, "team": {"id": {"in": [TEAM]}}},
    },
    "IssueComments": {"id": ISSUE, "after": "c1"},
    "WebhookCreate": {
        "input": {
            "url": "https://hub.example/webhooks/x",
            "resourceTypes": ["Issue"],
            "label": "Hub",
            "teamId": TEAM,
        }
    },
    "WebhookDelete": {"id": ISSUE},
}


@pytest.mark.parametrize("name", sorted(OPERATIONS))
def test_every_operation_validates_against_the_schema_with_typed_variables(name):
    contract = provider_contract("linear")
    assert isinstance(contract, GraphQLContract)
    body = {"query": OPERATIONS[name], "variables": EXAMPLE_VARIABLES[name]}
    contract.check_request("POST", "/graphql", None, body)
    assert name in contract.checked


def test_the_contract_is_live_for_linear():
    """A field Linear does not have, or a variable of the wrong type, is refused."""
    contract = provider_contract("linear")
    with pytest.raises(SpecViolation):
        contract.check_request("POST", "/graphql", None, {"query": "query { viewer { nickname } }"})
    bad_vars = {"query": OPERATIONS["IssueUpdate"], "variables": {"id": ISSUE, "input": {"priority": "high"}}}
    with pytest.raises(SpecViolation):
        contract.check_request("POST", "/graphql", None, bad_vars)


async def test_create_issue(stub):
    def created(req: StubRequest) -> Any:
        assert operation_name(req) == "IssueCreate"
        return {
            "data": {
                "issueCreate": {
                    "success": True,
                    "issue": issue(title=req.json["variables"]["input"]["title"]),
                }
            }
        }

    stub.route("POST", "/graphql", created)
    data = await act(
        stub, "create_issue", {"team_id": TEAM, "title": "Crash", "priority": 1, "label_ids": ["l1"]}
    )
    assert data["title"] == "Crash" and data["identifier"] == "ENG-7" and data["team"]["key"] == "ENG"
    assert stub.calls[0].json["variables"]["input"] == {
        "teamId": TEAM,
        "title": "Crash",
        "priority": 1,
        "labelIds": ["l1"],
    }


async def test_update_issue_sends_only_the_fields_given(stub):
    stub.route(
        "POST", "/graphql", {"data": {"issueUpdate": {"success": True, "issue": issue(assignee=None)}}}
    )
    await act(stub, "update_issue", {"issue_id": "ENG-7", "assignee_id": None, "priority": 3})
    assert stub.calls[0].json["variables"] == {"id": "ENG-7", "input": {"assigneeId": None, "priority": 3}}


async def test_update_status_by_name_looks_the_state_up_in_the_issues_team(stub):
    def answer(req: StubRequest) -> Any:
        name = operation_name(req)
        if name == "IssueTeam":
            return {
                "data": {"issue": {"id": ISSUE, "identifier": "ENG-7", "team": {"id": TEAM, "key": "ENG"}}}
            }
        if name == "WorkflowStates":
            state = {"id": STATE_DONE, "name": "Done", "type": "completed", "team": {"id": TEAM}}
            return {"data": {"workflowStates": page([state], None)}}
        assert req.json["variables"] == {"id": "ENG-7", "input": {"stateId": STATE_DONE}}
        done = issue(
            state={"id": STATE_DONE, "name": "Done", "type": "completed"}, completedAt="2026-12-01T00:00:00Z"
        )
        return {"data": {"issueUpdate": {"success": True, "issue": done}}}

    stub.route("POST", "/graphql", answer)
    data = await act(stub, "update_status", {"issue_id": "ENG-7", "state_name": "done"})
    assert data["state"]["type"] == "completed"
    assert [operation_name(c) for c in stub.calls] == ["IssueTeam", "WorkflowStates", "IssueUpdate"]
    assert stub.calls[1].json["variables"]["filter"] == {
        "team": {"id": {"eq": TEAM}},
        "name": {"eqIgnoreCase": "done"},
    }


async def test_update_status_needs_exactly_one_state(stub):
    result = await run_action(LinearConnector, "update_status", {"issue_id": "ENG-7"}, stub=stub)
    assert result.success is False and result.error_code == "invalid_parameters"


async def test_add_comment(stub):
    comment = {
        "id": "c1",
        "body": "Thanks",
        "url": "https://linear.app/acme/issue/ENG-7#comment-c1",
        "createdAt": "2026-12-01T00:00:00.000Z",
        "updatedAt": "2026-12-01T00:00:00.000Z",
        "user": {"id": "u1", "name": "Ada", "email": None},
        "issue": {"id": ISSUE, "identifier": "ENG-7"},
    }
    stub.route("POST", "/graphql", {"data": {"commentCreate": {"success": True, "comment": comment}}})
    data = await act(stub, "add_comment", {"issue_id": ISSUE, "body": "Thanks"})
    assert data["issue_identifier"] == "ENG-7" and data["author"]["name"] == "Ada"
    assert stub.calls[0].json["variables"] == {"input": {"issueId": ISSUE, "body": "Thanks"}}


async def test_search_issues_follows_end_cursor(stub):
    def answer(req: StubRequest) -> Any:
        after = req.json["variables"].get("after")
        number = {None: 1, "c1": 2, "c2": 3}[after]
        nodes = [issue(id=f"i{number}{n}", identifier=f"ENG-{number}{n}") for n in range(2)]
        return {"data": {"searchIssues": page(nodes, f"c{number}" if number < 3 else None)}}

    stub.route("POST", "/graphql", answer)
    data = await act(stub, "search_issues", {"term": "crash", "max_items": 5, "page_size": 2})
    assert [i["identifier"] for i in data["issues"]] == ["ENG-10", "ENG-11", "ENG-20", "ENG-21", "ENG-30"]
    assert data["truncated"] is True
    assert [c.json["variables"].get("after") for c in stub.calls] == [None, "c1", "c2"]


async def test_ratelimited_is_provider_rate_limited_with_the_wait_until_reset(stub):
    reset_ms = int((time.time() + 120) * 1000)
    headers = {
        "X-RateLimit-Requests-Limit": "1500",
        "X-RateLimit-Requests-Remaining": "0",
        "X-RateLimit-Requests-Reset": str(reset_ms),
    }
    error = {"message": "Rate limit exceeded", "extensions": {"code": "RATELIMITED", "type": "ratelimited"}}
    stub.route("POST", "/graphql", status=400, json={"errors": [error]}, headers=headers)
    result = await run_action(LinearConnector, "search_issues", {"term": "x"}, stub=stub)
    assert result.success is False and result.error_code == "provider_rate_limited"
    assert result.retry_after_s is not None and 100 < result.retry_after_s <= 120


async def test_a_graphql_error_in_a_200_answer_is_an_action_error(stub):
    error = {
        "message": "Entity not found: Issue",
        "extensions": {"code": "INVALID_INPUT", "userPresentableMessage": "Could not find referenced Issue."},
    }
    stub.route("POST", "/graphql", {"data": None, "errors": [error]})
    result = await run_action(LinearConnector, "add_comment", {"issue_id": "ENG-1", "body": "x"}, stub=stub)
    assert result.success is False and result.error_code == "provider_not_found"
    assert result.error_message == "Could not find referenced Issue." and result.status_code == 200


@pytest.mark.parametrize(
    ("code", "status", "expected"),
    [
        ("AUTHENTICATION_ERROR", 401, "credentials_rejected"),
        ("FORBIDDEN", 200, "provider_forbidden"),
        ("INVALID_INPUT", 200, "provider_rejected"),
        ("GRAPHQL_VALIDATION_FAILED", 400, "provider_rejected"),
        ("INTERNAL_SERVER_ERROR", 500, "provider_error"),
    ],
)
def test_linear_error_codes_map_to_action_error_codes(code, status, expected):
    import json

    body = {"errors": [{"message": "nope", "extensions": {"code": code}}]}
    resp = ProviderResponse(status, {}, json.dumps(body).encode())
    err = linear_error(resp, body["errors"])
    assert err.code == expected and err.details["linear_code"] == code


async def test_health_check_names_the_viewer_and_the_workspace(stub):
    viewer = {"id": "u1", "name": "Ada", "email": "ada@example.com", "displayName": "ada"}
    org = {"id": "o1", "name": "Acme", "urlKey": "acme"}
    stub.route("POST", "/graphql", {"data": {"viewer": viewer, "organization": org}})
    health = await stub.connector(LinearConnector).health_check()
    assert health.is_healthy and health.account_info == {
        "id": "u1",
        "name": "Ada",
        "email": "ada@example.com",
        "organization_id": "o1",
        "organization_name": "Acme",
        "organization_url_key": "acme",
    }


async def test_health_check_with_refused_credentials_says_so(stub):
    error = {"message": "Authentication required", "extensions": {"code": "AUTHENTICATION_ERROR"}}
    stub.route("POST", "/graphql", status=401, json={"errors": [error]})
    health = await stub.connector(LinearConnector).health_check()
    assert health.is_healthy is False and health.credentials_invalid is True


async def test_webhook_create_and_delete(stub):
    def answer(req: StubRequest) -> Any:
        if operation_name(req) == "WebhookDelete":
            return {
                "data": None,
                "errors": [{"message": "Entity not found: Webhook", "extensions": {"code": "INVALID_INPUT"}}],
            }
        hook = {
            "id": "wh1",
            "enabled": True,
            "url": req.json["variables"]["input"]["url"],
            "label": "Integration Hub",
            "resourceTypes": ["Comment", "Issue"],
            "allPublicTeams": False,
            "secret": "lin_wh_issued",
            "team": {"id": TEAM},
        }
        return {"data": {"webhookCreate": {"success": True, "webhook": hook}}}

    stub.route("POST", "/graphql", answer)
    connector = stub.connector(LinearConnector, config={"webhook_team_id": TEAM})
    hook = await connector.register_webhook(
        ["comment_created", "status_changed"], "https://hub.example/w", "hub"
    )
    assert hook.external_id == "wh1" and hook.events == ["Comment", "Issue"]
    assert hook.secret is not None and hook.secret.get_secret_value() == "lin_wh_issued"
    sent = stub.calls[0].json["variables"]["input"]
    assert sent == {
        "url": "https://hub.example/w",
        "resourceTypes": ["Comment", "Issue"],
        "label": "Integration Hub",
        "teamId": TEAM,
    }  # no secret sent: Linear issues it
    await connector.unregister_webhook(hook)  # Linear no longer has it: nothing to do


def test_every_action_is_covered():
    # Runs last in this module (pytest keeps file order).
    assert {a.id for a in LinearConnector.manifest().actions} == TESTED
