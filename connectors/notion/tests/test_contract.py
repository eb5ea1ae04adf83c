"""Every Notion action's requests validate against notion.json and its supplements (the SDK's
contract harness: ``GatewayStub(spec=...)`` checks method, path, query, headers and body of each
request and the answers too; ``conftest.UNDESCRIBED`` names the only reads outside them); every
call carries ``Notion-Version``; lists follow ``start_cursor``/``has_more``."""

from __future__ import annotations

from typing import Any

import pytest

from hub_connector_notion import NOTION_VERSION, NotionConnector
from hub_connector_sdk.testkit import GatewayStub, SpecViolation, StubRequest, run_action
from hub_e2e.simulators.notion_objects import DATABASE, HOME, PAGE, SOURCE, USER, listing, page, text

pytestmark = pytest.mark.unit
TESTED: set[str] = set()


async def act(stub: GatewayStub, action_id: str, params: dict[str, Any]) -> Any:
    TESTED.add(action_id)
    result = await run_action(NotionConnector, action_id, params, stub=stub)
    assert result.success, result
    assert all(c.headers["notion-version"] == NOTION_VERSION for c in stub.calls)
    return result.data


def appended(req: StubRequest) -> dict[str, Any]:
    made = [
        {"object": "block", "id": f"{i:08d}-0000-4000-8000-000000000000", "type": c["type"], c["type"]: {}}
        for i, c in enumerate(req.json["children"])
    ]
    return listing(made)


async def test_create_page_under_a_page_then_its_blocks(stub):
    stub.route("POST", "/pages", lambda req: (200, page(PAGE, "Plan")))
    stub.route("PATCH", "/blocks/{block_id}/children", appended)
    content = "Intro with a [link](https://example.com)\n\n- first\n- second"
    data = await act(
        stub, "create_page", {"parent_page_id": HOME.replace("-", ""), "title": "Plan", "content": content}
    )
    assert (
        data["id"] == PAGE and data["title"] == "Plan" and data["parent"] == {"type": "page_id", "id": HOME}
    )
    create, append = stub.calls
    assert create.json == {"parent": {"page_id": HOME}, "properties": {"title": {"title": [text_of("Plan")]}}}
    assert [b["type"] for b in append.json["children"]] == [
        "paragraph",
        "bulleted_list_item",
        "bulleted_list_item",
    ]
    link = append.json["children"][0]["paragraph"]["rich_text"][1]
    assert link == {"type": "text", "text": {"content": "link", "link": {"url": "https://example.com"}}}


def text_of(content: str) -> dict[str, Any]:
    return {"type": "text", "text": {"content": content}}


async def test_create_page_as_a_database_row_with_properties(stub):
    row = page(
        PAGE,
        "Task",
        parent={"type": "data_source_id", "data_source_id": SOURCE, "database_id": DATABASE},
        Notes={"id": "n", "type": "rich_text", "rich_text": [text("urgent")]},
    )
    stub.route("POST", "/pages", (200, row))
    notes = {"rich_text": [{"text": {"content": "urgent"}}]}
    data = await act(
        stub, "create_page", {"database_id": DATABASE, "title": "Task", "properties": {"Notes": notes}}
    )
    assert (
        data["properties"] == {"title": "Task", "Notes": "urgent"}
        and data["parent"]["type"] == "data_source_id"
    )
    assert stub.calls[0].json["parent"] == {"type": "database_id", "database_id": DATABASE}


async def test_more_than_a_hundred_blocks_go_in_chunks_each_after_the_last(stub):
    stub.route("PATCH", "/blocks/{block_id}/children", appended)
    content = "\n\n".join(f"para {i}" for i in range(150))
    data = await act(stub, "append_blocks", {"block_id": PAGE, "content": content, "content_format": "plain"})
    first, second = stub.calls
    assert len(first.json["children"]) == 100 and "after" not in first.json
    assert len(second.json["children"]) == 50 and second.json["after"] == data["block_ids"][99]


async def test_update_page_sends_only_what_changes(stub):
    stub.route("PATCH", "/pages/{page_id}", (200, page(PAGE, "Renamed")))
    data = await act(stub, "update_page", {"page_id": PAGE, "title": "Renamed", "icon_emoji": "🚀"})
    assert data["title"] == "Renamed"
    assert stub.calls[0].json == {
        "properties": {"title": {"title": [text_of("Renamed")]}},
        "icon": {"emoji": "🚀"},
    }
    result = await run_action(NotionConnector, "update_page", {"page_id": PAGE}, stub=stub)
    assert result.error_code == "invalid_parameters"


