"""Linear's rate-limit headers and the wait they imply; the issue export's cursor (resumable by
``endCursor``, incremental by ``updatedAt``) against a contract-checking gateway stub."""

from __future__ import annotations

from typing import Any

import pytest

from hub_connector_linear import LinearConnector, parse_rate_limit
from hub_connector_linear.connector import ExportCursor
from hub_connector_linear.rate_limit import DEFAULT_WAIT_S, wait_seconds
from hub_connector_sdk import ConnectorError
from hub_connector_sdk.testkit import StubRequest, run_export

pytestmark = pytest.mark.unit
HEADERS = {
    "X-RateLimit-Requests-Limit": "1500",
    "X-RateLimit-Requests-Remaining": "1499",
    "X-RateLimit-Requests-Reset": "1000500",
    "X-RateLimit-Complexity-Limit": "250000",
    "X-RateLimit-Complexity-Remaining": "0",
    "X-RateLimit-Complexity-Reset": "1060000",
    "X-Complexity": "312",
}


def test_request_and_complexity_budgets_are_parsed_case_insensitively():
    limit = parse_rate_limit({k.lower(): v for k, v in HEADERS.items()})
    assert (limit.requests.limit, limit.requests.remaining, limit.requests.reset_ms) == (1500, 1499, 1000500)
    assert (limit.complexity.limit, limit.complexity.remaining) == (250000, 0)
    assert limit.query_complexity == 312
    assert parse_rate_limit({"X-RateLimit-Requests-Remaining": "many"}).requests.remaining is None


def test_the_wait_is_until_the_spent_budget_resets():
    assert wait_seconds(parse_rate_limit(HEADERS), HEADERS, now=1000.0) == 60.0  # complexity spent
    assert wait_seconds(parse_rate_limit(HEADERS), {**HEADERS, "Retry-After": "7"}) == 7.0
    assert wait_seconds(parse_rate_limit({}), {}) == DEFAULT_WAIT_S
    # RATELIMITED with budget left (a query costing more than remains): until the window resets.
    left = {**HEADERS, "X-RateLimit-Complexity-Remaining": "40"}
    assert wait_seconds(parse_rate_limit(left), left, now=1000.0) == 60.0


def node(n: int, updated: str, comments: int = 1, more: bool = False) -> dict[str, Any]:
    return {
        "id": f"00000000-0000-4000-8000-00000000000{n}",
        "identifier": f"ENG-{n}",
        "number": n,
        "title": f"Issue {n}",
        "description": f"Text {n}",
        "url": f"https://linear.app/acme/issue/ENG-{n}",
        "priority": 0,
        "priorityLabel": "No priority",
        "createdAt": "2026-12-01T00:00:00.000Z",
        "updatedAt": updated,
        "completedAt": None,
        "canceledAt": None,
        "labelIds": [],
        "state": {"id": "s", "name": "Todo", "type": "unstarted"},
        "team": {"id": "t", "key": "ENG", "name": "Engineering"},
        "assignee": None,
        "creator": {"id": "u", "name": "Ada", "email": None},
        "comments": {
            "nodes": [
                {"id": f"c{n}{i}", "body": f"Comment {i}", "createdAt": updated, "user": {"name": "Bo"}}
                for i in range(comments)
            ],
            "pageInfo": {"hasNextPage": more, "endCursor": "cc1" if more else None},
        },
    }


def issues(req: StubRequest) -> Any:
    variables = req.json["variables"]
    if "IssueComments" in req.json["query"]:
        page = {
            "nodes": [
                {"id": "c9", "body": "Late comment", "createdAt": "2026-12-02T00:00:00.000Z", "user": None}
            ]
        }
        return {
            "data": {"issue": {"comments": {**page, "pageInfo": {"hasNextPage": False, "endCursor": "cc2"}}}}
        }
    if "filter" in variables:  # incremental pass after the first: nothing changed
        assert variables["filter"] == {"updatedAt": {"gt": "2026-12-03T00:00:00.000Z"}}
        return {"data": {"issues": {"nodes": [], "pageInfo": {"hasNextPage": False, "endCursor": None}}}}
    if variables.get("after") is None:
        nodes = [node(1, "2026-12-02T00:00:00.000Z", more=True)]
        return {"data": {"issues": {"nodes": nodes, "pageInfo": {"hasNextPage": True, "endCursor": "p1"}}}}
    assert variables["after"] == "p1"
    nodes = [node(2, "2026-12-03T00:00:00.000Z", comments=0)]
    return {"data": {"issues": {"nodes": nodes, "pageInfo": {"hasNextPage": False, "endCursor": "p2"}}}}


async def test_export_pages_resumes_and_continues_incrementally(stub):
    stub.route("POST", "/graphql", issues)
    first = await run_export(LinearConnector, None, stub=stub)
    assert [d.id for d in first.documents] == ["ENG-1"] and first.has_more
    doc = first.documents[0]
    assert doc.title == "Issue 1" and doc.author == "Ada" and doc.metadata["comments"] == 2
    assert "Text 1" in doc.text and "Comment 0" in doc.text and "Late comment" in doc.text
    # A restart resumes from the stored cursor: the next page, not the first again.
    second = await run_export(LinearConnector, first.cursor, stub=stub)
    assert [d.id for d in second.documents] == ["ENG-2"] and not second.has_more
    again = await run_export(LinearConnector, second.cursor, stub=stub)
    assert again.documents == [] and not again.has_more
    sent = [c.json["variables"] for c in stub.calls if "ExportIssues" in c.json["query"]]
    assert all(v["sort"] == [{"updatedAt": {"order": "Ascending"}}] for v in sent)


async def test_export_of_chosen_teams_filters_by_team(stub):
    team = "9cfb482a-81e3-4154-b5b9-2c805e70a02d"
    stub.route("POST", "/graphql", {"data": {"issues": {"nodes": [], "pageInfo": {"hasNextPage": False}}}})
    await run_export(LinearConnector, None, config={"export_team_ids": [team]}, stub=stub)
    assert stub.calls[0].json["variables"]["filter"] == {"team": {"id": {"in": [team]}}}


def test_a_foreign_cursor_is_refused():
    with pytest.raises(ConnectorError, match="export cursor"):
        ExportCursor.decode("not-a-cursor!")
    with pytest.raises(ConnectorError, match="export cursor"):
        ExportCursor.decode("eyJyZXBvcyI6IG51bGx9")  # GitHub's cursor shape: {"repos": null}
