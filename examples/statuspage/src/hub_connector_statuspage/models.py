"""Parameters and outputs of the Statuspage actions.

Parameter models are strict (``extra="forbid"``): their JSON Schemas are what the hub shows in
the UI and validates against before an action runs. Output models are lenient about values the
provider may add later (statuses are plain strings there).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

IncidentStatus = Literal["investigating", "identified", "monitoring", "resolved"]
IncidentImpact = Literal["none", "minor", "major", "critical"]
ComponentStatus = Literal[
    "operational", "under_maintenance", "degraded_performance", "partial_outage", "major_outage"
]
# Statuspage ids are short lowercase alphanumerics; refusing anything else keeps input out of paths.
STATUSPAGE_ID = r"^[a-zA-Z0-9]{1,64}$"


class _Params(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CreateIncident(_Params):
    name: str = Field(min_length=1, max_length=255, description="Incident title shown on the page")
    status: IncidentStatus = "investigating"
    body: str | None = Field(default=None, max_length=25_000, description="Message of the first update")
    impact_override: IncidentImpact | None = Field(
        default=None, description="Impact to show instead of the one Statuspage computes"
    )
    components: dict[str, ComponentStatus] = Field(
        default_factory=dict, description="Affected components: component id → status to set"
    )
    deliver_notifications: bool = Field(default=True, description="Notify the page's subscribers")

    def to_api(self) -> dict[str, Any]:
        incident: dict[str, Any] = {
            "name": self.name,
            "status": self.status,
            "deliver_notifications": self.deliver_notifications,
        }
        if self.body is not None:
            incident["body"] = self.body
        if self.impact_override is not None:
            incident["impact_override"] = self.impact_override
        if self.components:
            incident["component_ids"] = list(self.components)
            incident["components"] = dict(self.components)
        return {"incident": incident}


class UpdateIncident(_Params):
    incident_id: str = Field(pattern=STATUSPAGE_ID)
    name: str | None = Field(default=None, min_length=1, max_length=255)
    status: IncidentStatus | None = None
    body: str | None = Field(default=None, max_length=25_000, description="Message of a new update")
    impact_override: IncidentImpact | None = None
    components: dict[str, ComponentStatus] = Field(default_factory=dict)
    deliver_notifications: bool = True

    @model_validator(mode="after")
    def _changes_something(self) -> UpdateIncident:
        if not (self.name or self.status or self.body or self.impact_override or self.components):
            raise ValueError("give at least one of name, status, body, impact_override, components")
        return self

    def to_api(self) -> dict[str, Any]:
        incident: dict[str, Any] = {"deliver_notifications": self.deliver_notifications}
        for key in ("name", "status", "body", "impact_override"):
            value = getattr(self, key)
            if value is not None:
                incident[key] = value
        if self.components:
            incident["component_ids"] = list(self.components)
            incident["components"] = dict(self.components)
        return {"incident": incident}


class ListIncidents(_Params):
    query: str | None = Field(default=None, max_length=200, description="Search names, statuses and updates")
    limit: int = Field(default=25, ge=1, le=100)
    page: int = Field(default=1, ge=1)


class UpdateComponentStatus(_Params):
    component_id: str = Field(pattern=STATUSPAGE_ID)
    status: ComponentStatus


# -- outputs -------------------------------------------------------------------------------------
class AffectedComponent(BaseModel):
    id: str
    name: str
    status: str


class IncidentUpdate(BaseModel):
    id: str
    status: str
    body: str | None = None
    created_at: str | None = None


class Incident(BaseModel):
    id: str
    name: str
    status: str
    impact: str | None = None
    shortlink: str | None = None
    page_id: str | None = None
    created_at: str
    updated_at: str | None = None
    resolved_at: str | None = None
    components: list[AffectedComponent] = Field(default_factory=list)
    latest_update: IncidentUpdate | None = None

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> Incident:
        updates = data.get("incident_updates") or []  # newest first, as Statuspage lists them
        return cls(
            id=data["id"],
            name=data["name"],
            status=data["status"],
            impact=data.get("impact"),
            shortlink=data.get("shortlink"),
            page_id=data.get("page_id"),
            created_at=data["created_at"],
            updated_at=data.get("updated_at"),
            resolved_at=data.get("resolved_at"),
            components=[
                AffectedComponent(id=c["id"], name=c["name"], status=c["status"])
                for c in data.get("components") or []
            ],
            latest_update=IncidentUpdate.model_validate(updates[0]) if updates else None,
        )


class IncidentList(BaseModel):
    incidents: list[Incident]
    page: int
    has_more: bool = Field(description="a full page came back: ask for the next one")


class Component(BaseModel):
    id: str
    name: str
    status: str
    updated_at: str | None = None
