"""Confluence storage format (XHTML with ``ac:``/``ri:`` macros) → plain text, for triggers and
the content export: block elements end lines, list items get ``-``, code macros keep their
body, images and attachments are dropped, user links become ``@user``."""

from __future__ import annotations

import re
from html.parser import HTMLParser

_BLOCKS = frozenset(
    {"p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "br", "tr", "table", "blockquote", "pre", "hr",
     "ul", "ol", "ac:structured-macro", "ac:task"}
)  # fmt: skip
_SKIPPED = frozenset({"ac:image", "ri:attachment", "ac:parameter", "style", "script"})


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIPPED:
            self.skip += 1
        elif tag in _BLOCKS:
            self.parts.append("\n")
        elif tag == "li":
            self.parts.append("\n- ")
        elif tag in ("td", "th"):
            self.parts.append(" | ")
        elif tag == "ri:user":
            self.parts.append("@" + (dict(attrs).get("ri:account-id") or "user"))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIPPED:
            return
        self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIPPED:
            self.skip = max(0, self.skip - 1)
        elif tag in _BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.skip:
            self.parts.append(data)

    def unknown_decl(self, data: str) -> None:
        if data.startswith("CDATA["):  # code macros keep their body in CDATA
            self.handle_data(data.removeprefix("CDATA["))


def storage_to_text(storage: str | None) -> str:
    if not storage:
        return ""
    parser = _Text()
    parser.feed(storage)
    parser.close()
    text = "".join(parser.parts)
    lines = [re.sub(r"[ \t]+", " ", line).strip() for line in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
