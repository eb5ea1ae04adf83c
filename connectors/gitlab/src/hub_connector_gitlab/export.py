"""Content export for search: issues and merge requests, incremental and resumable.

One page per call: for each project, its issues then its merge requests, oldest update first
(``order_by=updated_at&sort=asc``), ``updated_after`` = where the previous pass ended. The next
page is whatever GitLab's ``Link: rel="next"`` names (offset ``page`` or keyset cursor), kept in
the cursor, so a restarted export continues with the page it had not finished. A finished
pass's cursor carries the newest ``updated_at`` seen: the next export asks only for what changed
since. ``updated_after`` is inclusive, so the cursor also keeps the ids last exported at that
very second, and the next pass skips those (a second edit within that same second waits for the
next change).
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from hub_connector_gitlab.events import when
from hub_connector_sdk import ConnectorError, ContentDocument, ExportPage, LinkHeader

if TYPE_CHECKING:
    from hub_connector_gitlab.connector import GitLabConnector

EXPORT_PAGE = 50
KINDS = ("issues", "merge_requests")
_SIGIL = {"issues": "#", "merge_requests": "!"}  # GitLab's own references: group/project#1, !2


@dataclass
class ExportCursor:
    """Where an export stands (opaque base64 JSON to the hub)."""

    projects: list[str] | None = None
    index: int = 0
    kind: int = 0  # index into KINDS
    next: dict[str, str] | None = None  # the query of the page to fetch next (from Link)
    since: str | None = None
    high: str | None = None
    at_high: list[str] | None = None  # ids exported with updated_at == high
    at_since: list[str] | None = None  # the same, for the pass's starting point

    @classmethod
    def decode(cls, cursor: str | None) -> ExportCursor:
        if not cursor:
            return cls()
        try:
            data = json.loads(base64.urlsafe_b64decode(cursor.encode()))
            projects = data.get("projects")
            nxt = data.get("next")
            return cls(
                [str(p) for p in projects] if isinstance(projects, list) else None,
                int(data.get("index", 0)),
                int(data.get("kind", 0)) % len(KINDS),
                {str(k): str(v) for k, v in nxt.items()} if isinstance(nxt, dict) else None,
                data.get("since"),
                data.get("high"),
                [str(i) for i in data.get("at_high") or []],
                [str(i) for i in data.get("at_since") or []],
            )
        except (ValueError, TypeError, AttributeError, binascii.Error):
            raise ConnectorError(
                "export cursor is not one this connector wrote", code="invalid_cursor"
            ) from None

    def encode(self) -> str:
        data = asdict(self)
        return base64.urlsafe_b64encode(json.dumps(data, separators=(",", ":")).encode()).decode()

    def advance(self) -> None:
        self.next = None
        if self.kind + 1 < len(KINDS):
            self.kind += 1
        else:
            self.index, self.kind = self.index + 1, 0

    def finished(self) -> ExportCursor:
        if self.high is None:
            return ExportCursor(None, 0, 0, None, self.since, self.since, self.at_since, self.at_since)
        return ExportCursor(None, 0, 0, None, self.high, self.high, self.at_high, self.at_high)


def _newer(candidate: str, high: str | None) -> bool:
    stamp, current = when(candidate), when(high)
    return stamp is not None and (current is None or stamp > current)


def _same(candidate: str, other: str | None) -> bool:
    stamp = when(candidate)
    return stamp is not None and stamp == when(other)


def _first_query(state: ExportCursor) -> dict[str, Any]:
    query: dict[str, Any] = {
        "scope": "all",
        "state": "all",
        "order_by": "updated_at",
        "sort": "asc",
        "per_page": EXPORT_PAGE,
    }
    if state.since:
        query["updated_after"] = state.since
    return query


async def export_page(connector: GitLabConnector, cursor: str | None) -> ExportPage:
    state = ExportCursor.decode(cursor)
    if state.projects is None:
        state.projects = await connector.export_projects()
        state.index, state.kind, state.next = 0, 0, None
    if state.index >= len(state.projects):
        return ExportPage(documents=[], cursor=state.finished().encode(), has_more=False)
    project, kind = state.projects[state.index], KINDS[state.kind]
    query = dict(state.next) if state.next else _first_query(state)
    resp = await connector._call("GET", connector._project_path(project, f"/{kind}"), params=query)
    items = resp.json() or []
    documents = []
    for item in items:
        doc = document(project, kind, item)
        if _same(item["updated_at"], state.since) and doc.id in (state.at_since or []):
            continue  # exported by the previous pass, unchanged since
        if _newer(item["updated_at"], state.high):
            state.high, state.at_high = item["updated_at"], []
        if _same(item["updated_at"], state.high):
            state.at_high = [*(state.at_high or []), doc.id][-1000:]
        documents.append(doc)
    following = LinkHeader().next_params(resp, items, query, len(items))
    if following is not None and items:
        state.next = {k: str(v) for k, v in following.items()}
    else:
        state.advance()
    more = state.index < len(state.projects)
    return ExportPage(
        documents=documents, cursor=(state if more else state.finished()).encode(), has_more=more
    )


def document(project: str, kind: str, item: dict[str, Any]) -> ContentDocument:
    labels = [x if isinstance(x, str) else str(x.get("name", "")) for x in item.get("labels") or []]
    updated = when(item["updated_at"])
    assert updated is not None
    metadata: dict[str, Any] = {
        "project": project,
        "kind": "issue" if kind == "issues" else "merge_request",
        "iid": item["iid"],
        "state": item["state"],
        "labels": labels,
    }
    if kind == "merge_requests":
        metadata.update(source_branch=item.get("source_branch"), target_branch=item.get("target_branch"))
    return ContentDocument(
        id=f"{project}{_SIGIL[kind]}{item['iid']}",
        title=str(item["title"])[:1000],
        text=item.get("description") or "",
        url=item.get("web_url"),
        author=(item.get("author") or {}).get("username"),
        updated_at=updated,
        metadata=metadata,
    )
