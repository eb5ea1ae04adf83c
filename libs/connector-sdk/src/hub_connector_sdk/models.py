"""The connector contract (docs/connector-sdk.md): manifest, actions, triggers, auth, results.

Everything here is data: a manifest is JSON-serialisable and is what ``GET /v1/connectors``
returns. Client ids and secrets are never part of a manifest (they are per-tenant OAuth app
settings held by the oauth service and the vault).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from hub_connector_sdk.webhook_signatures import (
    HmacSignature,
    JwtSignature,
    TokenSignature,
    WebhookSignature,
    webhook_signature,
)

ID_PATTERN = r"^[a-z][a-z0-9_]{1,62}$"
SEMVER = re.compile(
    r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?"
    r"(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$"
)
HOST_PATTERN = r"^(\*\.)?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*(:\d{1,5})?$"


def utcnow() -> datetime:
    return datetime.now(UTC)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, use_enum_values=False)


class ConnectorCategory(StrEnum):
    COMMUNICATION = "communication"
    PROJECT_MANAGEMENT = "project_management"
    DOCUMENTATION = "documentation"
    SOURCE_CONTROL = "source_control"
    AI = "ai"
    CRM = "crm"
    ANALYTICS = "analytics"
    DATABASE = "database"
    WEBHOOKS = "webhooks"
    MONITORING = "monitoring"
    CUSTOM = "custom"


class AuthenticationMethod(StrEnum):
    NONE = "none"
    API_KEY = "api_key"
    BASIC = "basic"
    BEARER = "bearer"
    OAUTH2 = "oauth2"
    CUSTOM = "custom"


# What a hub can host: the gateway must know how to inject the credential (``custom`` it cannot).
HOSTED_AUTH_METHODS = frozenset(
    {
        AuthenticationMethod.NONE,
        AuthenticationMethod.API_KEY,
        AuthenticationMethod.BASIC,
        AuthenticationMethod.BEARER,
        AuthenticationMethod.OAUTH2,
    }
)


class TriggerType(StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    DELETED = "deleted"
    STATUS_CHANGED = "status_changed"
    COMMENTED = "commented"
    ASSIGNED = "assigned"
    CUSTOM = "custom"


class OAuthConfig(_Model):
    """How to run the provider's OAuth 2.0 flow (endpoints overridable per connection)."""

    # Both may be omitted when ``issuer`` is set: RFC 8414 discovery supplies them.
    authorization_url: str | None = None
    token_url: str | None = None
    revocation_url: str | None = None
    revocation_style: Literal["rfc7009", "github", "slack", "none"] = "rfc7009"
    issuer: str | None = Field(default=None, description="RFC 8414 issuer: endpoints are discovered")
    default_scopes: list[str] = Field(default_factory=list)
    scope_separator: str = " "
    use_pkce: bool = True
    client_auth: Literal["client_secret_basic", "client_secret_post"] = "client_secret_post"
    token_request_format: Literal["form", "json"] = "form"
    extra_authorize_params: dict[str, str] = Field(default_factory=dict)
    refresh: Literal["rotating", "static", "none"] = "rotating"
    requires_iss: bool = False
    grant_type: Literal["authorization_code", "client_credentials"] = "authorization_code"
    profile: Literal["generic", "github", "gitlab", "atlassian", "slack", "notion", "linear"] = Field(
        default="generic",
        description="provider quirks of the token exchange (answer formats, where tokens and ids sit)",
    )
    identity_url: str | None = Field(
        default=None,
        description="GET with the new access token to learn the external account",
    )
    identity_id_field: str = Field(default="id", description="dotted path of the account id in that answer")
    identity_name_field: str | None = Field(default=None, description="dotted path of a display name")

    @model_validator(mode="after")
    def _endpoints_or_issuer(self) -> OAuthConfig:
        if self.issuer:
            return self
        needed = (
            ["token_url"] if self.grant_type == "client_credentials" else ["authorization_url", "token_url"]
        )
        missing = [name for name in needed if not getattr(self, name)]
        if missing:
            raise ValueError(
                f"oauth needs {' and '.join(missing)}, or an issuer whose RFC 8414 metadata gives them"
            )
        return self


class ApiKeyPlacement(_Model):
    """Where an API key goes on each provider request."""

    location: Literal["header", "query"] = "header"
    name: str = "Authorization"
    prefix: str = "Bearer "


class CredentialField(_Model):
    """One field a user types in to connect without OAuth (validated, then stored in the vault)."""

    key: str = Field(pattern=r"^[a-z][a-z0-9_]{0,62}$")
    label: str
    secret: bool = True
    required: bool = True
    pattern: str | None = None
    description: str | None = None


