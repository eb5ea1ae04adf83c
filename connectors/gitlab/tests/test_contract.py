"""Every GitLab action's requests against the published description.

The five operations gitlab-v4.json has (list/create/merge merge requests, create/delete project
hook) are checked by the SDK's contract harness (``GatewayStub(spec=...)``: method, path, query,
body). The four it lacks — ``GET /user``, ``POST /projects/{id}/issues``, ``PUT
/projects/{id}/issues/{issue_iid}``, ``POST /projects/{id}/issues/{issue_iid}/notes`` — are
checked against gitlab-missing.md's facts (required inputs, attribute names and types, labels as
one comma-separated string), written out below; a test fails if the description ever gains them,
so that they move to the harness. Answers are not checked against the description: its generated
entity schemas contradict GitLab's real answers (a list typed as one object, booleans as strings).
"""

from __future__ import annotations

from typing import Any

import pytest

from hub_connector_gitlab import GitLabConnector
from hub_connector_sdk.testkit import GatewayStub, StubRequest, run_action, run_health_check
from hub_connector_sdk.testkit.contract import provider_contract
from hub_connector_sdk.testkit.openapi import SpecViolation
from hub_e2e.simulators import gitlab_objects as gl

pytestmark = pytest.mark.unit
WEB = "https://gitlab.com"
PROJ = gl.Project(278964, "gitlab-org", "gitlab")
USERS = {gl.user_id("dev"): "dev"}
TESTED: set[str] = set()
MISSING = [
    ("GET", "/user"),
    ("POST", "/projects/278964/issues"),
    ("PUT", "/projects/278964/issues/7"),
    ("POST", "/projects/278964/issues/7/notes"),
]
# gitlab-missing.md: the attributes each of the four operations takes, and their types.
ISSUE_ATTRS = {
    "title": str,
    "description": str,
    "labels": str,
    "assignee_ids": list,
    "confidential": bool,
    "due_date": str,
    "milestone_id": int,
}
UPDATE_ATTRS = {
    **ISSUE_ATTRS,
    "state_event": str,
    "add_labels": str,
    "remove_labels": str,
    "discussion_locked": bool,
}
NOTE_ATTRS = {"body": str, "internal": bool}


@pytest.fixture
def spec_stub() -> GatewayStub:
    return GatewayStub(spec=provider_contract("gitlab"), check_responses=False)


def holds_to(body: dict[str, Any], attrs: dict[str, type], required: tuple[str, ...] = ()) -> None:
    for name in required:
        assert name in body, f"{name} is required (gitlab-missing.md)"
    for name, value in body.items():
        assert name in attrs, f"{name} is not a documented attribute"
        assert isinstance(value, attrs[name]), f"{name} must be {attrs[name].__name__}"


async def act(stub: GatewayStub, action_id: str, params: dict[str, Any]) -> Any:
    TESTED.add(action_id)
    result = await run_action(GitLabConnector, action_id, params, stub=stub)
    assert result.success, result
    return result.data


def test_the_four_operations_are_missing_from_the_description():
    contract = provider_contract("gitlab")
    for method, path in MISSING:
        with pytest.raises(SpecViolation) as err:
            contract.check_request(method, path, {}, {"title": "x", "body": "x"})
        assert err.value.operation is None, f"{method} {path} is in gitlab-v4.json now: check it there"


async def test_create_issue_per_gitlab_missing_md():
    stub = GatewayStub()

    def created(req: StubRequest) -> tuple[int, Any]:
        item = gl.Issue(
            11, 7, req.json["title"], req.json.get("description"), "dev", labels=req.json["labels"].split(",")
        )
        return 201, gl.issue(WEB, PROJ, item, USERS)

    stub.route("POST", "/projects/{id}/issues", created)
    params = {
        "project": "278964",
        "title": "Crash",
        "description": "x",
        "labels": ["bug", "p1"],
        "confidential": True,
    }
    data = await act(stub, "create_issue", params)
    assert data["iid"] == 7 and data["labels"] == ["bug", "p1"] and data["url"].endswith("/-/issues/7")
    (call,) = stub.calls
    holds_to(call.json, ISSUE_ATTRS, required=("title",))
    assert call.json["labels"] == "bug,p1"  # one comma-separated string, not an array
    assert call.headers["accept"] == "application/json"


