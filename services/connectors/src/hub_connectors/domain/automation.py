"""A trigger→action automation and its runs (docs/adr/0029)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import UUID


class RunStatus(StrEnum):
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    TEMPLATE_ERROR = "template_error"
    INVALID_PARAMETERS = "invalid_parameters"
    LOOP_SUSPECTED = "loop_suspected"
    # Claimed, then the process died before the result was recorded: never run again (the
    # action may have happened), shown for what it is.
    INTERRUPTED = "interrupted"


@dataclass(frozen=True)
class Automation:
    id: UUID
    tenant_id: str
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


@dataclass(frozen=True)
class AutomationRunRow:
    id: UUID
    tenant_id: str
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