class AuthSpec(_Model):
    method: AuthenticationMethod
    oauth: OAuthConfig | None = None
    api_key: ApiKeyPlacement | None = None
    fields: list[CredentialField] = Field(default_factory=list)

    @model_validator(mode="after")
    def _consistent(self) -> AuthSpec:
        if self.method is AuthenticationMethod.OAUTH2 and self.oauth is None:
            raise ValueError("auth.method oauth2 needs auth.oauth")
        if self.method is AuthenticationMethod.API_KEY and self.api_key is None:
            raise ValueError("auth.method api_key needs auth.api_key (where the key goes)")
        return self


class ApiSpec(_Model):
    """The provider API the connector talks to, through the gateway."""

    base_url: str = Field(description="default base URL; connections may override it")
    allowed_hosts: list[str] = Field(
        default_factory=list, description="hosts calls may reach (base URL overrides included)"
    )
    default_headers: dict[str, str] = Field(default_factory=dict)
    base_url_template: str | None = Field(
        default=None,
        description="e.g. https://api.atlassian.com/ex/jira/{cloud_id}; filled from config",
    )
    config_schema: dict[str, Any] = Field(
        default_factory=lambda: {"type": "object", "properties": {}, "additionalProperties": False},
        description="JSON Schema of the non-secret per-connection config (e.g. base_url, cloud_id)",
    )
    config_headers: dict[str, str] = Field(
        default_factory=dict,
        description="config key -> request header: a connection's non-secret config value sent on "
        "every call (OpenAI's OpenAI-Organization / OpenAI-Project)",
    )
    usage_format: Literal["openai", "anthropic"] | None = Field(
        default=None,
        description="where the provider reports token usage in its answers (JSON and server-sent "
        "events); the gateway meters it per connection and tenant",
    )

    @field_validator("allowed_hosts")
    @classmethod
    def _hosts(cls, hosts: list[str]) -> list[str]:
        for host in hosts:
            if not re.match(HOST_PATTERN, host):
                raise ValueError(f"allowed host {host!r} is not a host name")
        return hosts


class ConnectorAction(_Model):
    id: str = Field(pattern=ID_PATTERN)
    name: str
    description: str
    parameters_schema: dict[str, Any]
    output_schema: dict[str, Any] | None = None
    required_scopes: list[str] = Field(default_factory=list)
    idempotent: bool = False


class ConnectorTrigger(_Model):
    id: str = Field(pattern=ID_PATTERN)
    name: str
    type: TriggerType
    description: str
    delivery: Literal["webhook", "polling"] = "webhook"
    provider_events: list[str] = Field(default_factory=list)
    payload_schema: dict[str, Any] | None = None
    poll_interval_s: int | None = Field(default=None, ge=10)

    @property
    def is_webhook_based(self) -> bool:
        return self.delivery == "webhook"


class ConnectorManifest(_Model):
    id: str = Field(pattern=ID_PATTERN)
    name: str = Field(min_length=1, max_length=100)
    version: str
    category: ConnectorCategory
    description: str
    auth: AuthSpec
    api: ApiSpec
    actions: list[ConnectorAction] = Field(default_factory=list)
    triggers: list[ConnectorTrigger] = Field(default_factory=list)
    logo_url: str | None = None
    docs_url: str | None = None
    min_hub_version: str = "0.1.0"
    webhook_signature: WebhookSignature | None = Field(
        default=None,
        description="how inbound deliveries are signed: a preset name (github-sha256, slack-v0, "
        "standard-webhooks, ...) resolved to its spec, or a declared HmacSignature / TokenSignature / "
        "JwtSignature; the webhooks service verifies with exactly this",
    )
    webhook_signature_alternatives: list[WebhookSignature] = Field(
        default_factory=list,
        description="other schemes a connection may choose instead (presets only): the connection's "
        "config key webhook_signature names one (GitLab's signing token next to X-Gitlab-Token)",
    )
    content_export: bool = Field(
        default=False, description="the connector can export its content (export_content) for search"
    )
    builtin: bool = False

    @field_validator("webhook_signature", mode="before")
    @classmethod
    def _signature(cls, value: Any) -> HmacSignature | TokenSignature | JwtSignature | None:
        return None if value is None else webhook_signature(value)

    @field_validator("webhook_signature_alternatives", mode="before")
    @classmethod
    def _alternatives(cls, value: Any) -> list[HmacSignature | TokenSignature | JwtSignature]:
        specs = [webhook_signature(v) for v in value or []]
        if any(spec.preset is None for spec in specs):
            raise ValueError("webhook_signature_alternatives must be presets: a connection picks one by name")
        return specs

    @field_validator("version", "min_hub_version")
    @classmethod
    def _semver(cls, value: str) -> str:
        if not SEMVER.match(value):
            raise ValueError(f"{value!r} is not a semantic version (MAJOR.MINOR.PATCH)")
        return value

    @model_validator(mode="after")
    def _unique_ids(self) -> ConnectorManifest:
        for kind, items in (("action", self.actions), ("trigger", self.triggers)):
            ids = [i.id for i in items]
            dupes = sorted({i for i in ids if ids.count(i) > 1})
            if dupes:
                raise ValueError(f"duplicate {kind} ids: {', '.join(dupes)}")
        return self

    def action(self, action_id: str) -> ConnectorAction | None:
        return next((a for a in self.actions if a.id == action_id), None)

    def trigger(self, trigger_id: str) -> ConnectorTrigger | None:
        return next((t for t in self.triggers if t.id == trigger_id), None)


