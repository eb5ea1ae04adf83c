"""Request and response bodies. No response ever carries a secret."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, field_validator

from hub_oauth.domain.apps import check_redirect_uri
from hub_oauth.domain.authorize import is_reserved

_ScopeItem = Annotated[str, Field(min_length=1, max_length=256)]
_Scope = Field(default=None, max_length=100)
# Bounds on what a request may make us parse and hold; the connector's field check
# (hub_common.connection_credentials) applies its own, tighter ones afterwards.
_ParameterName = Annotated[str, Field(min_length=1, max_length=128)]
_ParameterValue = Annotated[str, Field(max_length=1024)]
_FieldName = Annotated[str, Field(min_length=1, max_length=64)]  # manifest field keys: ≤ 63
_FieldValue = Annotated[str, Field(max_length=64 * 1024)]  # the vault's cap per value


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AppIn(Body):
    client_id: str = Field(min_length=1, max_length=512)
    client_secret: str | None = Field(default=None, min_length=1, max_length=4096)
    redirect_uri: str | None = Field(default=None, max_length=2048)
    scopes: list[_ScopeItem] | None = _Scope

    @field_validator("redirect_uri")
    @classmethod
    def _redirect_uri(cls, value: str | None) -> str | None:
        if value is not None:
            check_redirect_uri(value)
        return value


class AppOut(BaseModel):
    connector_id: str
    client_id: str
    redirect_uri: str | None
    scopes: list[str]
    has_client_secret: bool


class FlowIn(Body):
    connection_id: UUID
    # When the connectors service starts a flow for a user of its UI or an end user's connect
    # session (docs/adr/0029), it names them; a user's own call ignores both.
    tenant_id: str | None = Field(default=None, min_length=1, max_length=128)
    user_id: str | None = Field(default=None, min_length=1, max_length=256)
    scopes: list[_ScopeItem] | None = _Scope
    additional_parameters: dict[_ParameterName, _ParameterValue] | None = Field(default=None, max_length=20)
    return_to: str | None = Field(default=None, max_length=2048)

    @field_validator("additional_parameters")
    @classmethod
    def _not_reserved(cls, value: dict[str, str] | None) -> dict[str, str] | None:
        taken = sorted(k for k in value or {} if is_reserved(k))
        if taken:
            raise ValueError(f"{', '.join(taken)}: set by the hub, not by additional_parameters")
        return value


class FlowOut(BaseModel):
    flow_id: UUID
    # Open this in the user's browser (a top-level navigation): it binds the flow to that
    # browser and sends it to the provider. Works once, until start_expires_at.
    start_url: str
    start_expires_at: datetime
    # The provider's URL itself, for API clients that complete with /exchange; a browser sent
    # here directly (not through start_url) is refused at the callback.
    authorization_url: str
    expires_at: datetime


class ExchangeIn(Body):
    code: str = Field(min_length=1, max_length=4096)
    # The authorization response's iss (RFC 9207), as the callback would have received it:
    # required when the provider's metadata promises one.
    iss: str | None = Field(default=None, min_length=1, max_length=2048)


class ConnectedOut(BaseModel):
    flow_id: UUID
    connection_id: UUID
    connector_id: str
    status: str = "active"
    external_account_id: str
    scopes: list[str]


class ServiceScoped(Body):
    tenant_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=128,
        description="required when a service calls; ignored for users",
    )


class RefreshIn(ServiceScoped):
    stale_token_sha256: str | None = Field(default=None, pattern=r"^[0-9a-fA-F]{64}$")
    force: bool = False


class RefreshOut(BaseModel):
    connection_id: UUID
    # True when the stored token comes from a refresh that completed after this request began.
    refreshed: bool
    expires_at: datetime | None
    generation: int
    # refreshed: this request made the provider call; coalesced: it got a refresh that
    # completed after it began; not_needed: the stored token was fresh enough (plain requests).
    outcome: Literal["refreshed", "coalesced", "not_needed"]
    performed: bool  # outcome == "refreshed"
    refreshed_at: datetime | None  # when the refresh behind the stored token completed


class RevokeOut(BaseModel):
    connection_id: UUID
    provider_revoked: bool
    provider_error: str | None
    deleted_keys: list[str]


class TokenInfoOut(BaseModel):
    connection_id: UUID
    connector_id: str
    status: str
    token_type: str
    grant_type: str
    expires_at: datetime | None
    has_refresh_token: bool
    granted_scopes: list[str]
    external_account_id: str | None
    last_refreshed_at: datetime | None
    metadata: dict[str, Any]
    generation: int  # increases with every stored token set (connect, refresh)


class CredentialsIn(Body):
    credentials: dict[_FieldName, _FieldValue | None] = Field(max_length=20)


class WebhookSecretIn(Body):
    tenant_id: str = Field(min_length=1, max_length=128)


class WebhookSecretOut(BaseModel):
    """Where the secret that verifies a connection's webhooks is in the vault — never the value."""

    connection_id: UUID
    connector_id: str
    owner_id: UUID = Field(description="the vault connection id the copies are stored under")
    keys: list[str] = Field(description="current copy first; the previous one during the overlap")
    app: Literal["tenant", "deployment"]
    client_id: str
    rotated_at: datetime
    previous_valid_until: datetime | None
