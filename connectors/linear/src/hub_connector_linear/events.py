"""Trigger payloads: Linear webhook deliveries normalised, with the event's own time.

Linear posts ``{"action": "create"|"update"|"remove", "type": "Issue"|"Comment"|..., "data": {...},
"updatedFrom": {...previous values of what changed...}, "actor", "createdAt", "url",
"organizationId", "webhookTimestamp", "webhookId"}`` (its "Webhooks" documentation). The delivery id
(``Linear-Delivery``) becomes the event id through the ``linear`` signature preset; the time is
the payload's ``createdAt`` (when the action happened), else the entity's own timestamps.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from hub_connector_sdk import TriggerOutput


class Actor(BaseModel):
    id: str | None
    name: str | None
    type: str | None = Field(description="user, oauthClient, integration...")


class IssueData(BaseModel):
    id: str
    identifier: str | None
    number: int | None
    title: str | None
    description: str | None
    url: str | None
    priority: int | None
    state_id: str | None
    state_name: str | None
    state_type: str | None
    team_id: str | None
    team_key: str | None
    assignee_id: str | None
    label_ids: list[str]
    created_at: str | None
    updated_at: str | None


class IssueEvent(BaseModel):
    action: str
    issue: IssueData
    changed: list[str] = Field(description="fields whose previous values updatedFrom carries")
    actor: Actor | None
    organization_id: str | None
    url: str | None


class StatusChange(BaseModel):
    from_state_id: str | None
    to_state_id: str | None
    to_state_name: str | None
    to_state_type: str | None


class StatusChangedEvent(IssueEvent):
    status: StatusChange


class CommentData(BaseModel):
    id: str
    body: str
    issue_id: str | None
    issue_identifier: str | None
    issue_title: str | None
    user_id: str | None
    user_name: str | None
    created_at: str | None


class CommentEvent(BaseModel):
    action: str
    comment: CommentData
    actor: Actor | None
    organization_id: str | None
    url: str | None


def when(value: Any) -> datetime | None:
    """Linear's times are ISO 8601 (``2024-05-01T12:00:00.000Z``)."""
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _actor(payload: dict[str, Any]) -> Actor | None:
    actor = payload.get("actor")
    if not isinstance(actor, dict):
        return None
    return Actor(id=actor.get("id"), name=actor.get("name"), type=actor.get("type"))


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _int(value: Any) -> int | None:
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def issue_data(data: dict[str, Any]) -> IssueData:
    state = _object(data.get("state"))
    team = _object(data.get("team"))
    return IssueData(
        id=str(data["id"]),
        identifier=data.get("identifier") or _identifier(team, data),
        number=_int(data.get("number")),
        title=data.get("title"),
        description=data.get("description"),
        url=data.get("url"),
        priority=_int(data.get("priority")),
        state_id=data.get("stateId") or state.get("id"),
        state_name=state.get("name"),
        state_type=state.get("type"),
        team_id=data.get("teamId") or team.get("id"),
        team_key=team.get("key"),
        assignee_id=data.get("assigneeId"),
        label_ids=[str(x) for x in data.get("labelIds") or []],
        created_at=data.get("createdAt"),
        updated_at=data.get("updatedAt"),
    )


def _identifier(team: dict[str, Any], data: dict[str, Any]) -> str | None:
    """Issue payloads carry ``team.key`` and ``number`` even where ``identifier`` is left out."""
    if team.get("key") and _int(data.get("number")) is not None:
        return f"{team['key']}-{_int(data['number'])}"
    return None


def _changed(payload: dict[str, Any]) -> list[str]:
    before = payload.get("updatedFrom")
    return sorted(k for k in before if k != "updatedAt") if isinstance(before, dict) else []


def _issue_event(payload: dict[str, Any]) -> dict[str, Any]:
    return {
        "action": payload["action"],
        "issue": issue_data(payload["data"]),
        "changed": _changed(payload),
        "actor": _actor(payload),
        "organization_id": payload.get("organizationId"),
        "url": payload.get("url"),
    }


def _occurred(payload: dict[str, Any], *fallbacks: Any) -> datetime | None:
    for value in (payload.get("createdAt"), *fallbacks):
        moment = when(value)
        if moment is not None:
            return moment
    return None


def issue_event(payload: dict[str, Any]) -> TriggerOutput:
    data = payload["data"]
    body = IssueEvent(**_issue_event(payload))
    stamp = data.get("createdAt") if payload["action"] == "create" else data.get("updatedAt")
    return TriggerOutput(payload=body.model_dump(mode="json"), occurred_at=_occurred(payload, stamp))


def status_changed(payload: dict[str, Any]) -> TriggerOutput | None:
    """Only an update whose ``updatedFrom`` names the previous ``stateId`` is a status change."""
    before = payload.get("updatedFrom")
    if not isinstance(before, dict) or "stateId" not in before:
        return None
    fields = _issue_event(payload)
    issue: IssueData = fields["issue"]
    status = StatusChange(
        from_state_id=before.get("stateId"),
        to_state_id=issue.state_id,
        to_state_name=issue.state_name,
        to_state_type=issue.state_type,
    )
    body = StatusChangedEvent(**fields, status=status)
    return TriggerOutput(
        payload=body.model_dump(mode="json"), occurred_at=_occurred(payload, payload["data"].get("updatedAt"))
    )


def comment_event(payload: dict[str, Any]) -> TriggerOutput:
    data = payload["data"]
    issue = _object(data.get("issue"))
    user = _object(data.get("user"))
    comment = CommentData(
        id=str(data["id"]),
        body=str(data.get("body") or ""),
        issue_id=data.get("issueId") or issue.get("id"),
        issue_identifier=issue.get("identifier"),
        issue_title=issue.get("title"),
        user_id=data.get("userId") or user.get("id"),
        user_name=user.get("name"),
        created_at=data.get("createdAt"),
    )
    body = CommentEvent(
        action=payload["action"],
        comment=comment,
        actor=_actor(payload),
        organization_id=payload.get("organizationId"),
        url=payload.get("url"),
    )
    return TriggerOutput(
        payload=body.model_dump(mode="json"), occurred_at=_occurred(payload, data.get("createdAt"))
    )
