"""Issue and merge request export for search: one page per call following GitLab's ``Link``,
resumable from any cursor it wrote, and incremental (``updated_after`` = the newest update seen,
without exporting again what the previous pass ended on)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from hub_connector_gitlab import GitLabConnector
from hub_connector_sdk import ConnectorError
from hub_connector_sdk.testkit import GatewayStub, StubRequest, run_export
from hub_e2e.simulators import gitlab_objects as gl

pytestmark = pytest.mark.unit
WEB = "https://gitlab.example.com"
PROJ = gl.Project(7, "team", "app")
CONFIG = {"export_projects": ["team/app"]}
T0 = gl.now() - timedelta(hours=1)


class World:
    def __init__(self) -> None:
        self.issues = [
            gl.Issue(100 + i, i, f"Issue {i}", f"Text {i}", "dev", updated_at=T0 + timedelta(minutes=i))
            for i in (1, 2, 3)
        ]
        self.mrs = [gl.MergeRequest(200, 1, "Change", "Why", "dev", "f", "main", "a" * 40, updated_at=T0)]

    def answer(self, items: list[Any], render: Any, req: StubRequest) -> tuple[int, Any, dict[str, str]]:
        since = req.param("updated_after")
        chosen = sorted(
            (i for i in items if not since or gl.iso(i.updated_at) >= since), key=lambda i: i.updated_at
        )
        page, per_page = int(req.param("page") or 1), 2
        chunk = chosen[(page - 1) * per_page : page * per_page]
        more = page * per_page < len(chosen)
        link = (
            {"Link": f'<{WEB}/api/v4/projects/team%2Fapp/x?page={page + 1}&per_page=2>; rel="next"'}
            if more
            else {}
        )
        return 200, [render(i) for i in chunk], link

    def stub(self) -> GatewayStub:
        stub = GatewayStub()
        stub.route(
            "GET",
            "/projects/{id}/issues",
            lambda r: self.answer(self.issues, lambda i: gl.issue(WEB, PROJ, i, {}), r),
        )
        stub.route(
            "GET",
            "/projects/{id}/merge_requests",
            lambda r: self.answer(self.mrs, lambda m: gl.merge_request(WEB, PROJ, m), r),
        )
        return stub


async def test_export_pages_issues_then_merge_requests_then_continues_incrementally():
    world = World()
    stub = world.stub()
    first = await run_export(GitLabConnector, None, config=CONFIG, stub=stub)
    assert [d.id for d in first.documents] == ["team/app#1", "team/app#2"] and first.has_more
    doc = first.documents[0]
    assert doc.title == "Issue 1" and doc.text == "Text 1" and doc.author == "dev"
    assert doc.url == f"{WEB}/team/app/-/issues/1" and doc.metadata["kind"] == "issue"
    # A restarted export resumes with the cursor it checkpointed: the next page, not page one.
    second = await run_export(GitLabConnector, first.cursor, config=CONFIG, stub=stub)
    assert [d.id for d in second.documents] == ["team/app#3"] and second.has_more
    third = await run_export(GitLabConnector, second.cursor, config=CONFIG, stub=stub)
    assert [d.id for d in third.documents] == ["team/app!1"] and not third.has_more
    assert third.documents[0].metadata["source_branch"] == "f"
    calls = [(c.path, c.param("page"), c.param("updated_after")) for c in stub.calls]
    assert calls == [
        ("/projects/team%2Fapp/issues", None, None),
        ("/projects/team%2Fapp/issues", "2", None),
        ("/projects/team%2Fapp/merge_requests", None, None),
    ]
    assert stub.calls[0].query["order_by"] == ["updated_at"] and stub.calls[0].query["sort"] == ["asc"]

    # Nothing changed: the next pass asks from the newest update and exports nothing again.
    quiet = await run_export(GitLabConnector, third.cursor, config=CONFIG, stub=stub)
    quiet = (
        await run_export(GitLabConnector, quiet.cursor, config=CONFIG, stub=stub) if quiet.has_more else quiet
    )
    assert quiet.documents == [] and not quiet.has_more
    assert stub.calls[-1].param("updated_after") == gl.iso(T0 + timedelta(minutes=3))

    world.issues[0].updated_at = T0 + timedelta(minutes=9)  # an edit
    cursor, seen = quiet.cursor, []
    while True:
        page = await run_export(GitLabConnector, cursor, config=CONFIG, stub=stub)
        seen += [d.id for d in page.documents]
        cursor = page.cursor
        if not page.has_more:
            break
    assert seen == ["team/app#1"]


async def test_a_foreign_cursor_is_refused():
    with pytest.raises(ConnectorError, match="export cursor"):
        await run_export(GitLabConnector, "not-a-cursor!", config=CONFIG, stub=GatewayStub())


async def test_without_export_projects_the_accounts_projects_are_listed_by_keyset():
    stub = GatewayStub()
    base = f"{WEB}/api/v4/projects"

    def projects(req: StubRequest) -> tuple[int, Any, dict[str, str]]:
        after = int(req.param("id_after") or 0)
        items = [gl.project(WEB, gl.Project(i, "team", f"p{i}")) for i in (1, 2, 3) if i > after][:2]
        more = after == 0
        link = {"Link": f'<{base}?pagination=keyset&order_by=id&sort=asc&per_page=2&id_after=2>; rel="next"'}
        return 200, items, (link if more else {})

    stub.route("GET", "/projects", projects)
    stub.route("GET", "/projects/{id}/issues", [])
    stub.route("GET", "/projects/{id}/merge_requests", [])
    page = await run_export(GitLabConnector, None, stub=stub)
    assert page.documents == [] and page.has_more
    listing = [c for c in stub.calls if c.path == "/projects"]
    assert [c.param("id_after") for c in listing] == [None, "2"]
    assert listing[0].param("pagination") == "keyset" and listing[0].param("order_by") == "id"
    assert stub.calls[-1].path == "/projects/team%2Fp1/issues"
