"""Notion's error answers as action errors (its codes, Retry-After on 429/529), and the page
export: one search page per call, blocks as text, resumable by cursor, incremental by
``last_edited_time``."""

from __future__ import annotations

from typing import Any

import pytest

from hub_connector_notion import NotionConnector
from hub_connector_notion.errors import DEFAULT_WAIT_S, wait_seconds
from hub_connector_notion.export import ExportCursor
from hub_connector_sdk import ConnectorError
from hub_connector_sdk.testkit import GatewayStub, StubRequest, run_action, run_export
from hub_e2e.simulators.notion_objects import PAGE, SOURCE, listing, page, text

pytestmark = pytest.mark.unit


def error(status: int, code: str, message: str = "nope") -> dict[str, Any]:
    return {"object": "error", "status": status, "code": code, "message": message}


@pytest.mark.parametrize(
    ("status", "code", "headers", "expected", "wait"),
    [
        (429, "rate_limited", {"Retry-After": "7"}, "provider_rate_limited", 7.0),
        (429, "rate_limited", {}, "provider_rate_limited", DEFAULT_WAIT_S),
        (529, "service_unavailable", {"Retry-After": "3"}, "provider_unavailable", 3.0),
        (503, "service_unavailable", {}, "provider_unavailable", DEFAULT_WAIT_S),
        (400, "validation_error", {}, "provider_rejected", None),
        (400, "missing_version", {}, "provider_rejected", None),
        (404, "object_not_found", {}, "provider_not_found", None),
        (403, "restricted_resource", {}, "provider_forbidden", None),
        (409, "conflict_error", {}, "provider_conflict", None),
        (401, "unauthorized", {}, "credentials_rejected", None),
    ],
)
async def test_notion_errors_become_clear_action_errors(status, code, headers, expected, wait):
    stub = GatewayStub()
    stub.route("POST", "/search", status=status, json=error(status, code, "Because."), headers=headers)
    result = await run_action(NotionConnector, "search", {}, stub=stub)
    assert result.success is False and result.error_code == expected and result.status_code == status
    assert result.error_message == f"{code}: Because." and result.retry_after_s == wait


async def test_the_gateways_own_refusal_passes_through():
    stub = GatewayStub()
    stub.gateway_error("POST", "/search", status=429, code="rate_limited")
    result = await run_action(NotionConnector, "search", {}, stub=stub)
    assert result.error_code == "rate_limited"


def test_wait_seconds_reads_retry_after_dates_too():
    assert wait_seconds(200, {}) is None
    assert wait_seconds(429, {"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}) == 0.0


def pages_in(req: StubRequest) -> tuple[int, Any]:
    """Newest first, two a page: p3 (12:00), p2 (11:00, a database row), p1 (10:00)."""
    edits = {
        "3": "2026-12-01T12:00:00.000Z",
        "2": "2026-12-01T11:00:00.000Z",
        "1": "2026-12-01T10:00:00.000Z",
    }
    row = {"type": "data_source_id", "data_source_id": SOURCE}
    items = [
        page(
            f"0000000{n}-0000-4000-8000-000000000000",
            f"Page {n}",
            edited=edits[n],
            parent=row if n == "2" else None,
            Status={"id": "s", "type": "select", "select": {"name": "Done"}},
        )
        for n in ("3", "2", "1")
    ]
    start = int(req.json.get("start_cursor") or 0)
    return 200, listing(items[start : start + 2], str(start + 2) if start + 2 < 3 else None)


def blocks_of(req: StubRequest) -> tuple[int, Any]:
    para = {
        "object": "block",
        "id": PAGE,
        "type": "paragraph",
        "has_children": False,
        "paragraph": {"rich_text": [text(f"body of {req.path.split('/')[-2][7]}")]},
    }
    return 200, listing([para])


async def test_export_pages_rows_resumes_and_continues_incrementally(stub):
    stub.route("POST", "/search", pages_in)
    stub.route("GET", "/blocks/{block_id}/children", blocks_of)
    first = await run_export(NotionConnector, None, stub=stub)
    assert [d.title for d in first.documents] == ["Page 3", "Page 2"] and first.has_more
    assert first.documents[0].text == "body of 3" and first.documents[0].metadata["kind"] == "page"
    row = first.documents[1]
    assert row.metadata["kind"] == "database_row" and row.metadata["properties"]["Status"] == "Done"
    # A restart resumes from the checkpointed cursor: the next search page, nothing repeated.
    second = await run_export(NotionConnector, first.cursor, stub=stub)
    assert [d.title for d in second.documents] == ["Page 1"] and not second.has_more
    assert ExportCursor.decode(second.cursor).since == "2026-12-01T12:00:00.000Z"
    # The next export stops at the first page edited before the last pass's newest edit.
    again = await run_export(NotionConnector, second.cursor, stub=stub)
    assert [d.title for d in again.documents] == ["Page 3"] and not again.has_more
    searches = stub.calls_to("POST")
    assert searches[0].json["sort"] == {"direction": "descending", "timestamp": "last_edited_time"}
    assert searches[0].json["filter"] == {"property": "object", "value": "page"}


async def test_a_foreign_cursor_is_refused(stub):
    with pytest.raises(ConnectorError, match="export cursor"):
        await run_export(NotionConnector, "not-a-cursor!", stub=stub)
