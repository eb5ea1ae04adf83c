"""Request and response bodies of the subscriptions and deliveries API (CONTRACT, docs/adr/0020)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from hub_webhooks.domain.subscription import SUBSCRIBABLE_EVENT_TYPES, Subscription

TRIGGER_ID = r"^[a-z][a-z0-9_]{0,63}$"


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CreateSubscription(_In):
    url: str = Field(min_length=8, max_length=2048, description="https (http only for allow-listed hosts)")
    event_types: list[str] = Field(
        default_factory=list, max_length=10, description=f"of {', '.join(SUBSCRIBABLE_EVENT_TYPES)}"
    )
    trigger_ids: list[str] = Field(default_factory=list, max_length=100)
    connection_ids: list[UUID] = Field(default_factory=list, max_length=1000)
    rate_limit: int | None = Field(default=None, ge=1, le=10000, description="pushes per second")
    max_concurrency: int = Field(default=4, ge=1, le=64, description="pushes in flight at once")


class PatchSubscription(_In):
    url: str | None = Field(default=None, min_length=8, max_length=2048)
    event_types: list[str] | None = Field(default=None, max_length=10)
    trigger_ids: list[str] | None = Field(default=None, max_length=100)
    connection_ids: list[UUID] | None = Field(default=None, max_length=1000)
    rate_limit: int | None = Field(default=None, ge=1, le=10000)
    max_concurrency: int | None = Field(default=None, ge=1, le=64)
    status: Literal["active", "disabled"] | None = None


class SubscriptionOut(BaseModel):
    id: UUID
    url: str
    event_types: list[str]
    trigger_ids: list[str]
    connection_ids: list[UUID]
    rate_limit: int | None
    max_concurrency: int
    status: str
    disabled_reason: str | None
    failing_since: datetime | None
    previous_secret_valid_until: datetime | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, s: Subscription) -> SubscriptionOut:
        return cls.model_validate(s.public())


class SubscriptionWithSecret(SubscriptionOut):
    secret: str = Field(description="whsec_...: shown once, keep it to verify pushes")


class SubscriptionList(BaseModel):
    subscriptions: list[SubscriptionOut]
    next_cursor: str | None = Field(description="pass as `cursor` for the next page; null on the last")


class ReplayRange(_In):
    subscription_id: UUID | None = None
    since: datetime
    until: datetime | None = None


class Redrive(_In):
    subscription_id: UUID | None = None
    since: datetime | None = None
    until: datetime | None = None


class Replayed(BaseModel):
    replayed: int


class DeliveryList(BaseModel):
    deliveries: list[dict[str, Any]]
    next_cursor: str | None
