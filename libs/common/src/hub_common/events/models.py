"""One pydantic model per Kafka topic (docs/architecture.md §3; docs/asyncapi.json is generated from them).

Every event carries ``tenant_id``; the Kafka key is the connection id so that events of one
connection stay ordered. The CloudEvents ``type`` is ``dev.integrationhub.<topic>.v<version>``;
a breaking change adds a new version rather than changing an existing one. No model has a
field for a secret value.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

TYPE_PREFIX = "dev.integrationhub"


def utcnow() -> datetime:
    return datetime.now(UTC)


class HubEvent(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    topic: ClassVar[str]
    version: ClassVar[int] = 1

    tenant_id: str = Field(min_length=1, max_length=128)
    timestamp: datetime = Field(default_factory=utcnow)

    @classmethod
    def event_type(cls) -> str:
        return f"{TYPE_PREFIX}.{cls.topic}.v{cls.version}"

    def partition_key(self) -> str:
        """Kafka key: the connection id when the event has one (ordering per connection)."""
        connection_id = getattr(self, "connection_id", None)
        return str(connection_id) if connection_id is not None else self.tenant_id

    def subject(self) -> str | None:
        connection_id = getattr(self, "connection_id", None)
        return str(connection_id) if connection_id is not None else None


class IntegrationConnected(HubEvent):
    """A connection finished authenticating and is usable."""

    topic: ClassVar[str] = "integration.connected"
    connection_id: UUID
    connector_id: str
    external_account_id: str
    user_id: str | None = None
    auth_method: str | None = None


class IntegrationDisconnected(HubEvent):
    """A connection was removed (credentials deleted, webhooks unregistered)."""

    topic: ClassVar[str] = "integration.disconnected"
    connection_id: UUID
    connector_id: str
    reason: str | None = None


class ConnectionStatusChanged(HubEvent):
    """A connection's status moved (e.g. a refresh ended in ``invalid_grant`` → token_invalid).

    Produced by oauth (token outcomes) and connectors (health checks); connectors own the
    connection record and apply changes reported by others.
    """

    topic: ClassVar[str] = "integration.status-changed"
    connection_id: UUID
    connector_id: str
    status: Literal["initializing", "active", "token_expired", "token_invalid", "disconnected", "error"]
    previous_status: str | None = None
    reason: str | None = None


class ActionResultSummary(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    success: bool
    data: dict[str, Any] | list[Any] | None = None
    error_code: str | None = None
    error_message: str | None = None
    status_code: int | None = None


class IntegrationActionExecuted(HubEvent):
    topic: ClassVar[str] = "integration.action-executed"
    connection_id: UUID
    connector_id: str | None = None
    action_id: str
    result: ActionResultSummary
    duration_ms: int = Field(ge=0)


class IntegrationApiRequest(HubEvent):
    """One proxied provider call (no headers, no bodies: only what the audit needs)."""

    topic: ClassVar[str] = "integration.api-request"
    connection_id: UUID
    connector_id: str | None = None
    method: str
    endpoint: str
    status_code: int
    duration_ms: int = Field(ge=0)
    rate_limit_remaining: int | None = None
    error_code: str | None = None


class WebhookReceived(HubEvent):
    """A verified inbound webhook, durable before the sender gets its 2xx."""

    topic: ClassVar[str] = "webhook.received"
    connector_id: str
    registration_id: UUID | None = None
    connection_id: UUID | None = None
    delivery_id: str
    event_name: str | None = None
    headers: dict[str, str] = Field(default_factory=dict)
    body: str = Field(description="raw request body, UTF-8 (base64 when body_encoding=base64)")
    body_encoding: Literal["utf-8", "base64"] = "utf-8"
    trigger_ids: list[str] = Field(
        default_factory=list,
        description="the registration's triggers (empty: every trigger of the connector)",
    )
    filter: dict[str, Any] | None = Field(
        default=None,
        description="the registration's filter on the normalised payload: {dotted.path: value | [values]}",
    )


class WebhookDelivered(HubEvent):
    topic: ClassVar[str] = "webhook.delivered"
    webhook_id: UUID
    connection_id: UUID | None = None
    trigger_id: str
    payload: dict[str, Any]
    attempt_number: int = Field(default=1, ge=1)


class WebhookDeliveryFailed(HubEvent):
    topic: ClassVar[str] = "webhook.delivery-failed"
    webhook_id: UUID
    connection_id: UUID | None = None
    error_message: str
    attempt_number: int = Field(ge=1)
    final: bool = False


class WebhookSubscriptionDisabled(HubEvent):
    """A subscription stopped receiving pushes: its endpoint answered 410 Gone, or every attempt
    failed for the configured time (5 days by default). Re-enable with PATCH status=active."""

    topic: ClassVar[str] = "webhook.subscription-disabled"
    subscription_id: UUID
    reason: str
    failing_since: datetime | None = None


class IntegrationTriggerFired(HubEvent):
    """A provider event normalised into one of a connector's triggers."""

    topic: ClassVar[str] = "integration.trigger-fired"
    connection_id: UUID
    connector_id: str
    trigger_id: str
    payload: dict[str, Any]
    source_delivery_id: str | None = None
    registration_id: UUID | None = None
    event_id: str | None = Field(default=None, description="the provider's event id (what dedupe keys on)")
    occurred_at: datetime | None = Field(default=None, description="the event's own time, by the provider")


