"""Content export: Notion pages and database rows as documents, incremental and resumable.

One call = one page of ``POST /v1/search`` (pages only; a database row is a page whose parent is
a data source), sorted by ``last_edited_time`` descending, each page read with its blocks
(``GET /v1/blocks/{id}/children``, ``start_cursor``/``has_more``, nested children one level
down) and turned into text. The cursor is opaque base64 JSON to the hub:

- ``start``: Notion's ``next_cursor`` of the running pass (the hub checkpoints it after every
  page, so a restarted export resumes there);
- ``since``: the newest ``last_edited_time`` of the previous finished pass — a pass stops at the
  first page edited before it (newest first, so everything after is older);
- ``high``: the newest ``last_edited_time`` this pass saw, which becomes the next ``since``.

Notion's ``last_edited_time`` is rounded to the minute, so a page edited in the same minute as
``since`` is exported again rather than missed (document ids are stable: a re-export replaces).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from hub_connector_notion.content import block_text, page_title, property_value
from hub_connector_notion.events import when
from hub_connector_notion.models import parent_of
from hub_connector_sdk import ConnectorError, ContentDocument, ExportPage, ProviderResponse, segment

EXPORT_PAGE = 20  # pages per export call (each also costs its block reads)
BLOCK_PAGE = 100
Call = Callable[..., Awaitable[ProviderResponse]]


@dataclass
class ExportCursor:
    start: str | None = None
    since: str | None = None
    high: str | None = None

    @classmethod
    def decode(cls, cursor: str | None) -> ExportCursor:
        if not cursor:
            return cls()
        try:
            data = json.loads(base64.urlsafe_b64decode(cursor.encode()))
            values = {k: data.get(k) for k in ("start", "since", "high")}
            if not all(v is None or isinstance(v, str) for v in values.values()):
                raise TypeError("cursor fields are strings")
            return cls(**values)
        except (ValueError, TypeError, AttributeError, binascii.Error):
            raise ConnectorError(
                "export cursor is not one this connector wrote", code="invalid_cursor"
            ) from None

    def encode(self) -> str:
        return base64.urlsafe_b64encode(json.dumps(asdict(self), separators=(",", ":")).encode()).decode()

    def finished(self) -> ExportCursor:
        """The cursor the next (incremental) export starts from."""
        since = self.high or self.since
        return ExportCursor(None, since, since)


def _newer(a: str | None, b: str | None) -> str | None:
    if a is None or b is None:
        return a or b
    at, bt = when(a), when(b)
    return a if at is not None and bt is not None and at > bt else b


async def export_page(call: Call, state: ExportCursor, *, max_block_pages: int = 5) -> ExportPage:
    body: dict[str, Any] = {
        "filter": {"property": "object", "value": "page"},
        "sort": {"direction": "descending", "timestamp": "last_edited_time"},
        "page_size": EXPORT_PAGE,
    }
    if state.start:
        body["start_cursor"] = state.start
    answer = (await call("POST", "search", json=body)).json()
    since = when(state.since)
    documents: list[ContentDocument] = []
    reached_old = False
    for item in answer.get("results") or []:
        edited = when(item.get("last_edited_time"))
        if since is not None and edited is not None and edited < since:
            reached_old = True  # newest first: everything from here on was exported before
            break
        state.high = _newer(item.get("last_edited_time"), state.high)
        if item.get("in_trash") or item.get("archived"):
            continue
        text = await _page_text(call, str(item["id"]), max_block_pages)
        documents.append(page_document(item, text))
    more = bool(answer.get("has_more")) and bool(answer.get("next_cursor")) and not reached_old
    if more:
        state.start = str(answer["next_cursor"])
        return ExportPage(documents=documents, cursor=state.encode(), has_more=True)
    return ExportPage(documents=documents, cursor=state.finished().encode(), has_more=False)


async def _children(call: Call, block_id: str, max_pages: int) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    query: dict[str, Any] = {"page_size": BLOCK_PAGE}
    for _ in range(max_pages):
        answer = (await call("GET", f"blocks/{segment(block_id)}/children", params=query)).json()
        found += [b for b in answer.get("results") or [] if isinstance(b, dict)]
        if not answer.get("has_more") or not answer.get("next_cursor"):
            break
        query = {**query, "start_cursor": answer["next_cursor"]}
    return found


async def _page_text(call: Call, page_id: str, max_pages: int) -> str:
    """The page's blocks as lines of text; children of a block (toggles, nested lists) one
    level down, indented."""
    lines: list[str] = []
    for block in await _children(call, page_id, max_pages):
        line = block_text(block)
        if line is not None:
            lines.append(line)
        if block.get("has_children") and block.get("type") not in ("child_page", "child_database"):
            for child in await _children(call, str(block["id"]), 1):
                nested = block_text(child)
                if nested is not None:
                    lines.append("  " + nested)
    return "\n".join(lines)


def page_document(item: dict[str, Any], text: str) -> ContentDocument:
    parent = parent_of(item)
    props = item.get("properties") or {}
    is_row = parent.type in ("database_id", "data_source_id")
    metadata: dict[str, Any] = {"kind": "database_row" if is_row else "page", "parent": parent.model_dump()}
    if is_row:
        metadata["properties"] = {k: property_value(v) for k, v in props.items() if isinstance(v, dict)}
    edited = when(item.get("last_edited_time")) or datetime.fromisoformat("1970-01-01T00:00:00+00:00")
    return ContentDocument(
        id=str(item["id"]),
        title=page_title(item)[:1000],
        text=text,
        url=item.get("url"),
        author=(item.get("created_by") or {}).get("id"),
        updated_at=edited,
        metadata=metadata,
    )
