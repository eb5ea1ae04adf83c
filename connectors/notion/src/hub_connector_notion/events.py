"""Trigger payloads: Notion webhook events normalised, with the event's own id and time.

Notion's events are thin (developers.notion.com, "Event types & delivery"): they name the page
or comment that changed, not its content, and may arrive aggregated and out of order. Each
event carries ``id`` (stable across Notion's retries: the dedupe id) and ``timestamp`` (when it
happened: ``occurred_at``). The parser keeps what the event says; the connector's
``refetch_trigger_events`` then adds the page as it is now, fetched through the gateway.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from hub_connector_notion.models import Page
from hub_connector_sdk import TriggerOutput

PAGE_EVENTS = ("page.created", "page.content_updated", "page.properties_updated")
COMMENT_EVENTS = ("comment.created",)


class Author(BaseModel):
    id: str
    type: str


class EventParent(BaseModel):
    type: str
    id: str | None


class _Event(BaseModel):
    event_type: str = Field(description="Notion's event type, e.g. page.content_updated")
    workspace_id: str
    workspace_name: str | None
    authors: list[Author]
    page_id: str
    page: Page | None = Field(
        default=None, description="the page as it is now, re-fetched through the gateway"
    )
    page_unavailable: str | None = Field(
        default=None, description="why the page could not be re-fetched (deleted, access removed)"
    )


class PageEvent(_Event):
    parent: EventParent | None
    updated_properties: list[str] = Field(default_factory=list, description="property ids changed")
    updated_blocks: list[str] = Field(default_factory=list, description="block ids changed")


class CommentEvent(_Event):
    comment_id: str


def when(value: Any) -> datetime | None:
    """Notion's ISO 8601 timestamps (``2024-12-05T23:55:34.285Z``)."""
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _common(payload: dict[str, Any]) -> dict[str, Any]:
    return {
        "event_type": payload["type"],
        "workspace_id": payload["workspace_id"],
        "workspace_name": payload.get("workspace_name"),
        "authors": [
            Author(id=str(a["id"]), type=str(a.get("type", "person")))
            for a in payload.get("authors") or []
            if isinstance(a, dict) and "id" in a
        ],
    }


def _output(payload: dict[str, Any], body: BaseModel) -> TriggerOutput:
    return TriggerOutput(
        payload=body.model_dump(mode="json"),
        event_id=str(payload["id"]),
        occurred_at=when(payload.get("timestamp")),
    )


def page_event(payload: dict[str, Any]) -> TriggerOutput:
    data = payload.get("data") or {}
    parent = data.get("parent")
    body = PageEvent(
        **_common(payload),
        page_id=payload["entity"]["id"],
        parent=EventParent(type=str(parent.get("type")), id=parent.get("id"))
        if isinstance(parent, dict)
        else None,
        updated_properties=[str(p) for p in data.get("updated_properties") or []],
        updated_blocks=[
            str(b["id"]) for b in data.get("updated_blocks") or [] if isinstance(b, dict) and "id" in b
        ],
    )
    return _output(payload, body)


def comment_event(payload: dict[str, Any]) -> TriggerOutput:
    data = payload.get("data") or {}
    body = CommentEvent(
        **_common(payload),
        comment_id=payload["entity"]["id"],
        page_id=data["page_id"],
    )
    return _output(payload, body)
