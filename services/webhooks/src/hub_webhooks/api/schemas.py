"""Request and response bodies of the registrations API (CONTRACT)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from hub_webhooks.domain.registration import Mode, Registration, SecretSource
from hub_webhooks.services.app_secrets import AppSecretRef

TRIGGER_ID = r"^[a-z][a-z0-9_]{0,63}$"


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CreateRegistration(_In):
    connection_id: UUID
    trigger_ids: list[str] = Field(min_length=1, max_length=50)
    filter: dict[str, Any] | None = Field(
        default=None, description="on the trigger's normalised payload: {dotted.path: value | [values]}"
    )
    mode: Mode = Mode.AUTO


class PutSecret(_In):
    secret: SecretStr = Field(min_length=8, max_length=4096, description="the provider-issued signing secret")


class OAuthAppSecretOut(BaseModel):
    """Which OAuth app's client secret verifies the deliveries (never the secret itself)."""

    connector_id: str
    app: str = Field(description="tenant (the tenant's own app) or deployment (the hub's default app)")
    client_id: str
    rotated_at: datetime = Field(description="when the hub last saw the app's client secret change")
    previous_valid_until: datetime | None = Field(
        description="after a change, the previous client secret still verifies until then"
    )

    @classmethod
    def of(cls, ref: AppSecretRef | None) -> OAuthAppSecretOut | None:
        if ref is None:
            return None
        return cls(
            connector_id=ref.connector_id,
            app=ref.app,
            client_id=ref.client_id,
            rotated_at=ref.rotated_at,
            previous_valid_until=ref.previous_valid_until,
        )


class RegistrationOut(BaseModel):
    id: UUID
    connection_id: UUID
    connector_id: str
    url: str
    mode: Mode
    status: str
    events: list[str]
    trigger_ids: list[str]
    filter: dict[str, Any] | None
    external_id: str | None
    expires_at: datetime | None
    rotation_overlap_until: datetime | None
    secret_source: SecretSource = Field(
        description="registration: its own secret; oauth_app: the connection's OAuth app client secret"
    )
    oauth_app: OAuthAppSecretOut | None = Field(
        default=None, description="for secret_source oauth_app (on create and single reads)"
    )
    received_count: int
    last_received_at: datetime | None
    last_error: str | None
    last_error_at: datetime | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, r: Registration, url: str, app_secret: AppSecretRef | None = None) -> RegistrationOut:
        return cls(
            id=r.id,
            connection_id=r.connection_id,
            connector_id=r.connector_id,
            url=url,
            mode=r.mode,
            status=str(r.status),
            events=r.events,
            trigger_ids=r.trigger_ids,
            filter=r.filter,
            external_id=r.external_id,
            expires_at=r.expires_at,
            rotation_overlap_until=r.previous_valid_until,
            secret_source=r.secret_source,
            oauth_app=OAuthAppSecretOut.of(app_secret),
            received_count=r.received_count,
            last_received_at=r.last_received_at,
            last_error=r.last_error,
            last_error_at=r.last_error_at,
            created_at=r.created_at,
            updated_at=r.updated_at,
        )


class CreatedOut(RegistrationOut):
    secret: str | None = Field(default=None, description="manual mode: the signing secret, shown this once")
    steps: list[str] | None = Field(default=None, description="manual mode: what to do at the provider")


class RegistrationList(BaseModel):
    registrations: list[RegistrationOut]
    next_cursor: str | None = Field(description="pass as `cursor` for the next page; null on the last")


class GapFillOut(BaseModel):
    listed: int = Field(description="deliveries the provider listed within the look-back window")
    missing: int = Field(description="delivery ids that never reached the hub")
    requested: int = Field(description="redeliveries asked for")
