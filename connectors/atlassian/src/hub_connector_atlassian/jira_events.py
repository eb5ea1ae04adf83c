"""Jira webhook payloads (``webhookEvent``) → the Jira connectors' normalised trigger payloads.

Jira posts ``{"timestamp": <epoch ms>, "webhookEvent": "jira:issue_updated", "user", "issue",
"changelog": {"items": [{"field", "from", "fromString", "to", "toString"}]}}`` (issue events)
and ``{"timestamp", "webhookEvent": "comment_created", "comment", "issue"}``. The event time is
``timestamp``; the delivery id is the ``X-Atlassian-Webhook-Identifier`` header (stable across
Jira's retries). Rich text may arrive as ADF or, from older endpoints, as a string: both
become plain text.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, Field

from hub_connector_atlassian.jira_models import Comment, Issue
from hub_connector_sdk import TriggerOutput


class Actor(BaseModel):
    account_id: str | None
    name: str | None


class Change(BaseModel):
    field: str
    from_value: str | None = Field(alias="from", serialization_alias="from")
    from_string: str | None
    to_value: str | None = Field(alias="to", serialization_alias="to")
    to_string: str | None

    model_config = {"populate_by_name": True}


class IssueEvent(BaseModel):
    webhook_event: str
    issue: Issue
    user: Actor | None
    changes: list[Change] = Field(description="the changelog items (updates only)")


class StatusChangedEvent(IssueEvent):
    from_status: str | None
    to_status: str | None


class AssignedEvent(IssueEvent):
    from_assignee_account_id: str | None
    to_assignee_account_id: str | None
    to_assignee: str | None


class CommentEvent(BaseModel):
    webhook_event: str
    issue: Issue
    comment: Comment


def occurred_at(payload: dict[str, Any]) -> datetime | None:
    stamp = payload.get("timestamp")
    if isinstance(stamp, int | float) and not isinstance(stamp, bool):
        return datetime.fromtimestamp(stamp / 1000, UTC)
    return None


def _actor(payload: dict[str, Any]) -> Actor | None:
    user = payload.get("user")
    if not isinstance(user, dict):
        return None
    return Actor(account_id=user.get("accountId"), name=user.get("displayName"))


def changes_of(payload: dict[str, Any]) -> list[Change]:
    items = (payload.get("changelog") or {}).get("items") or []
    return [
        Change(
            field=str(item.get("fieldId") or item.get("field") or ""),
            from_value=item.get("from"),
            from_string=item.get("fromString"),
            to_value=item.get("to"),
            to_string=item.get("toString"),
        )
        for item in items
        if isinstance(item, dict)
    ]


def change(payload: dict[str, Any], field: str) -> Change | None:
    return next((c for c in changes_of(payload) if c.field == field), None)


def issue_event(payload: dict[str, Any]) -> TriggerOutput:
    body = IssueEvent(
        webhook_event=payload["webhookEvent"],
        issue=Issue.from_api(payload["issue"]),
        user=_actor(payload),
        changes=changes_of(payload),
    )
    return TriggerOutput(
        payload=body.model_dump(mode="json", by_alias=True), occurred_at=occurred_at(payload)
    )


def status_changed(payload: dict[str, Any]) -> TriggerOutput | None:
    moved = change(payload, "status")
    if moved is None:
        return None
    body = StatusChangedEvent(
        webhook_event=payload["webhookEvent"],
        issue=Issue.from_api(payload["issue"]),
        user=_actor(payload),
        changes=changes_of(payload),
        from_status=moved.from_string,
        to_status=moved.to_string,
    )
    return TriggerOutput(
        payload=body.model_dump(mode="json", by_alias=True), occurred_at=occurred_at(payload)
    )


def assigned(payload: dict[str, Any]) -> TriggerOutput | None:
    moved = change(payload, "assignee")
    if moved is None:
        return None
    body = AssignedEvent(
        webhook_event=payload["webhookEvent"],
        issue=Issue.from_api(payload["issue"]),
        user=_actor(payload),
        changes=changes_of(payload),
        from_assignee_account_id=moved.from_value,
        to_assignee_account_id=moved.to_value,
        to_assignee=moved.to_string,
    )
    return TriggerOutput(
        payload=body.model_dump(mode="json", by_alias=True), occurred_at=occurred_at(payload)
    )


def comment_event(payload: dict[str, Any]) -> TriggerOutput:
    comment = payload["comment"]
    body = CommentEvent(
        webhook_event=payload["webhookEvent"],
        issue=Issue.from_api(payload["issue"]),
        comment=Comment.from_api(comment),
    )
    when = occurred_at(payload)
    if when is None and isinstance(comment.get("created"), str):
        when = jira_time(comment["created"])
    return TriggerOutput(payload=body.model_dump(mode="json", by_alias=True), occurred_at=when)


def jira_time(value: str) -> datetime | None:
    """Jira's ``2024-05-01T12:00:00.000+0000`` (offset without a colon) → datetime."""
    text = value.strip()
    if len(text) > 5 and text[-5] in "+-" and text[-3] != ":":
        text = text[:-2] + ":" + text[-2:]
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
