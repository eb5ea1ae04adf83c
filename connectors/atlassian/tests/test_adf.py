"""Markdown/plain text → ADF and ADF → text."""

from __future__ import annotations

import pytest

from hub_connector_atlassian import adf_to_text, markdown_to_adf

pytestmark = pytest.mark.unit


def test_plain_text_becomes_paragraphs_with_hard_breaks():
    doc = markdown_to_adf("first line\nsecond line\n\nnext paragraph")
    assert doc == {
        "type": "doc",
        "version": 1,
        "content": [
            {
                "type": "paragraph",
                "content": [
                    {"type": "text", "text": "first line"},
                    {"type": "hardBreak"},
                    {"type": "text", "text": "second line"},
                ],
            },
            {"type": "paragraph", "content": [{"type": "text", "text": "next paragraph"}]},
        ],
    }


def test_markdown_blocks_and_marks():
    doc = markdown_to_adf("## Plan\n\n1. *one*\n2. ~~two~~\n\n```python\nprint(1)\n```\n\n> quoted\n\n---")
    kinds = [b["type"] for b in doc["content"]]
    assert kinds == ["heading", "orderedList", "codeBlock", "blockquote", "rule"]
    assert doc["content"][0]["attrs"] == {"level": 2}
    assert doc["content"][1]["content"][0]["content"][0]["content"][0]["marks"] == [{"type": "em"}]
    assert doc["content"][2] == {
        "type": "codeBlock",
        "attrs": {"language": "python"},
        "content": [{"type": "text", "text": "print(1)"}],
    }


def test_round_trip_to_text():
    source = "# Title\n\nSome **bold** and [a link](https://x.test).\n\n- a\n- b\n\n3. c\n4. d"
    assert adf_to_text(markdown_to_adf(source)) == "Title\n\nSome bold and a link.\n\n- a\n- b\n\n3. c\n4. d"


def test_text_of_nodes_jira_sends():
    doc = {
        "type": "doc",
        "version": 1,
        "content": [
            {
                "type": "paragraph",
                "content": [
                    {"type": "mention", "attrs": {"id": "1", "text": "Ada"}},
                    {"type": "text", "text": " "},
                    {"type": "emoji", "attrs": {"shortName": ":smile:", "text": "😄"}},
                ],
            },
            {
                "type": "panel",
                "content": [
                    {
                        "type": "paragraph",
                        "content": [{"type": "inlineCard", "attrs": {"url": "https://x.test"}}],
                    }
                ],
            },
            {"type": "unknownFutureNode", "content": [{"type": "text", "text": "kept"}]},
        ],
    }
    assert adf_to_text(doc) == "@Ada 😄\n\nhttps://x.test\n\nkept"
    assert adf_to_text("already text") == "already text" and adf_to_text(None) == ""
