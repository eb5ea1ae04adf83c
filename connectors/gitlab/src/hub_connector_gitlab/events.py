"""Trigger payloads: GitLab webhook deliveries (``object_kind`` events) normalised, with the
event's own time.

The delivery id (``Idempotency-Key``, stable across GitLab's retries) becomes the event id
through the signature preset's ``delivery_id_header``; the time comes from the payload: when the
issue or merge request was opened, closed or merged, the note written, the last commit made.
GitLab writes times as ISO 8601 (``2024-05-01T12:00:00Z``, ``...+02:00``) or, in older payloads,
``2024-05-01 12:00:00 UTC``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel

from hub_connector_sdk import TriggerOutput


class Actor(BaseModel):
    id: int
    username: str
    name: str | None


class ProjectRef(BaseModel):
    id: int
    path_with_namespace: str
    url: str


class IssueSummary(BaseModel):
    id: int
    iid: int
    title: str
    description: str | None
    state: str
    url: str
    labels: list[str]
    confidential: bool
    created_at: str
    updated_at: str
    closed_at: str | None


class MergeRequestSummary(BaseModel):
    id: int
    iid: int
    title: str
    description: str | None
    state: str
    url: str
    source_branch: str
    target_branch: str
    sha: str | None
    draft: bool
    labels: list[str]
    created_at: str
    updated_at: str
    merged_at: str | None


class Noteable(BaseModel):
    iid: int
    title: str
    url: str | None


class NoteSummary(BaseModel):
    id: int
    body: str
    noteable_type: str
    url: str | None
    created_at: str


class IssueEvent(BaseModel):
    action: str
    project: ProjectRef
    issue: IssueSummary
    user: Actor


class MergeRequestEvent(BaseModel):
    action: str
    project: ProjectRef
    merge_request: MergeRequestSummary
    user: Actor


class NoteEvent(BaseModel):
    project: ProjectRef
    note: NoteSummary
    issue: Noteable | None
    merge_request: Noteable | None
    user: Actor


class Commit(BaseModel):
    id: str
    message: str
    url: str
    author: str | None
    timestamp: str


class PushEvent(BaseModel):
    project: ProjectRef
    ref: str
    branch: str | None
    before: str
    after: str
    commits: list[Commit]
    total_commits_count: int
    user: Actor


def when(value: Any) -> datetime | None:
    """A GitLab time → an aware datetime (None when absent or unreadable)."""
    if not isinstance(value, str) or not value:
        return None
    text = value.strip()
    if text.endswith(" UTC"):
        text = text[:-4].replace(" ", "T") + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _labels(items: Any) -> list[str]:
    return [x if isinstance(x, str) else str(x.get("title") or x.get("name") or "") for x in items or []]


def _project(payload: dict[str, Any]) -> ProjectRef:
    project = payload["project"]
    return ProjectRef(
        id=project["id"], path_with_namespace=project["path_with_namespace"], url=project["web_url"]
    )


def _user(payload: dict[str, Any]) -> Actor:
    if isinstance(payload.get("user"), dict):
        user = payload["user"]
        return Actor(id=user["id"], username=user["username"], name=user.get("name"))
    # push events carry the pusher flat
    return Actor(id=payload["user_id"], username=payload["user_username"], name=payload.get("user_name"))


def _issue(attrs: dict[str, Any]) -> IssueSummary:
    return IssueSummary(
        id=attrs["id"],
        iid=attrs["iid"],
        title=attrs["title"],
        description=attrs.get("description"),
        state=attrs["state"],
        url=attrs["url"],
        labels=_labels(attrs.get("labels")),
        confidential=bool(attrs.get("confidential", False)),
        created_at=attrs["created_at"],
        updated_at=attrs["updated_at"],
        closed_at=attrs.get("closed_at"),
    )


def _merge_request(attrs: dict[str, Any]) -> MergeRequestSummary:
    return MergeRequestSummary(
        id=attrs["id"],
        iid=attrs["iid"],
        title=attrs["title"],
        description=attrs.get("description"),
        state=attrs["state"],
        url=attrs["url"],
        source_branch=attrs["source_branch"],
        target_branch=attrs["target_branch"],
        sha=(attrs.get("last_commit") or {}).get("id"),
        draft=bool(attrs.get("draft", attrs.get("work_in_progress", False))),
        labels=_labels(attrs.get("labels")),
        created_at=attrs["created_at"],
        updated_at=attrs["updated_at"],
        merged_at=attrs.get("merged_at"),
    )


def issue_event(payload: dict[str, Any], *, when_at: Any) -> TriggerOutput:
    attrs = payload["object_attributes"]
    body = IssueEvent(
        action=attrs["action"], project=_project(payload), issue=_issue(attrs), user=_user(payload)
    )
    return TriggerOutput(payload=body.model_dump(mode="json"), occurred_at=when(when_at))


def merge_request_event(payload: dict[str, Any], *, when_at: Any) -> TriggerOutput:
    attrs = payload["object_attributes"]
    body = MergeRequestEvent(
        action=attrs["action"],
        project=_project(payload),
        merge_request=_merge_request(attrs),
        user=_user(payload),
    )
    return TriggerOutput(payload=body.model_dump(mode="json"), occurred_at=when(when_at))


def _noteable(item: Any) -> Noteable | None:
    if not isinstance(item, dict):
        return None
    return Noteable(iid=item["iid"], title=item["title"], url=item.get("url"))


def note_event(payload: dict[str, Any]) -> TriggerOutput:
    attrs = payload["object_attributes"]
    body = NoteEvent(
        project=_project(payload),
        note=NoteSummary(
            id=attrs["id"],
            body=attrs.get("note") or "",
            noteable_type=attrs["noteable_type"],
            url=attrs.get("url"),
            created_at=attrs["created_at"],
        ),
        issue=_noteable(payload.get("issue")),
        merge_request=_noteable(payload.get("merge_request")),
        user=_user(payload),
    )
    return TriggerOutput(payload=body.model_dump(mode="json"), occurred_at=when(attrs["created_at"]))


def push_event(payload: dict[str, Any]) -> TriggerOutput:
    ref = str(payload["ref"])
    raw = payload.get("commits") or []
    commits = [
        Commit(
            id=c["id"],
            message=c["message"],
            url=c["url"],
            author=(c.get("author") or {}).get("name"),
            timestamp=c["timestamp"],
        )
        for c in raw
    ]
    body = PushEvent(
        project=_project(payload),
        ref=ref,
        branch=ref.removeprefix("refs/heads/") if ref.startswith("refs/heads/") else None,
        before=payload["before"],
        after=payload["after"],
        commits=commits,
        total_commits_count=int(payload.get("total_commits_count") or len(commits)),
        user=_user(payload),
    )
    # The head commit's time: the commit the push ended on, else the newest listed.
    head = next((c for c in raw if c.get("id") == payload["after"]), None)
    times = [t for t in (when(c.get("timestamp")) for c in raw) if t is not None]
    occurred = when(head.get("timestamp")) if head else (max(times) if times else None)
    return TriggerOutput(payload=body.model_dump(mode="json"), occurred_at=occurred)
