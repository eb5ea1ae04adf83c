"""Request and response bodies of ``/v1/automations`` (docs/adr/0029)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from hub_connectors.domain.automation import Automation, AutomationRunRow
from hub_connectors.services.automations import AutomationSpec
from hub_connectors.services.trigger_webhooks import EnsuredWebhook


class AutomationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    trigger_connection_id: UUID
    trigger_id: str = Field(min_length=1, max_length=100)
    action_connection_id: UUID
    action_id: str = Field(min_length=1, max_length=100)
    parameters: dict[str, Any] = Field(
        default_factory=dict,
        description="action parameter -> constant, or a template such as "
        "'New issue: {{ payload.title }}' (expressions only; rendered in a sandbox)",
    )
    enabled: bool = True
    sample_payload: dict[str, Any] | None = Field(
        default=None, description="a trigger payload to render the templates with before saving"
    )

    def spec(self) -> AutomationSpec:
        return AutomationSpec(
            name=self.name,
            trigger_connection_id=self.trigger_connection_id,
            trigger_id=self.trigger_id,
            action_connection_id=self.action_connection_id,
            action_id=self.action_id,
            parameters=self.parameters,
            enabled=self.enabled,
        )


class PreviewIn(AutomationIn):
    name: str = Field(default="preview", max_length=200)
    sample_payload: dict[str, Any] = Field(default_factory=dict)


class EnabledIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    enabled: bool


class WebhookRegistrationOut(BaseModel):
    """The webhook registration a webhook trigger gets its events through (webhooks service)."""

    id: UUID
    mode: str = Field(description="auto: registered at the provider by the hub; manual: the user's steps")
    status: str
    url: str
    trigger_ids: list[str]
    created: bool = Field(description="made when this automation was saved")
    secret: str | None = Field(default=None, description="manual, made now: the signing secret, shown once")
    steps: list[str] | None = Field(default=None, description="manual, made now: what to do at the provider")

    @classmethod
    def of(cls, ensured: EnsuredWebhook) -> WebhookRegistrationOut:
        r = ensured.registration
        return cls(
            id=r.id,
            mode=r.mode,
            status=r.status,
            url=r.url,
            trigger_ids=list(r.trigger_ids),
            created=ensured.created,
            secret=r.secret if ensured.created else None,
            steps=list(r.steps) if ensured.created and r.steps else None,
        )


class AutomationOut(BaseModel):
    id: UUID
    name: str
    trigger_connection_id: UUID
    trigger_id: str
    action_connection_id: UUID
    action_id: str
    parameters: dict[str, Any]
    enabled: bool
    disabled_reason: str | None
    created_by: str
    created_at: datetime
    updated_at: datetime
    webhook_registration: WebhookRegistrationOut | None = Field(
        default=None, description="on create and replace of an automation with a webhook trigger"
    )

    @classmethod
    def of(cls, a: Automation, webhook: EnsuredWebhook | None = None) -> AutomationOut:
        return cls(
            id=a.id,
            name=a.name,
            trigger_connection_id=a.trigger_connection_id,
            trigger_id=a.trigger_id,
            action_connection_id=a.action_connection_id,
            action_id=a.action_id,
            parameters=a.parameters,
            enabled=a.enabled,
            disabled_reason=a.disabled_reason,
            created_by=a.created_by,
            created_at=a.created_at,
            updated_at=a.updated_at,
            webhook_registration=WebhookRegistrationOut.of(webhook) if webhook else None,
        )


class AutomationList(BaseModel):
    automations: list[AutomationOut]


class PreviewOut(BaseModel):
    valid: bool
    parameters: dict[str, Any] | None
    errors: list[dict[str, str]]


class RunOut(BaseModel):
    id: UUID
    automation_id: UUID
    trigger_event_id: str
    status: str
    attempts: int
    trigger_payload: dict[str, Any] | None
    rendered_parameters: dict[str, Any] | None
    result: dict[str, Any] | None
    error_code: str | None
    error_message: str | None
    started_at: datetime
    finished_at: datetime | None

    @classmethod
    def of(cls, r: AutomationRunRow) -> RunOut:
        return cls(
            id=r.id,
            automation_id=r.automation_id,
            trigger_event_id=r.trigger_event_id,
            status=r.status,
            attempts=r.attempts,
            trigger_payload=r.trigger_payload,
            rendered_parameters=r.rendered_parameters,
            result=r.result,
            error_code=r.error_code,
            error_message=r.error_message,
            started_at=r.started_at,
            finished_at=r.finished_at,
        )


class RunList(BaseModel):
    runs: list[RunOut]
    next_cursor: str | None = None
