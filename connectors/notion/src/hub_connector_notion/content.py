"""Notion content both ways: rich text and blocks built from plain text or Markdown, and blocks
read back as plain text (content export, trigger payloads).

Notion's limits, from its request-limits reference: a text object holds at most 2,000
characters and a rich-text array at most 100 objects, so long text is split; one append takes
at most 100 blocks, so callers send blocks in chunks of :data:`MAX_BLOCKS_PER_CALL`.

Markdown understood (one level, no nesting): ``#``/``##``/``###`` headings, ``-``/``*``/``+``
bullets, ``1.`` numbered items, ``- [ ]``/``- [x]`` to-dos, ``>`` quotes, fenced code with a
language, ``---`` dividers, paragraphs (lines joined until a blank line); inline ``**bold**``,
``*italic*``/``_italic_``, ``~~strike~~``, `` `code` `` and ``[text](https://...)`` links.
Anything else is kept as literal text, never dropped.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any, Literal

MAX_TEXT = 2000  # characters in one text object
MAX_RICH_TEXT = 100  # text objects in one rich-text array
MAX_BLOCKS_PER_CALL = 100
Format = Literal["plain", "markdown"]

_INLINE = re.compile(
    r"(?P<code>`[^`\n]+`)"
    r"|\[(?P<ltext>[^\]\n]+)\]\((?P<url>https?://[^)\s]+)\)"
    r"|\*\*(?P<bold>[^*\n]+)\*\*"
    r"|~~(?P<strike>[^~\n]+)~~"
    r"|(?<![\w*])\*(?P<italic>[^*\n]+)\*(?![\w*])"
    r"|(?<![\w_])_(?P<italic2>[^_\n]+)_(?![\w_])"
)
_HEADING = re.compile(r"^(#{1,3})\s+(.*)$")
_TODO = re.compile(r"^[-*+]\s+\[([ xX])\]\s+(.*)$")
_BULLET = re.compile(r"^[-*+]\s+(.*)$")
_NUMBERED = re.compile(r"^\d{1,9}[.)]\s+(.*)$")
_DIVIDER = re.compile(r"^(-{3,}|\*{3,}|_{3,})\s*$")
_FENCE = re.compile(r"^```\s*([\w+#.-]*)\s*$")
# Notion's code-block languages this converter maps Markdown fence names onto.
_LANGUAGES = {
    "bash",
    "c",
    "c#",
    "c++",
    "css",
    "diff",
    "docker",
    "go",
    "graphql",
    "html",
    "java",
    "javascript",
    "json",
    "kotlin",
    "markdown",
    "php",
    "python",
    "ruby",
    "rust",
    "shell",
    "sql",
    "swift",
    "typescript",
    "xml",
    "yaml",
}
_ALIASES = {"py": "python", "js": "javascript", "ts": "typescript", "sh": "shell", "yml": "yaml"}


def _chunks(text: str) -> Iterable[str]:
    for start in range(0, len(text), MAX_TEXT):
        yield text[start : start + MAX_TEXT]


def text_object(content: str, *, link: str | None = None, **annotations: bool) -> list[dict[str, Any]]:
    """One run of text as Notion text objects (several when longer than 2,000 characters).
    Annotations are sent only when set, so plain text stays the smallest request."""
    out: list[dict[str, Any]] = []
    for piece in _chunks(content):
        item: dict[str, Any] = {"type": "text", "text": {"content": piece}}
        if link:
            item["text"]["link"] = {"url": link}
        marks = {k: True for k, v in annotations.items() if v}
        if marks:
            item["annotations"] = marks
        out.append(item)
    return out


def rich_text(text: str, fmt: Format = "plain") -> list[dict[str, Any]]:
    """``text`` as a rich-text array: literal, or with Markdown's inline marks applied. Beyond
    100 objects the rest is joined into the last one (nothing is lost)."""
    if fmt == "plain":
        items = text_object(text) if text else []
    else:
        items = []
        at = 0
        for match in _INLINE.finditer(text):
            if match.start() > at:
                items += text_object(text[at : match.start()])
            found = match.groupdict()
            if found["code"] is not None:
                items += text_object(found["code"][1:-1], code=True)
            elif found["ltext"] is not None:
                items += text_object(found["ltext"], link=found["url"])
            elif found["bold"] is not None:
                items += text_object(found["bold"], bold=True)
            elif found["strike"] is not None:
                items += text_object(found["strike"], strikethrough=True)
            else:
                items += text_object(found["italic"] or found["italic2"] or "", italic=True)
            at = match.end()
        if at < len(text):
            items += text_object(text[at:])
    if len(items) > MAX_RICH_TEXT:
        rest = "".join(i["text"]["content"] for i in items[MAX_RICH_TEXT - 1 :])
        items = items[: MAX_RICH_TEXT - 1] + text_object(rest)[:1]
    return items


def _block(kind: str, text: str, fmt: Format, **extra: Any) -> dict[str, Any]:
    return {"type": kind, kind: {"rich_text": rich_text(text, fmt), **extra}}


def blocks(text: str, fmt: Format = "plain") -> list[dict[str, Any]]:
    """``text`` as Notion blocks: plain text is one paragraph per blank-line-separated part;
    Markdown is read line by line (see the module docstring)."""
    if fmt == "plain":
        parts = [p.strip("\n") for p in re.split(r"\n\s*\n", text)]
        return [_block("paragraph", p, "plain") for p in parts if p.strip()]
    out: list[dict[str, Any]] = []
    paragraph: list[str] = []
    lines = text.splitlines()

    def flush() -> None:
        if paragraph:
            out.append(_block("paragraph", " ".join(s.strip() for s in paragraph), "markdown"))
            paragraph.clear()

    i = 0
    while i < len(lines):
        line = lines[i].rstrip()
        fence = _FENCE.match(line.strip())
        if fence:
            flush()
            code: list[str] = []
            i += 1
            while i < len(lines) and not lines[i].strip().startswith("```"):
                code.append(lines[i])
                i += 1
            name = fence.group(1).lower()
            language = _ALIASES.get(name, name) if _ALIASES.get(name, name) in _LANGUAGES else "plain text"
            out.append(_block("code", "\n".join(code), "plain", language=language))
            i += 1
            continue
        stripped = line.strip()
        if not stripped:
            flush()
        elif m := _HEADING.match(stripped):
            flush()
            out.append(_block(f"heading_{len(m.group(1))}", m.group(2), "markdown"))
        elif _DIVIDER.match(stripped):
            flush()
            out.append({"type": "divider", "divider": {}})
        elif m := _TODO.match(stripped):
            flush()
            out.append(_block("to_do", m.group(2), "markdown", checked=m.group(1) != " "))
        elif m := _BULLET.match(stripped):
            flush()
            out.append(_block("bulleted_list_item", m.group(1), "markdown"))
        elif m := _NUMBERED.match(stripped):
            flush()
            out.append(_block("numbered_list_item", m.group(1), "markdown"))
        elif stripped.startswith(">"):
            flush()
            out.append(_block("quote", stripped.lstrip(">").strip(), "markdown"))
        else:
            paragraph.append(stripped)
        i += 1
    flush()
    return out


# -- reading ---------------------------------------------------------------------------------------
def plain_text(items: Any) -> str:
    """A rich-text array's text (``plain_text``, else the text object's content)."""
    if not isinstance(items, list):
        return ""
    parts = []
    for item in items:
        if isinstance(item, dict):
            value = item.get("plain_text")
            if value is None:
                value = (item.get("text") or {}).get("content", "")
            parts.append(str(value))
    return "".join(parts)


_PREFIX = {
    "heading_1": "# ",
    "heading_2": "## ",
    "heading_3": "### ",
    "bulleted_list_item": "- ",
    "numbered_list_item": "1. ",
    "quote": "> ",
    "toggle": "",
    "callout": "",
    "paragraph": "",
}


def block_text(block: dict[str, Any]) -> str | None:
    """One block as a line of text (Markdown-like marks kept for structure); None for blocks
    without text (images, embeds...)."""
    kind = block.get("type")
    if not isinstance(kind, str):
        return None
    body = block.get(kind) or {}
    if kind == "divider":
        return "---"
    if kind == "to_do":
        return f"- [{'x' if body.get('checked') else ' '}] {plain_text(body.get('rich_text'))}"
    if kind == "code":
        return f"```{body.get('language', '')}\n{plain_text(body.get('rich_text'))}\n```"
    if kind == "child_page":
        return str(body.get("title") or "")
    if kind in _PREFIX:
        return _PREFIX[kind] + plain_text(body.get("rich_text"))
    if isinstance(body, dict) and "rich_text" in body:
        return plain_text(body.get("rich_text"))
    return None


def page_title(page: dict[str, Any]) -> str:
    """A page's title: its ``title``-typed property (whatever the property is named)."""
    for prop in (page.get("properties") or {}).values():
        if isinstance(prop, dict) and prop.get("type") == "title":
            return plain_text(prop.get("title"))
    return ""


def property_value(prop: dict[str, Any]) -> Any:
    """A page property as a plain JSON value (text as a string, a select as its name...)."""
    kind = prop.get("type")
    value = prop.get(kind) if isinstance(kind, str) else None
    if kind in ("title", "rich_text"):
        return plain_text(value)
    if kind in ("select", "status"):
        return value.get("name") if isinstance(value, dict) else None
    if kind == "multi_select":
        return [v.get("name") for v in value or [] if isinstance(v, dict)]
    if kind in ("people", "relation"):
        return [v.get("id") for v in value or [] if isinstance(v, dict)]
    if kind == "date":
        return value.get("start") if isinstance(value, dict) else None
    if kind == "formula" and isinstance(value, dict):
        return value.get(value.get("type", ""))
    if kind in ("created_by", "last_edited_by"):
        return value.get("id") if isinstance(value, dict) else None
    if kind == "unique_id" and isinstance(value, dict):
        prefix = value.get("prefix")
        return f"{prefix}-{value.get('number')}" if prefix else value.get("number")
    return value