async def test_update_issue_per_gitlab_missing_md():
    stub = GatewayStub()
    closed = gl.Issue(11, 7, "Bug", None, "dev", state="closed", closed_at=gl.now(), closed_by="dev")
    stub.route("PUT", "/projects/{id}/issues/{issue_iid}", gl.issue(WEB, PROJ, closed, USERS))
    data = await act(
        stub,
        "update_issue",
        {"project": "278964", "issue_iid": 7, "state_event": "close", "add_labels": ["done"]},
    )
    assert data["state"] == "closed" and data["closed_at"]
    holds_to(stub.calls[0].json, UPDATE_ATTRS)
    assert stub.calls[0].json == {"state_event": "close", "add_labels": "done"}


async def test_update_issue_with_nothing_to_change_is_refused_before_gitlab():
    """gitlab-missing.md: GitLab answers 400 unless at least one updatable attribute is sent."""
    from hub_connector_sdk import InvalidParameters

    stub = GatewayStub()
    with pytest.raises(InvalidParameters):
        await run_action(GitLabConnector, "update_issue", {"project": "1", "issue_iid": 7}, stub=stub)
    assert stub.calls == []


async def test_add_issue_note_per_gitlab_missing_md():
    stub = GatewayStub()
    parent = gl.Issue(11, 7, "Bug", None, "dev")
    stub.route(
        "POST",
        "/projects/{id}/issues/{issue_iid}/notes",
        (201, gl.note(WEB, PROJ, parent, gl.Note(55, "Thanks", "dev", internal=True))),
    )
    data = await act(
        stub, "add_issue_note", {"project": "278964", "issue_iid": 7, "body": "Thanks", "internal": True}
    )
    assert data == {
        "id": 55,
        "body": "Thanks",
        "author": "dev",
        "noteable_type": "Issue",
        "noteable_iid": 7,
        "internal": True,
        "created_at": data["created_at"],
    }
    holds_to(stub.calls[0].json, NOTE_ATTRS, required=("body",))


async def test_health_reads_get_user_per_gitlab_missing_md():
    stub = GatewayStub()
    stub.route("GET", "/user", {**gl.user(WEB, "dev"), "is_admin": False, "unknown_future_field": 1})
    health = await run_health_check(GitLabConnector, stub=stub)
    assert health.is_healthy and health.account_info["name"] == "dev"
    assert health.account_info["id"] == str(gl.user_id("dev"))


async def test_list_merge_requests_follows_link_pagination(spec_stub):
    base = "https://gitlab.com/api/v4/projects/278964/merge_requests"

    def page(req: StubRequest) -> tuple[int, Any, dict[str, str]]:
        number = int(req.param("page") or 1)
        items = [
            gl.MergeRequest(number * 10 + i, number * 10 + i, "MR", None, "dev", f"b{i}", "main", "a" * 40)
            for i in range(2)
        ]
        link = f'<{base}?state=opened&per_page=2&page={number + 1}>; rel="next"' if number < 3 else ""
        return 200, [gl.merge_request(WEB, PROJ, m) for m in items], ({"Link": link} if link else {})

    spec_stub.route("GET", "/projects/{id}/merge_requests", page)
    data = await act(
        spec_stub, "list_merge_requests", {"project": "278964", "max_items": 5, "labels": ["bug"]}
    )
    assert [m["iid"] for m in data["merge_requests"]] == [10, 11, 20, 21, 30] and data["truncated"] is True
    assert [c.query.get("page") for c in spec_stub.calls] == [None, ["2"], ["3"]]
    assert spec_stub.calls[0].query["labels"] == ["bug"]


async def test_list_merge_requests_by_project_path_is_one_encoded_segment(spec_stub):
    spec_stub.route("GET", "/projects/{id}/merge_requests", [])
    await act(spec_stub, "list_merge_requests", {"project": "gitlab-org/sub/gitlab"})
    (call,) = spec_stub.calls
    assert call.path == "/projects/gitlab-org%2Fsub%2Fgitlab/merge_requests"
    assert call.path_params["id"] == "gitlab-org/sub/gitlab"


