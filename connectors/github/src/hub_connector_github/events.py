"""Trigger payloads: GitHub webhook deliveries normalised, with the event's own time.

The delivery id (``X-GitHub-Delivery``) becomes the event id through the ``github-sha256``
signature preset (its ``delivery_id_header``); the time comes from the payload: when the issue
was opened or closed, the comment written, the pull request opened or merged, the head commit made.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel

from hub_connector_github.models import Comment, Issue, PullRequest
from hub_connector_sdk import TriggerOutput


class Actor(BaseModel):
    login: str
    id: int


class RepositoryRef(BaseModel):
    full_name: str
    id: int
    url: str


class IssueEvent(BaseModel):
    action: str
    repository: RepositoryRef
    issue: Issue
    sender: Actor


class CommentEvent(BaseModel):
    action: str
    repository: RepositoryRef
    issue: Issue
    comment: Comment
    sender: Actor


class PullRequestEvent(BaseModel):
    action: str
    repository: RepositoryRef
    pull_request: PullRequest
    sender: Actor


class Commit(BaseModel):
    id: str
    message: str
    url: str
    author: str | None
    timestamp: str


class PushEvent(BaseModel):
    repository: RepositoryRef
    ref: str
    branch: str | None
    before: str
    after: str
    commits: list[Commit]
    pusher: str
    sender: Actor


def when(value: str | int | None) -> datetime | None:
    """GitHub's times: ISO 8601 (``2024-05-01T12:00:00Z``), or epoch seconds in push payloads."""
    if value is None:
        return None
    if isinstance(value, int):
        return datetime.fromtimestamp(value).astimezone()
    return datetime.fromisoformat(value)


def _repository(payload: dict[str, Any]) -> dict[str, Any]:
    repo = payload["repository"]
    return {"full_name": repo["full_name"], "id": repo["id"], "url": repo["html_url"]}


def _sender(payload: dict[str, Any]) -> dict[str, Any]:
    return {"login": payload["sender"]["login"], "id": payload["sender"]["id"]}


def issue_event(payload: dict[str, Any], *, when_at: str | None) -> TriggerOutput:
    body = IssueEvent(
        action=payload["action"],
        repository=RepositoryRef(**_repository(payload)),
        issue=Issue.from_api(payload["issue"]),
        sender=Actor(**_sender(payload)),
    )
    return TriggerOutput(payload=body.model_dump(mode="json"), occurred_at=when(when_at))


def comment_event(payload: dict[str, Any]) -> TriggerOutput:
    comment = payload["comment"]
    body = CommentEvent(
        action=payload["action"],
        repository=RepositoryRef(**_repository(payload)),
        issue=Issue.from_api(payload["issue"]),
        comment=Comment.from_api(comment),
        sender=Actor(**_sender(payload)),
    )
    return TriggerOutput(payload=body.model_dump(mode="json"), occurred_at=when(comment["created_at"]))


def pull_request_event(payload: dict[str, Any], *, when_at: str | None) -> TriggerOutput:
    body = PullRequestEvent(
        action=payload["action"],
        repository=RepositoryRef(**_repository(payload)),
        pull_request=PullRequest.from_api(payload["pull_request"]),
        sender=Actor(**_sender(payload)),
    )
    return TriggerOutput(payload=body.model_dump(mode="json"), occurred_at=when(when_at))


def push_event(payload: dict[str, Any]) -> TriggerOutput:
    ref = str(payload["ref"])
    commits = [
        Commit(
            id=c["id"],
            message=c["message"],
            url=c["url"],
            author=(c.get("author") or {}).get("username") or (c.get("author") or {}).get("name"),
            timestamp=c["timestamp"],
        )
        for c in payload.get("commits") or []
    ]
    body = PushEvent(
        repository=RepositoryRef(**_repository(payload)),
        ref=ref,
        branch=ref.removeprefix("refs/heads/") if ref.startswith("refs/heads/") else None,
        before=payload["before"],
        after=payload["after"],
        commits=commits,
        pusher=payload["pusher"]["name"],
        sender=Actor(**_sender(payload)),
    )
    head = payload.get("head_commit") or {}
    occurred = when(head.get("timestamp")) or when(payload["repository"].get("pushed_at"))
    return TriggerOutput(payload=body.model_dump(mode="json"), occurred_at=occurred)
