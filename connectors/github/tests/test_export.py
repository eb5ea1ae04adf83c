"""Issue export for search: one page per call, pull requests left out, resumable by cursor,
and incremental (``since`` = the newest update seen) once a pass is finished."""

from __future__ import annotations

from typing import Any

import pytest

from hub_connector_github import GitHubConnector
from hub_connector_sdk.testkit import StubRequest, run_export
from hub_e2e.simulators import github_objects as gh

pytestmark = pytest.mark.unit
URLS = gh.Urls(api="https://api.github.com", web="https://github.com")
CONFIG = {"export_repositories": ["octo-dev/sandbox"]}


def issues(req: StubRequest) -> tuple[int, Any, dict[str, str]]:
    repo = gh.Repo(1, "octo-dev", "sandbox")
    page = int(req.param("page") or 1)
    if req.param("since"):
        return 200, [], {}
    items = [gh.Issue(page * 2 - 1, f"Issue {page}", "Text", "octo-dev")]
    items.append(gh.Issue(page * 2, "A pull", None, "octo-dev", pull=gh.Pull("f", "main")))
    link = '<https://api.github.com/repos/octo-dev/sandbox/issues?page=2>; rel="next"' if page == 1 else ""
    return 200, [gh.issue(URLS, repo, i) for i in items], ({"Link": link} if link else {})


async def test_export_pages_through_issues_then_continues_incrementally(stub):
    stub.route("GET", "/repos/{owner}/{repo}/issues", issues)
    first = await run_export(GitHubConnector, None, config=CONFIG, stub=stub)
    assert [d.id for d in first.documents] == ["octo-dev/sandbox#1"] and first.has_more
    doc = first.documents[0]
    assert doc.title == "Issue 1" and doc.text == "Text" and doc.author == "octo-dev"
    assert doc.url == "https://github.com/octo-dev/sandbox/issues/1"
    second = await run_export(GitHubConnector, first.cursor, config=CONFIG, stub=stub)
    assert [d.id for d in second.documents] == ["octo-dev/sandbox#3"] and not second.has_more
    again = await run_export(GitHubConnector, second.cursor, config=CONFIG, stub=stub)
    assert again.documents == [] and not again.has_more
    last = stub.calls[-1]
    assert last.query["since"] and last.query["sort"] == ["updated"] and last.query["direction"] == ["asc"]


async def test_a_foreign_cursor_is_refused(stub):
    from hub_connector_sdk import ConnectorError

    with pytest.raises(ConnectorError, match="export cursor"):
        await run_export(GitHubConnector, "not-a-cursor!", config=CONFIG, stub=stub)