async def test_create_merge_request(spec_stub):
    item = gl.MergeRequest(99, 3, "Feature", None, "dev", "feat", "main", "b" * 40)
    spec_stub.route("POST", "/projects/{id}/merge_requests", (201, gl.merge_request(WEB, PROJ, item)))
    data = await act(
        spec_stub,
        "create_merge_request",
        {
            "project": "278964",
            "title": "Feature",
            "source_branch": "feat",
            "target_branch": "main",
            "labels": ["x"],
            "squash": True,
        },
    )
    assert (
        data["iid"] == 3 and data["source_branch"] == "feat" and data["detailed_merge_status"] == "mergeable"
    )
    assert spec_stub.calls[0].json["labels"] == ["x"]  # an array here, as gitlab-v4.json describes it


async def test_merge_merge_request(spec_stub):
    item = gl.MergeRequest(
        99,
        3,
        "Feature",
        None,
        "dev",
        "feat",
        "main",
        "b" * 40,
        state="merged",
        merged_at=gl.now(),
        merge_commit_sha="c" * 40,
    )
    spec_stub.route(
        "PUT", "/projects/{id}/merge_requests/{merge_request_iid}/merge", gl.merge_request(WEB, PROJ, item)
    )
    data = await act(
        spec_stub, "merge_merge_request", {"project": "278964", "merge_request_iid": 3, "squash": True}
    )
    assert data["state"] == "merged" and data["merge_commit_sha"] == "c" * 40
    assert spec_stub.calls[0].json == {"squash": True}


async def test_hook_registration_and_removal_hold_to_the_description(spec_stub):
    from hub_connector_sdk.testkit import connection_context

    hook = gl.Hook(42, "https://hub.test/webhooks/x", "s", None, {"issues_events": True})
    spec_stub.route("POST", "/projects/{id}/hooks", (201, gl.hook(PROJ, hook)))
    spec_stub.route("DELETE", "/projects/{id}/hooks/{hook_id}", status=204)
    connector = GitLabConnector(
        connection_context({"webhook_project": "gitlab-org/gitlab"}), spec_stub.client()
    )
    async with spec_stub.client():
        registration = await connector.register_webhook(
            ["issue_closed", "push"], "https://hub.test/webhooks/x", "s" * 32
        )
        await connector.unregister_webhook(registration)
    body = spec_stub.calls[0].json
    assert body["url"] == "https://hub.test/webhooks/x" and body["token"] == "s" * 32
    assert body["issues_events"] is True and body["push_events"] is True and body["note_events"] is False
    assert registration.external_id == "42" and spec_stub.calls[1].method == "DELETE"


async def test_a_spent_rate_limit_is_provider_rate_limited_with_the_wait():
    stub = GatewayStub()
    stub.route(
        "POST",
        "/projects/{id}/issues",
        status=429,
        json=None,
        headers={
            "RateLimit-Limit": "600",
            "RateLimit-Observed": "600",
            "RateLimit-Remaining": "0",
            "Retry-After": "42",
            "content-type": "text/plain",
        },
    )
    result = await run_action(GitLabConnector, "create_issue", {"project": "1", "title": "x"}, stub=stub)
    assert result.success is False and result.error_code == "provider_rate_limited"
    assert result.retry_after_s == 42.0


async def test_validation_errors_name_the_fields():
    stub = GatewayStub()
    stub.route(
        "POST",
        "/projects/{id}/issues",
        status=400,
        json={"message": {"title": ["can't be blank"], "due_date": ["is invalid"]}},
    )
    result = await run_action(GitLabConnector, "create_issue", {"project": "1", "title": "x"}, stub=stub)
    assert result.success is False and result.status_code == 400
    assert result.error_message == "title can't be blank; due_date is invalid"
    stub.route("POST", "/projects/{id}/issues", status=400, json={"error": "title is missing"})
    result = await run_action(GitLabConnector, "create_issue", {"project": "1", "title": "x"}, stub=stub)
    assert result.error_message == "title is missing"


def test_every_action_is_covered():
    # Runs last in this module (pytest keeps file order).
    assert {a.id for a in GitLabConnector.manifest().actions} == TESTED
