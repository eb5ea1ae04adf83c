"""Pagination helpers, so a list action is a few lines instead of a hand-written loop.

Three styles cover the providers the hub ships:

- :class:`LinkHeader` — RFC 8288 ``Link: <...>; rel="next"`` (GitHub, GitLab). The next
  request keeps the action's own path and takes the query of the ``next`` link, so a base-URL
  override (GitHub Enterprise's ``/api/v3``) never leaks into the path the gateway sees.
- :class:`Cursor` — a cursor in the body fed back as a parameter (Slack's
  ``response_metadata.next_cursor``, Notion's ``next_cursor``/``has_more``, Confluence's).
- :class:`Offset` — offset/limit with ``has_more`` or a total (Jira's ``startAt``/``total``,
  Statuspage's ``page``).

    async for item in paginate(self.client, "repos/o/r/issues", LinkHeader(), params={"per_page": 100},
                               max_pages=10):
        ...
    items = await collect(self.client, "conversations.list", Cursor("cursor", "response_metadata.next_cursor",
                          items="channels"), max_items=500)
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import parse_qsl, urlsplit

from hub_connector_sdk.client import ProviderClient, ProviderResponse

ItemsOf = str | Callable[[Any], list[Any]] | None
_LINK = re.compile(r"<([^>]*)>\s*((?:;\s*[^;,]+)*)")
_PARAM = re.compile(r';\s*([a-zA-Z*]+)\s*=\s*"?([^";]*)"?')


def parse_link_header(value: str | None) -> dict[str, str]:
    """``Link`` header → ``{rel: url}`` (a link with several rels appears under each)."""
    links: dict[str, str] = {}
    for match in _LINK.finditer(value or ""):
        url, params = match.group(1), match.group(2)
        for name, param_value in _PARAM.findall(params):
            if name.lower() == "rel":
                for rel in param_value.split():
                    links.setdefault(rel.lower(), url)
    return links


def dotted(value: Any, path: str) -> Any:
    """``dotted(body, "response_metadata.next_cursor")``; None when any step is missing."""
    node = value
    for part in path.split(".") if path else []:
        if isinstance(node, Mapping):
            node = node.get(part)
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return None
    return node


def items_of(body: Any, items: ItemsOf) -> list[Any]:
    """The list of items in one page: the body itself, a dotted field, or a function's answer."""
    if callable(items):
        return list(items(body))
    found = body if items is None else dotted(body, items)
    return list(found) if isinstance(found, list) else []


class Paginator(Protocol):
    items: ItemsOf

    def next_params(
        self, resp: ProviderResponse, body: Any, params: dict[str, Any], count: int
    ) -> dict[str, Any] | None:
        """The parameters of the next page, or None when this was the last."""
        ...


@dataclass(frozen=True)
class LinkHeader:
    items: ItemsOf = None

    def next_params(
        self, resp: ProviderResponse, body: Any, params: dict[str, Any], count: int
    ) -> dict[str, Any] | None:
        url = parse_link_header(resp.headers.get("link")).get("next")
        if not url:
            return None
        return {**params, **dict(parse_qsl(urlsplit(url).query, keep_blank_values=True))}


@dataclass(frozen=True)
class Cursor:
    """``param``: the request parameter the cursor goes in; ``next_cursor``: its dotted place
    in the body; ``has_more``: an optional dotted boolean that must be true to continue."""

    param: str = "cursor"
    next_cursor: str = "next_cursor"
    items: ItemsOf = None
    has_more: str | None = None

    def next_params(
        self, resp: ProviderResponse, body: Any, params: dict[str, Any], count: int
    ) -> dict[str, Any] | None:
        if self.has_more is not None and dotted(body, self.has_more) is not True:
            return None
        cursor = dotted(body, self.next_cursor)
        if cursor in (None, "") or str(cursor) == str(params.get(self.param)):
            return None  # no cursor, or the same one again: stop rather than loop
        return {**params, self.param: cursor}


@dataclass(frozen=True)
class Offset:
    """``offset_param`` advances by the items received (``page_mode``: by one page instead).

    The end is a false ``has_more``, a ``total`` reached, or a short/empty page.
    """

    offset_param: str = "offset"
    limit_param: str | None = "limit"
    items: ItemsOf = None
    has_more: str | None = None
    total: str | None = None
    page_mode: bool = False
    start: int = 0

    def next_params(
        self, resp: ProviderResponse, body: Any, params: dict[str, Any], count: int
    ) -> dict[str, Any] | None:
        if count == 0:
            return None
        if self.has_more is not None and dotted(body, self.has_more) is not True:
            return None
        current = int(params.get(self.offset_param, self.start))
        following = current + 1 if self.page_mode else current + count
        total = dotted(body, self.total) if self.total else None
        if isinstance(total, int) and not self.page_mode and following >= total:
            return None
        limit = params.get(self.limit_param) if self.limit_param else None
        if self.has_more is None and total is None and limit is not None and count < int(limit):
            return None
        return {**params, self.offset_param: following}


@dataclass(frozen=True)
class Page:
    items: list[Any]
    response: ProviderResponse
    params: dict[str, Any]


async def pages(
    client: ProviderClient,
    path: str,
    paginator: Paginator,
    *,
    params: Mapping[str, Any] | None = None,
    method: str = "GET",
    max_pages: int = 10,
) -> AsyncIterator[Page]:
    """Each page in turn, at most ``max_pages`` (a bound every list action needs)."""
    current: dict[str, Any] | None = dict(params or {})
    for _ in range(max_pages):
        if current is None:
            return
        resp = await client.request(method, path, params=current)
        body = resp.json()
        found = items_of(body, paginator.items)
        yield Page(found, resp, current)
        current = paginator.next_params(resp, body, current, len(found))


async def paginate(
    client: ProviderClient,
    path: str,
    paginator: Paginator,
    *,
    params: Mapping[str, Any] | None = None,
    max_pages: int = 10,
) -> AsyncIterator[Any]:
    """Every item of every page (GET), at most ``max_pages`` pages."""
    async for page in pages(client, path, paginator, params=params, max_pages=max_pages):
        for item in page.items:
            yield item


async def collect(
    client: ProviderClient,
    path: str,
    paginator: Paginator,
    *,
    params: Mapping[str, Any] | None = None,
    max_pages: int = 10,
    max_items: int | None = None,
) -> list[Any]:
    """The items of up to ``max_pages`` pages as a list, cut at ``max_items``."""
    out: list[Any] = []
    async for item in paginate(client, path, paginator, params=params, max_pages=max_pages):
        out.append(item)
        if max_items is not None and len(out) >= max_items:
            break
    return out