class CredentialChanged(HubEvent):
    """A credential was stored, refreshed, rewrapped or removed. Never carries the value."""

    topic: ClassVar[str] = "credential.changed"
    connection_id: UUID
    credential_key: str | None = None
    change: Literal["stored", "refreshed", "rewrapped", "deleted", "revoked", "deleted_all"]
    key_version: int | None = None


class IntegrationContent(HubEvent):
    """One normalised document of a connection's content (an issue, a page), exported for
    local search by a content export (``POST /v1/connections/{id}/exports``). Events of one
    export arrive in page order per connection; a document seen again (a later export, or a
    page retried after a crash) carries the same ``id`` and is an upsert for a consumer."""

    topic: ClassVar[str] = "integration.content"
    connection_id: UUID
    connector_id: str
    export_id: UUID
    id: str = Field(min_length=1, max_length=512, description="the document's id within the connector")
    title: str
    text: str = Field(description="plain text or markdown; cut at the export's text limit")
    text_truncated: bool = False
    url: str | None = None
    author: str | None = None
    updated_at: datetime
    metadata: dict[str, Any] = Field(default_factory=dict)


class AutomationRun(HubEvent):
    """One run of a trigger→action automation (docs/adr/0029): which trigger event started it,
    which action it ran and how that went. Metadata only: no rendered parameters, no result data."""

    topic: ClassVar[str] = "automation.run"
    automation_id: UUID
    run_id: UUID
    connection_id: UUID = Field(description="the action's connection")
    trigger_connection_id: UUID
    trigger_event_id: str = Field(description="the integration.trigger-fired event (its ce_id)")
    connector_id: str
    action_id: str
    status: Literal["succeeded", "failed", "template_error", "invalid_parameters", "loop_suspected"]
    attempts: int = Field(ge=0)
    error_code: str | None = None
    error_message: str | None = None
    duration_ms: int = Field(default=0, ge=0)


EVENT_MODELS: tuple[type[HubEvent], ...] = (
    IntegrationConnected,
    IntegrationDisconnected,
    ConnectionStatusChanged,
    IntegrationActionExecuted,
    IntegrationApiRequest,
    WebhookReceived,
    WebhookDelivered,
    WebhookDeliveryFailed,
    WebhookSubscriptionDisabled,
    IntegrationTriggerFired,
    CredentialChanged,
    IntegrationContent,
    AutomationRun,
)
TOPICS: dict[str, type[HubEvent]] = {m.topic: m for m in EVENT_MODELS}
_BY_TYPE: dict[str, type[HubEvent]] = {m.event_type(): m for m in EVENT_MODELS}


def model_for_type(event_type: str) -> type[HubEvent] | None:
    return _BY_TYPE.get(event_type)
