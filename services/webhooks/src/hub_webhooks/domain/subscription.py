"""A subscriber endpoint and which events it wants (docs/adr/0020)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

# What a subscription may ask for: the topics the fan-out consumer reads.
SUBSCRIBABLE_EVENT_TYPES = (
    "integration.trigger-fired",
    "integration.connected",
    "integration.disconnected",
    "integration.status-changed",
)
DEFAULT_EVENT_TYPES = ("integration.trigger-fired",)
# The vault key of a subscription's current secret; a rotation adds ``.r<n>``.
SECRET_KEY = "webhook_secret.sub"


@dataclass(frozen=True)
class Subscription:
    id: UUID
    tenant_id: str
    user_id: str
    url: str
    event_types: tuple[str, ...]
    trigger_ids: tuple[str, ...]
    connection_ids: tuple[UUID, ...]
    rate_limit: int | None
    max_concurrency: int
    status: str
    disabled_reason: str | None
    secret_key: str
    previous_secret_key: str | None
    previous_valid_until: datetime | None
    failing_since: datetime | None
    created_at: datetime
    updated_at: datetime

    def wants(self, event_type: str, trigger_id: str | None, connection_id: UUID | None) -> bool:
        if self.status != "active":
            return False
        if event_type not in (self.event_types or DEFAULT_EVENT_TYPES):
            return False
        if self.trigger_ids and trigger_id not in self.trigger_ids:
            return False
        return not self.connection_ids or connection_id in self.connection_ids

    def signing_keys(self, now: datetime) -> list[str]:
        """The current secret, and the previous one while its rotation overlap lasts."""
        keys = [self.secret_key]
        if self.previous_secret_key and self.previous_valid_until and self.previous_valid_until > now:
            keys.append(self.previous_secret_key)
        return keys

    def public(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "url": self.url,
            "event_types": list(self.event_types or DEFAULT_EVENT_TYPES),
            "trigger_ids": list(self.trigger_ids),
            "connection_ids": [str(c) for c in self.connection_ids],
            "rate_limit": self.rate_limit,
            "max_concurrency": self.max_concurrency,
            "status": self.status,
            "disabled_reason": self.disabled_reason,
            "failing_since": self.failing_since,
            "previous_secret_valid_until": self.previous_valid_until,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        }
