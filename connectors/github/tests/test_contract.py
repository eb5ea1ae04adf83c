"""Every GitHub action's requests validate against github-rest.json (the SDK's contract harness:
``GatewayStub(spec=...)`` checks method, path, query, headers and body of each request, and the
answers too); list actions follow ``Link`` pagination."""

from __future__ import annotations

from typing import Any

import pytest

from hub_connector_github import GitHubConnector
from hub_connector_sdk.testkit import GatewayStub, StubRequest, run_action
from hub_e2e.simulators import github_objects as gh

pytestmark = pytest.mark.unit
URLS = gh.Urls(api="https://api.github.com", web="https://github.com")
OWNER, REPO = "octo-dev", "sandbox"
REPO_PARAMS = {"owner": OWNER, "repo": REPO}
TESTED: set[str] = set()


def repo() -> gh.Repo:
    return gh.Repo(4242, OWNER, REPO)


def issue_body(number: int = 7, **changes: Any) -> dict[str, Any]:
    item = gh.Issue(number, changes.pop("title", "Bug"), changes.pop("body", "It broke."), OWNER, **changes)
    return gh.issue(URLS, repo(), item)


def pull_body(number: int = 9, *, merged: bool = False) -> dict[str, Any]:
    item = gh.Issue(number, "Feature", None, OWNER, pull=gh.Pull(head="feat", base="main"))
    if merged:
        item.pull.merged_at = gh.now()  # type: ignore[union-attr]
    return gh.pull_request(URLS, repo(), item)


async def act(stub: GatewayStub, action_id: str, params: dict[str, Any]) -> Any:
    TESTED.add(action_id)
    result = await run_action(GitHubConnector, action_id, params, stub=stub)
    assert result.success, result
    return result.data


async def test_create_issue(stub):
    def created(req: StubRequest) -> tuple[int, Any]:
        return 201, issue_body(title=req.json["title"], labels=[gh.Label(1, "bug")])

    stub.route("POST", "/repos/{owner}/{repo}/issues", created)
    data = await act(stub, "create_issue", {**REPO_PARAMS, "title": "Crash", "body": "x", "labels": ["bug"]})
    assert data["title"] == "Crash" and data["labels"] == ["bug"]
    (call,) = stub.calls
    assert call.json == {"title": "Crash", "body": "x", "labels": ["bug"]}
    assert call.headers["accept"] == "application/vnd.github+json"
    assert call.headers["x-github-api-version"] == "2022-11-28"


async def test_update_issue_sends_only_the_fields_given(stub):
    stub.route("PATCH", "/repos/{owner}/{repo}/issues/{issue_number}", issue_body(state="closed"))
    data = await act(stub, "update_issue", {**REPO_PARAMS, "issue_number": 7, "state": "closed"})
    assert data["state"] == "closed"
    assert stub.calls[0].json == {"state": "closed"}


async def test_add_comment(stub):
    item = gh.Issue(7, "Bug", None, OWNER)
    note = gh.comment(URLS, repo(), item, gh.Comment(55, "Thanks", OWNER))
    stub.route("POST", "/repos/{owner}/{repo}/issues/{issue_number}/comments", (201, note))
    data = await act(stub, "add_comment", {**REPO_PARAMS, "issue_number": 7, "body": "Thanks"})
    assert data["id"] == 55 and data["author"] == OWNER


async def test_list_issues_follows_link_pagination(stub):
    base = "https://api.github.com/repos/octo-dev/sandbox/issues"

    def page(req: StubRequest) -> tuple[int, Any, dict[str, str]]:
        number = int(req.param("page") or 1)
        link = f'<{base}?state=all&per_page=3&page={number + 1}>; rel="next"' if number < 3 else ""
        return 200, [issue_body(number * 10 + i) for i in range(2)], ({"Link": link} if link else {})

    stub.route("GET", "/repos/{owner}/{repo}/issues", page)
    data = await act(stub, "list_issues", {**REPO_PARAMS, "state": "all", "max_items": 5})
    assert [i["number"] for i in data["issues"]] == [10, 11, 20, 21, 30]
    assert data["truncated"] is True
    assert [c.query.get("page") for c in stub.calls] == [None, ["2"], ["3"]]


async def test_create_pull_request(stub):
    stub.route("POST", "/repos/{owner}/{repo}/pulls", (201, pull_body()))
    data = await act(
        stub, "create_pull_request", {**REPO_PARAMS, "title": "Feature", "head": "feat", "base": "main"}
    )
    assert data["head"] == "feat" and data["merged"] is False


async def test_get_pull_request(stub):
    stub.route("GET", "/repos/{owner}/{repo}/pulls/{pull_number}", pull_body(merged=True))
    data = await act(stub, "get_pull_request", {**REPO_PARAMS, "pull_number": 9})
    assert data["number"] == 9 and data["merged_at"]


async def test_merge_pull_request(stub):
    answer = {"sha": "a" * 40, "merged": True, "message": "Pull Request successfully merged"}
    stub.route("PUT", "/repos/{owner}/{repo}/pulls/{pull_number}/merge", answer)
    data = await act(stub, "merge_pull_request", {**REPO_PARAMS, "pull_number": 9, "merge_method": "squash"})
    assert data == {"merged": True, "sha": "a" * 40, "message": "Pull Request successfully merged"}
    assert stub.calls[0].json == {"merge_method": "squash"}


async def test_list_repositories_follows_link_pagination(stub):
    def page(req: StubRequest) -> tuple[int, Any, dict[str, str]]:
        number = int(req.param("page") or 1)
        body = [gh.repository(URLS, gh.Repo(number * 100 + i, OWNER, f"r{number}{i}")) for i in range(2)]
        link = '<https://api.github.com/user/repos?page=2>; rel="next"' if number == 1 else ""
        return 200, body, ({"Link": link} if link else {})

    stub.route("GET", "/user/repos", page)
    data = await act(stub, "list_repositories", {})
    assert [r["full_name"] for r in data["repositories"]] == [
        "octo-dev/r10",
        "octo-dev/r11",
        "octo-dev/r20",
        "octo-dev/r21",
    ]
    assert data["truncated"] is False


async def test_a_spent_rate_limit_is_provider_rate_limited_with_the_wait_until_reset(stub):
    import time

    reset = int(time.time()) + 120
    headers = {"x-ratelimit-remaining": "0", "x-ratelimit-limit": "5000", "x-ratelimit-reset": str(reset)}
    body = {
        "message": "API rate limit exceeded for user ID 1.",
        "documentation_url": "https://docs.github.com/rest",
    }
    stub.route("POST", "/repos/{owner}/{repo}/issues", status=403, json=body, headers=headers)
    result = await run_action(GitHubConnector, "create_issue", {**REPO_PARAMS, "title": "x"}, stub=stub)
    assert result.success is False and result.error_code == "provider_rate_limited"
    assert result.retry_after_s is not None and 100 < result.retry_after_s <= 120


async def test_a_spec_violation_fails_the_contract(stub):
    """The harness is live: a request github-rest.json does not allow is refused."""
    from hub_connector_sdk.testkit import SpecViolation

    with pytest.raises(SpecViolation):
        await stub.client().post("repos/octo-dev/sandbox/issues", json={"body": "no title"})


def test_every_action_is_covered():
    # Runs last in this module (pytest keeps file order).
    assert {a.id for a in GitHubConnector.manifest().actions} == TESTED
