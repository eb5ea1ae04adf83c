"""A connection's webhook registration as the webhooks service reports it
(``/v1/webhooks/registrations``, services/webhooks/README.md), for the UI and for automations
whose trigger needs one."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID


def _time(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) and value else None


@dataclass(frozen=True)
class WebhookRegistration:
    id: UUID
    connection_id: UUID
    mode: str  # auto | manual
    status: str  # active | pending_secret
    url: str
    trigger_ids: tuple[str, ...]
    events: tuple[str, ...] = ()
    filter: dict[str, Any] | None = None
    received_count: int = 0
    last_received_at: datetime | None = None
    last_error: str | None = None
    last_error_at: datetime | None = None
    created_at: datetime | None = None
    # Only in the answer that made a manual registration: shown to the user once, never logged.
    secret: str | None = field(default=None, repr=False)
    steps: tuple[str, ...] = ()

    def covers(self, trigger_id: str) -> bool:
        """Every event of ``trigger_id`` reaches the hub through it (a filtered one may drop some)."""
        return self.status != "deleted" and trigger_id in self.trigger_ids and not self.filter

    @classmethod
    def from_api(cls, body: Mapping[str, Any]) -> WebhookRegistration:
        steps = body.get("steps") or []
        return cls(
            id=UUID(str(body["id"])),
            connection_id=UUID(str(body["connection_id"])),
            mode=str(body.get("mode", "")),
            status=str(body.get("status", "")),
            url=str(body.get("url", "")),
            trigger_ids=tuple(body.get("trigger_ids") or ()),
            events=tuple(body.get("events") or ()),
            filter=body.get("filter") or None,
            received_count=int(body.get("received_count") or 0),
            last_received_at=_time(body.get("last_received_at")),
            last_error=body.get("last_error"),
            last_error_at=_time(body.get("last_error_at")),
            created_at=_time(body.get("created_at")),
            secret=body.get("secret"),
            # The webhooks service names its secret route with a placeholder; fill in the id.
            steps=tuple(str(s).replace("{id}", str(body["id"])) for s in steps),
        )