class ActionResult(_Model):
    success: bool
    data: Any = None
    error_code: str | None = None
    error_message: str | None = None
    status_code: int | None = Field(default=None, description="the provider's HTTP status, if any")
    duration_ms: int | None = None
    retry_after_s: float | None = Field(
        default=None, ge=0, description="when the provider (or the gateway) said to try again (429)"
    )
    error_details: dict[str, Any] | None = Field(
        default=None,
        description="e.g. provider_body: a bounded, redacted excerpt of the provider's error answer",
    )

    @classmethod
    def ok(cls, data: Any = None, *, status_code: int | None = None) -> ActionResult:
        return cls(success=True, data=data, status_code=status_code)

    @classmethod
    def fail(
        cls,
        code: str,
        message: str,
        *,
        status_code: int | None = None,
        data: Any = None,
        retry_after_s: float | None = None,
        error_details: dict[str, Any] | None = None,
    ) -> ActionResult:
        return cls(
            success=False,
            error_code=code,
            error_message=message,
            status_code=status_code,
            data=data,
            retry_after_s=retry_after_s,
            error_details=error_details or None,
        )


class ConnectorHealth(_Model):
    is_healthy: bool
    message: str | None = None
    latency_ms: int = 0
    account_info: dict[str, str] = Field(default_factory=dict)
    checked_at: datetime = Field(default_factory=utcnow)
    credentials_invalid: bool = Field(
        default=False,
        description="the provider refused the credentials (401/403), not a transient failure",
    )


class TriggerEvent(_Model):
    """A provider event normalised into one of the connector's triggers."""

    trigger_id: str
    payload: dict[str, Any]
    occurred_at: datetime = Field(
        default_factory=utcnow, description="the event's own time when the provider says it, else receipt"
    )
    dedupe_key: str | None = None
    event_id: str | None = Field(
        default=None, description="the provider's delivery or event id (X-GitHub-Delivery, event_id...)"
    )


class TriggerOutput(_Model):
    """What a webhook trigger parser may return instead of a bare payload dict: the payload with
    the provider's event id (dedupe) and the event's own time."""

    payload: dict[str, Any]
    event_id: str | None = None
    occurred_at: datetime | None = None
    dedupe_key: str | None = None


class WebhookRegistration(_Model):
    """What a provider returned when a webhook was registered.

    ``secret`` is for providers that create the signing secret themselves and show it once
    (PagerDuty, Linear, Notion's verification token): the hub moves it into the vault and
    verifies deliveries with it. It is never serialised with the registration.
    """

    external_id: str
    events: list[str] = Field(default_factory=list)
    expires_at: datetime | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    secret: SecretStr | None = Field(default=None, exclude=True, repr=False)


class ContentDocument(_Model):
    """One normalised document of a connection's content (an issue, a page, a message)."""

    id: str = Field(min_length=1, max_length=512, description="stable id within the connector")
    title: str = Field(max_length=1000)
    text: str = Field(description="plain text or markdown body")
    url: str | None = None
    author: str | None = None
    updated_at: datetime
    metadata: dict[str, Any] = Field(default_factory=dict, description="connector-specific extras")


class ExportPage(_Model):
    """One step of a content export: documents, and where to continue.

    ``cursor`` is opaque to the hub and checkpointed after every page; with ``has_more=False``
    it is the starting point of the next incremental export (e.g. "updated since").
    """

    documents: list[ContentDocument] = Field(default_factory=list)
    cursor: str | None = None
    has_more: bool = False


class PollResult(_Model):
    events: list[TriggerEvent] = Field(default_factory=list)
    cursor: str | None = None


class ConnectionContext(_Model):
    """What a connector instance knows about the connection it serves (never a secret)."""

    connection_id: str
    tenant_id: str
    config: dict[str, Any] = Field(default_factory=dict)
    metadata: dict[str, Any] = Field(default_factory=dict)
