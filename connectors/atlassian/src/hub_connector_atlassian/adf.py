"""Atlassian Document Format (ADF) <-> plain text and Markdown.

Jira's v3 API takes and returns rich text (descriptions, comments) as ADF: a JSON tree of
``doc`` → block nodes (paragraph, heading, bulletList, orderedList, codeBlock, blockquote, rule)
→ inline nodes (text with marks, hardBreak, mention, emoji, inlineCard). Actions accept plain
text or Markdown and send ADF (:func:`markdown_to_adf`); triggers and the content export turn
ADF back into text (:func:`adf_to_text`).

The Markdown understood is the common subset: ``#`` headings, ``-``/``*``/``+`` and ``1.``
lists (one level), fenced code blocks, ``>`` quotes, ``---`` rules, ``**bold**``,
``*italic*``/``_italic_``, ``~~strike~~``, ```code``` and ``[text](url)`` links. Plain text is
Markdown without markup, so it becomes paragraphs unchanged.
"""

from __future__ import annotations

import re
from typing import Any

_INLINE = re.compile(
    r"(?P<code>`[^`\n]+`)"
    r"|(?P<link>\[[^\]\n]+\]\((?:https?://|mailto:)[^)\s]+\))"
    r"|(?P<strong>\*\*[^*\n]+\*\*)"
    r"|(?P<strike>~~[^~\n]+~~)"
    r"|(?P<em>(?<![\w*])\*[^*\s][^*\n]*\*(?![\w*])|(?<!\w)_[^_\s][^_\n]*_(?!\w))"
)
_HEADING = re.compile(r"^(#{1,6})\s+(.*)$")
_BULLET = re.compile(r"^\s*[-*+]\s+(.*)$")
_ORDERED = re.compile(r"^\s*(\d+)[.)]\s+(.*)$")
_FENCE = re.compile(r"^```\s*([\w+-]*)\s*$")
_RULE = re.compile(r"^\s*(?:-{3,}|\*{3,}|_{3,})\s*$")
_QUOTE = re.compile(r"^>\s?(.*)$")


