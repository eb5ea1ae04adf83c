"""Notion objects in the shapes its API reference documents (page, rich text, list), for the
Notion connector's contract tests; the ids are fixed so tests can name them."""

from __future__ import annotations

from typing import Any


def text(content: str) -> dict[str, Any]:
    return {
        "type": "text",
        "text": {"content": content, "link": None},
        "annotations": {
            "bold": False,
            "italic": False,
            "strikethrough": False,
            "underline": False,
            "code": False,
            "color": "default",
        },
        "plain_text": content,
        "href": None,
    }


def page(
    page_id: str,
    title: str,
    *,
    parent: dict[str, Any] | None = None,
    edited: str = "2026-12-01T10:00:00.000Z",
    **props: Any,
) -> dict[str, Any]:
    return {
        "object": "page",
        "id": page_id,
        "created_time": "2026-12-01T09:00:00.000Z",
        "last_edited_time": edited,
        "created_by": {"object": "user", "id": USER},
        "last_edited_by": {"object": "user", "id": USER},
        "parent": parent or {"type": "page_id", "page_id": HOME},
        "archived": False,
        "in_trash": False,
        "properties": {"title": {"id": "title", "type": "title", "title": [text(title)]}, **props},
        "url": f"https://www.notion.so/{title}-{page_id.replace('-', '')}",
    }


def listing(results: list[Any], next_cursor: str | None = None) -> dict[str, Any]:
    return {
        "object": "list",
        "results": results,
        "next_cursor": next_cursor,
        "has_more": next_cursor is not None,
    }


HOME = "59833787-2cf9-4fdf-8782-e53db20768a5"
PAGE = "b55c9c91-384d-452b-81db-d1ef79372b75"
USER = "ee5f0f84-409a-440f-983a-a5315961c6e4"
DATABASE = "bc1211ca-e3f1-4939-ae34-5260b16f627c"
SOURCE = "248104cd-477e-80af-bc30-000bd28de8f9"
