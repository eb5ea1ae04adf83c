"""Request and response bodies. Credentials are accepted, never returned."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from hub_common.license import Feature, policy_for, tier_allowing_feature
from hub_connector_sdk import ConnectorHealth, ConnectorManifest
from hub_connectors.domain.connection import Connection
from hub_connectors.domain.content_export import ContentExport
from hub_connectors.registry import LoadProblem, RegisteredConnector
from hub_connectors.services.caller import Caller

NAME_PATTERN = r"^[^\x00-\x1f\x7f]+$"


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CreateConnection(_In):
    connector_id: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=100, pattern=NAME_PATTERN)
    config: dict[str, Any] | None = Field(
        default=None, description="non-secret settings (the connector's config_schema)"
    )
    credentials: dict[str, Any] | None = Field(
        default=None, description="API key / basic / bearer fields; stored in the vault, never returned"
    )


class RotateCredentials(_In):
    credentials: dict[str, Any] = Field(
        min_length=1,
        description="the connector's credential fields, all of them; stored in the vault, never returned",
    )


class StartExport(_In):
    mode: Literal["full", "incremental"] = Field(
        default="full", description="incremental: from where the last completed export ended"
    )


class ExportOut(BaseModel):
    id: UUID
    connection_id: UUID
    connector_id: str
    mode: str
    status: str
    cursor: str | None = Field(description="the connector's cursor after the last committed page")
    start_cursor: str | None
    pages: int
    documents: int
    error_code: str | None
    error_message: str | None
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None

    @classmethod
    def of(cls, export: ContentExport) -> ExportOut:
        return cls(
            id=export.id,
            connection_id=export.connection_id,
            connector_id=export.connector_id,
            mode=export.mode,
            status=export.status,
            cursor=export.cursor,
            start_cursor=export.start_cursor,
            pages=export.pages,
            documents=export.documents,
            error_code=export.error_code,
            error_message=export.error_message,
            created_at=export.created_at,
            updated_at=export.updated_at,
            finished_at=export.finished_at,
        )


class ExportList(BaseModel):
    exports: list[ExportOut]


class ExecuteAction(_In):
    parameters: dict[str, Any] = Field(default_factory=dict)


class ConnectionOut(BaseModel):
    id: UUID
    connector_id: str
    connector_version: str
    name: str
    status: str
    category: str
    custom: bool
    auth_method: str
    user_id: str
    base_url: str
    config: dict[str, Any]
    metadata: dict[str, Any]
    external_account_id: str | None
    external_account_name: str | None
    connected_at: datetime | None
    last_health_check_at: datetime | None
    last_health_check_status: bool | None
    last_health_check_latency_ms: int | None
    last_error: str | None
    active_triggers_count: int
    status_changed_at: datetime | None
    created_at: datetime | None
    updated_at: datetime | None
    disconnected_at: datetime | None

    @classmethod
    def of(cls, c: Connection) -> ConnectionOut:
        return cls.model_validate({name: getattr(c, name) for name in cls.model_fields})


class ConnectionList(BaseModel):
    connections: list[ConnectionOut]


class HealthOut(BaseModel):
    health: ConnectorHealth
    connection: ConnectionOut


class ConnectorOut(ConnectorManifest):
    origin: str = Field(description="builtin or custom (an installed plugin)")
    required_tier: str
    available: bool = Field(description="whether the caller's tier may create connections to it")

    @classmethod
    def of(cls, registered: RegisteredConnector, caller: Caller) -> ConnectorOut:
        required = tier_allowing_feature(Feature.CUSTOM_CONNECTORS) if registered.custom else None
        available = not registered.custom or policy_for(caller.tier).custom_connectors
        return cls(
            **registered.manifest.model_dump(),
            origin="custom" if registered.custom else "builtin",
            required_tier=str(required or "core"),
            available=available,
        )


class LoadProblemOut(BaseModel):
    source: str
    error: str
    distribution: str | None
    connector_id: str | None

    @classmethod
    def of(cls, p: LoadProblem) -> LoadProblemOut:
        return cls(source=p.source, error=p.error, distribution=p.distribution, connector_id=p.connector_id)


class ConnectorList(BaseModel):
    connectors: list[ConnectorOut]
    load_errors: list[LoadProblemOut] | None = Field(
        default=None, description="connectors that failed to load (with include_errors=true)"
    )


class LicenseLimits(BaseModel):
    connections: int | None
    webhooks: bool
    custom_connectors: bool
    gateway: str
    audit_log: bool
    audit_retention_days: int | None


class LicenseOut(BaseModel):
    tier: str
    limits: LicenseLimits
    connections_used: int
    remaining_connections: int | None = Field(description="null when unlimited")
    features: list[str]


class AuditEntryOut(BaseModel):
    id: UUID
    event_id: str
    connection_id: UUID | None
    connector_id: str | None
    event_type: str
    action_id: str | None
    status: str | None
    details: dict[str, Any]
    error_message: str | None
    created_at: datetime


class AuditPageOut(BaseModel):
    entries: list[AuditEntryOut]
    next_cursor: str | None


class InternalConnection(BaseModel):
    """A connection as other hub services see it (gateway, oauth, webhooks): no secret values.

    ``manifest`` is null when the connector is not loaded in this hub any more."""

    id: UUID
    tenant_id: str
    user_id: str
    connector_id: str
    connector_version: str
    status: str
    custom: bool
    auth_method: str
    config: dict[str, Any]
    base_url: str
    external_account_id: str | None
    manifest: ConnectorManifest | None
    allowed_hosts: list[str]
    default_headers: dict[str, str]
    api_key_placement: dict[str, str] | None
    credential_keys: list[str] = Field(description="vault keys holding this connection's credential")


class RegisterWebhook(_In):
    """From the webhooks service: register its URL for these triggers at the provider."""

    tenant_id: str = Field(min_length=1, max_length=128)
    trigger_ids: list[str] = Field(min_length=1, max_length=50)
    target_url: str = Field(min_length=1, max_length=2048, pattern=r"^https?://")
    secret: SecretStr = Field(
        description="the hub-generated signing secret (unused when the provider issues one)"
    )


class UnregisterWebhook(_In):
    """From the webhooks service: remove a hook the connector registered."""

    tenant_id: str = Field(min_length=1, max_length=128)
    external_id: str = Field(min_length=1, max_length=512)
    metadata: dict[str, Any] = Field(default_factory=dict)


class WebhookRegistrationOut(BaseModel):
    external_id: str
    events: list[str]
    expires_at: datetime | None
    metadata: dict[str, Any]
    provider_secret_key: str | None = Field(
        description="vault key of the signing secret the provider issued (None: the hub's secret applies)"
    )


class VerifyRequest(_In):
    tenant_id: str = Field(min_length=1, max_length=128)
