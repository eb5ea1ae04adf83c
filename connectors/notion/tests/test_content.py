"""Rich text and blocks from plain text and Markdown (Notion's limits: 2,000 characters a text
object, 100 objects a rich-text array), and blocks read back as text."""

from __future__ import annotations

import pytest

from hub_connector_notion.content import MAX_TEXT, block_text, blocks, page_title, property_value, rich_text

pytestmark = pytest.mark.unit


def kinds(text: str) -> list[tuple[str, str]]:
    out = []
    for block in blocks(text, "markdown"):
        body = block[block["type"]]
        out.append((block["type"], "".join(i["text"]["content"] for i in body.get("rich_text", []))))
    return out


def test_markdown_lines_become_notion_blocks():
    md = (
        "# Title\n## Sub\n### Small\n\nA paragraph\nthat continues\n\n- one\n* two\n- [ ] todo\n- [x] done\n"
        "1. first\n> quoted\n---\n```py\nprint(1)\n```"
    )
    assert kinds(md) == [
        ("heading_1", "Title"),
        ("heading_2", "Sub"),
        ("heading_3", "Small"),
        ("paragraph", "A paragraph that continues"),
        ("bulleted_list_item", "one"),
        ("bulleted_list_item", "two"),
        ("to_do", "todo"),
        ("to_do", "done"),
        ("numbered_list_item", "first"),
        ("quote", "quoted"),
        ("divider", ""),
        ("code", "print(1)"),
    ]
    todo, done = [b for b in blocks(md, "markdown") if b["type"] == "to_do"]
    assert todo["to_do"]["checked"] is False and done["to_do"]["checked"] is True
    code = blocks(md, "markdown")[-1]["code"]
    assert code["language"] == "python"
    assert blocks("```cobol\nX\n```", "markdown")[0]["code"]["language"] == "plain text"


def test_inline_marks_and_links():
    items = rich_text("a **b** *c* _d_ ~~e~~ `f` [g](https://g.example) snake_case_name", "markdown")
    marks = [(i["text"]["content"], i.get("annotations", {}), i["text"].get("link")) for i in items]
    assert marks == [
        ("a ", {}, None),
        ("b", {"bold": True}, None),
        (" ", {}, None),
        ("c", {"italic": True}, None),
        (" ", {}, None),
        ("d", {"italic": True}, None),
        (" ", {}, None),
        ("e", {"strikethrough": True}, None),
        (" ", {}, None),
        ("f", {"code": True}, None),
        (" ", {}, None),
        ("g", {}, {"url": "https://g.example"}),
        (" snake_case_name", {}, None),
    ]


def test_plain_text_is_literal_paragraphs():
    assert kinds("") == []
    out = blocks("# not a heading\n**not bold**\n\nsecond", "plain")
    assert [b["paragraph"]["rich_text"][0]["text"]["content"] for b in out] == [
        "# not a heading\n**not bold**",
        "second",
    ]


def test_long_text_is_split_and_nothing_is_lost():
    items = rich_text("x" * (MAX_TEXT * 2 + 5))
    assert [len(i["text"]["content"]) for i in items] == [MAX_TEXT, MAX_TEXT, 5]
    many = rich_text(" ".join(f"**{i}**" for i in range(150)), "markdown")
    assert len(many) == 100
    assert "".join(i["text"]["content"] for i in many).endswith("148 149")


def test_blocks_read_back_as_text():
    assert [block_text(b) for b in blocks("# T\n- a\n- [x] b\n> q\n---\nplain", "markdown")] == [
        "# T",
        "- a",
        "- [x] b",
        "> q",
        "---",
        "plain",
    ]
    assert block_text({"type": "image", "image": {}}) is None
    assert block_text({"type": "child_page", "child_page": {"title": "Sub"}}) == "Sub"


def test_titles_and_property_values():
    page = {"properties": {"Name": {"type": "title", "title": [{"plain_text": "Row"}]}}}
    assert page_title(page) == "Row"
    assert property_value({"type": "select", "select": {"name": "High"}}) == "High"
    assert property_value({"type": "multi_select", "multi_select": [{"name": "a"}, {"name": "b"}]}) == [
        "a",
        "b",
    ]
    assert property_value({"type": "date", "date": {"start": "2026-12-01"}}) == "2026-12-01"
    assert property_value({"type": "number", "number": 3}) == 3
    assert property_value({"type": "unique_id", "unique_id": {"prefix": "T", "number": 7}}) == "T-7"
