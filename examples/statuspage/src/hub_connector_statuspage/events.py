"""What the triggers emit: webhook notifications normalised, and the polling cursor.

Statuspage webhook notifications carry no event-name header; the body says what changed:

    {"meta": {...}, "page": {"id", "status_indicator", "status_description"},
     "incident": {...}}                                       → incident created or updated
    {"meta": {...}, "page": {...},
     "component_update": {...}, "component": {...}}           → component status changed
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, NamedTuple

from pydantic import BaseModel

from hub_connector_statuspage.models import Incident

INCIDENT_EVENT = "incident.updated"
COMPONENT_EVENT = "component.updated"


def event_name(payload: Any) -> str | None:
    if not isinstance(payload, dict):
        return None
    if isinstance(payload.get("incident"), dict):
        return INCIDENT_EVENT
    if isinstance(payload.get("component_update"), dict):
        return COMPONENT_EVENT
    return None


class IncidentNotification(BaseModel):
    """Payload of ``incident_updated``."""

    page_id: str | None
    page_status: str | None  # the page's overall indicator after the change: none|minor|major|critical
    incident: Incident

    @classmethod
    def from_webhook(cls, payload: dict[str, Any]) -> IncidentNotification:
        page = payload.get("page") or {}
        return cls(
            page_id=page.get("id"),
            page_status=page.get("status_indicator"),
            incident=Incident.from_api(payload["incident"]),
        )


class ComponentStatusChange(BaseModel):
    """Payload of ``component_status_changed``."""

    page_id: str | None
    component_id: str
    component_name: str | None
    old_status: str | None
    new_status: str
    changed_at: str | None

    @classmethod
    def from_webhook(cls, payload: dict[str, Any]) -> ComponentStatusChange:
        update = payload["component_update"]
        component = payload.get("component") or {}
        return cls(
            page_id=(payload.get("page") or {}).get("id"),
            component_id=update.get("component_id") or component["id"],
            component_name=component.get("name"),
            old_status=update.get("old_status"),
            new_status=update.get("new_status") or component["status"],
            changed_at=update.get("created_at"),
        )


class IncidentCursor(NamedTuple):
    """Where polling got to: the newest incident seen, as ``<created_at UTC>|<id>``.

    Ordered by creation time, then id, so incidents created in the same instant are still told
    apart. A string because the hub stores cursors opaquely.
    """

    created_at: datetime
    incident_id: str

    @classmethod
    def of(cls, incident: dict[str, Any]) -> IncidentCursor:
        created = datetime.fromisoformat(str(incident["created_at"]))
        if created.tzinfo is None:
            created = created.replace(tzinfo=UTC)
        return cls(created.astimezone(UTC), str(incident["id"]))

    @classmethod
    def parse(cls, text: str) -> IncidentCursor:
        created, _, incident_id = text.partition("|")
        return cls(datetime.fromisoformat(created), incident_id)

    @classmethod
    def beginning(cls) -> IncidentCursor:
        """Before any incident: what a page with no incidents yet starts from."""
        return cls(datetime(1970, 1, 1, tzinfo=UTC), "")

    def __str__(self) -> str:
        return f"{self.created_at.isoformat()}|{self.incident_id}"


def parse_time(value: str) -> datetime:
    """A Statuspage timestamp (ISO 8601 with any offset) in UTC."""
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)


class ExportCursor(NamedTuple):
    """Where a content export is: ``<next API page>|<exporting updates after>|<newest seen>``."""

    page: int
    since: datetime | None
    newest: datetime | None

    @classmethod
    def parse(cls, cursor: str | None) -> ExportCursor:
        if not cursor:
            return cls(1, None, None)
        page, since, newest = [*cursor.split("|"), "", ""][:3]
        return cls(int(page), parse_time(since) if since else None, parse_time(newest) if newest else None)

    def __str__(self) -> str:
        return "|".join(
            [
                str(self.page),
                self.since.isoformat() if self.since else "",
                self.newest.isoformat() if self.newest else "",
            ]
        )