def _text(value: str, marks: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    node: dict[str, Any] = {"type": "text", "text": value}
    if marks:
        node["marks"] = marks
    return node


def inline_nodes(line: str) -> list[dict[str, Any]]:
    """Inline Markdown of one line → ADF inline nodes (text with marks)."""
    nodes: list[dict[str, Any]] = []
    pos = 0
    for match in _INLINE.finditer(line):
        if match.start() > pos:
            nodes.append(_text(line[pos : match.start()]))
        token = match.group(0)
        kind = match.lastgroup
        if kind == "code":
            nodes.append(_text(token[1:-1], [{"type": "code"}]))
        elif kind == "link":
            label, _, url = token[1:-1].partition("](")
            nodes.append(_text(label, [{"type": "link", "attrs": {"href": url}}]))
        elif kind == "strong":
            nodes.append(_text(token[2:-2], [{"type": "strong"}]))
        elif kind == "strike":
            nodes.append(_text(token[2:-2], [{"type": "strike"}]))
        else:
            nodes.append(_text(token[1:-1], [{"type": "em"}]))
        pos = match.end()
    if pos < len(line):
        nodes.append(_text(line[pos:]))
    return nodes


def _paragraph(lines: list[str]) -> dict[str, Any]:
    content: list[dict[str, Any]] = []
    for i, line in enumerate(lines):
        if i:
            content.append({"type": "hardBreak"})
        content.extend(inline_nodes(line))
    return {"type": "paragraph", "content": content}


def _list_item(text: str) -> dict[str, Any]:
    return {"type": "listItem", "content": [_paragraph([text])]}


def markdown_to_adf(markdown: str) -> dict[str, Any]:
    """Markdown (or plain text) → an ADF ``doc`` (version 1)."""
    blocks: list[dict[str, Any]] = []
    lines = markdown.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    i = 0
    paragraph: list[str] = []

    def flush() -> None:
        if paragraph:
            blocks.append(_paragraph(paragraph))
            paragraph.clear()

    while i < len(lines):
        line = lines[i]
        fence = _FENCE.match(line)
        if fence:
            flush()
            body: list[str] = []
            i += 1
            while i < len(lines) and not lines[i].startswith("```"):
                body.append(lines[i])
                i += 1
            node: dict[str, Any] = {"type": "codeBlock", "content": []}
            if fence.group(1):
                node["attrs"] = {"language": fence.group(1)}
            if body:
                node["content"] = [_text("\n".join(body))]
            blocks.append(node)
            i += 1
            continue
        if not line.strip():
            flush()
            i += 1
            continue
        heading = _HEADING.match(line)
        if heading:
            flush()
            blocks.append(
                {
                    "type": "heading",
                    "attrs": {"level": len(heading.group(1))},
                    "content": inline_nodes(heading.group(2).strip()),
                }
            )
            i += 1
            continue
        if _RULE.match(line):
            flush()
            blocks.append({"type": "rule"})
            i += 1
            continue
        for pattern, kind in ((_BULLET, "bulletList"), (_ORDERED, "orderedList")):
            if pattern.match(line):
                flush()
                items: list[dict[str, Any]] = []
                first = pattern.match(line)
                while i < len(lines) and (m := pattern.match(lines[i])):
                    items.append(_list_item(m.group(m.lastindex or 1)))
                    i += 1
                listed: dict[str, Any] = {"type": kind, "content": items}
                if kind == "orderedList" and first is not None and int(first.group(1)) != 1:
                    listed["attrs"] = {"order": int(first.group(1))}
                blocks.append(listed)
                break
        else:
            if _QUOTE.match(line):
                flush()
                quoted: list[str] = []
                while i < len(lines) and (q := _QUOTE.match(lines[i])):
                    quoted.append(q.group(1))
                    i += 1
                blocks.append({"type": "blockquote", "content": [_paragraph(quoted)]})
                continue
            paragraph.append(line)
            i += 1
            continue
    flush()
    return {"type": "doc", "version": 1, "content": blocks}


# -- ADF → text ---------------------------------------------------------------------------------------
def _inline_text(node: dict[str, Any]) -> str:
    kind = node.get("type")
    if kind == "text":
        return str(node.get("text", ""))
    if kind == "hardBreak":
        return "\n"
    if kind == "mention":
        attrs = node.get("attrs") or {}
        text = str(attrs.get("text") or attrs.get("id") or "")
        return text if text.startswith("@") else f"@{text}"
    if kind == "emoji":
        attrs = node.get("attrs") or {}
        return str(attrs.get("text") or attrs.get("shortName") or "")
    if kind in ("inlineCard", "blockCard", "embedCard"):
        return str((node.get("attrs") or {}).get("url") or "")
    if kind == "date":
        return str((node.get("attrs") or {}).get("timestamp") or "")
    if kind == "status":
        return str((node.get("attrs") or {}).get("text") or "")
    return "".join(_inline_text(c) for c in node.get("content") or [] if isinstance(c, dict))


def _block_text(node: dict[str, Any], depth: int = 0) -> list[str]:
    kind = node.get("type")
    children = [c for c in node.get("content") or [] if isinstance(c, dict)]
    if kind in ("paragraph", "heading"):
        return ["".join(_inline_text(c) for c in children)]
    if kind == "codeBlock":
        return ["".join(_inline_text(c) for c in children)]
    if kind == "rule":
        return ["---"]
    if kind in ("bulletList", "orderedList"):
        lines: list[str] = []
        start = int((node.get("attrs") or {}).get("order", 1) or 1)
        for n, item in enumerate(children):
            marker = "-" if kind == "bulletList" else f"{start + n}."
            inner = [line for block in item.get("content") or [] for line in _block_text(block, depth + 1)]
            first, rest = (inner[0] if inner else ""), inner[1:]
            lines.append(f"{'  ' * depth}{marker} {first}")
            lines.extend(f"{'  ' * (depth + 1)}{line}" for line in rest if line)
        return ["\n".join(lines)]
    if kind == "blockquote":
        inner = [line for c in children for line in _block_text(c, depth)]
        return ["\n".join(f"> {line}" for block in inner for line in block.split("\n"))]
    if kind == "table":
        rows = []
        for row in children:
            cells = [
                " ".join(t for block in cell.get("content") or [] for t in _block_text(block, depth))
                for cell in row.get("content") or []
                if isinstance(cell, dict)
            ]
            rows.append(" | ".join(cells))
        return ["\n".join(rows)]
    if kind in ("panel", "expand", "nestedExpand", "layoutSection", "layoutColumn", "doc", "listItem"):
        return [line for c in children for line in _block_text(c, depth)]
    text = _inline_text(node)
    return [text] if text else []


def adf_to_text(document: Any) -> str:
    """An ADF document (or a plain string, as webhooks of older APIs send) → plain text:
    blocks separated by blank lines, lists as ``-``/``1.`` lines, mentions as ``@name``."""
    if document is None:
        return ""
    if isinstance(document, str):
        return document
    if not isinstance(document, dict):
        return ""
    return "\n\n".join(b for b in _block_text(document) if b != "").strip()