async def test_query_database_follows_start_cursor_in_the_body(stub):
    def query(req: StubRequest) -> tuple[int, Any]:
        start = req.json.get("start_cursor")
        n = 0 if start is None else int(start)
        rows = [page(f"{n + i:08d}-0000-4000-8000-000000000000", f"Row {n + i}") for i in range(2)]
        return 200, listing(rows, str(n + 2) if n < 4 else None)

    stub.route("POST", "/data_sources/{data_source_id}/query", query)
    sorts = [{"property": "Due", "direction": "ascending"}]
    data = await act(
        stub, "query_database", {"data_source_id": SOURCE, "sorts": sorts, "max_items": 5, "page_size": 2}
    )
    assert [r["title"] for r in data["pages"]] == ["Row 0", "Row 1", "Row 2", "Row 3", "Row 4"]
    assert data["truncated"] is True
    assert [c.json.get("start_cursor") for c in stub.calls] == [None, "2", "4"]
    assert stub.calls[0].json == {"sorts": sorts, "page_size": 2}


async def test_query_database_by_database_id_reads_its_data_source(stub, contract):
    database = {"object": "database", "id": DATABASE, "data_sources": [{"id": SOURCE, "name": "Tasks"}]}
    stub.route("GET", "/databases/{database_id}", (200, database))
    stub.route("POST", "/data_sources/{data_source_id}/query", (200, listing([])))
    data = await act(stub, "query_database", {"database_id": DATABASE})
    assert data == {"pages": [], "truncated": False}
    assert stub.calls[1].path.endswith(f"/data_sources/{SOURCE}/query")
    assert contract.bypassed == [f"GET /databases/{DATABASE}"]


async def test_search_with_filter_and_sort(stub):
    source = {
        "object": "data_source",
        "id": SOURCE,
        "title": [text("Tasks")],
        "url": None,
        "last_edited_time": None,
    }
    stub.route("POST", "/search", (200, listing([page(PAGE, "Plan"), source])))
    data = await act(stub, "search", {"query": "pl", "object": "page", "sort": "ascending"})
    assert [(r["object"], r["title"]) for r in data["results"]] == [
        ("page", "Plan"),
        ("data_source", "Tasks"),
    ]
    assert stub.calls[0].json == {
        "sort": {"direction": "ascending", "timestamp": "last_edited_time"},
        "query": "pl",
        "filter": {"property": "object", "value": "page"},
        "page_size": 100,
    }


async def test_add_comment_with_markdown_marks(stub):
    comment = {
        "object": "comment",
        "id": "7a793800-3e55-4d5e-8009-2261de026179",
        "discussion_id": None,
        "parent": {"type": "page_id", "page_id": PAGE},
        "created_time": "2026-12-01T10:00:00.000Z",
        "created_by": {"object": "user", "id": USER},
        "rich_text": [text("Ship "), text("it")],
    }
    stub.route("POST", "/comments", (200, comment))
    data = await act(
        stub, "add_comment", {"page_id": PAGE, "text": "Ship **it**", "content_format": "markdown"}
    )
    assert data["text"] == "Ship it" and data["author_id"] == USER
    body = stub.calls[0].json
    assert body["parent"] == {"page_id": PAGE} and body["rich_text"][1]["annotations"] == {"bold": True}


async def test_health_reads_the_bot_user(stub):
    me = {
        "object": "user",
        "id": USER,
        "name": "Hub",
        "type": "bot",
        "bot": {"owner": {"type": "workspace", "workspace": True}, "workspace_name": "Acme"},
    }
    stub.route("GET", "/users/me", (200, me))
    health = await stub.connector(NotionConnector).health_check()
    assert health.is_healthy and health.account_info == {
        "id": USER,
        "bot_id": USER,
        "name": "Acme",
        "workspace_name": "Acme",
        "owner_type": "workspace",
    }
    assert stub.calls[0].headers["notion-version"] == NOTION_VERSION


def test_markdown_beyond_the_description_is_refused_by_it(contract):
    """notion.json describes paragraph and bulleted_list_item blocks only: headings, to-dos,
    code and the other blocks the Markdown converter builds (all in Notion's block reference)
    are outside it, which is why the contract tests above send those two kinds."""
    from hub_connector_notion.content import blocks

    body = {"children": blocks("# Heading", "markdown")}
    with pytest.raises(SpecViolation):
        contract.check_request(
            "PATCH", f"/blocks/{PAGE}/children", None, body, headers={"Notion-Version": "x"}
        )


async def test_a_spec_violation_fails_the_contract(stub):
    with pytest.raises(SpecViolation):
        await stub.client().post("pages", json={"properties": {}})  # no parent


def test_every_action_is_covered():
    # Runs last in this module (pytest keeps file order).
    assert {a.id for a in NotionConnector.manifest().actions} == TESTED
