"""The audit log (``integrations_audit_log``; docs/architecture.md §3): one row per integration event.

Rows are projected from Kafka events only (what happened is decided by the producers, this
service's own health-check verdicts included: they travel as ``integration.status-changed``).
Details hold metadata only: no action result data, no secrets.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from hub_common.events import (
    AutomationRun,
    ConnectionStatusChanged,
    CredentialChanged,
    HubEvent,
    IntegrationActionExecuted,
    IntegrationApiRequest,
    IntegrationConnected,
    IntegrationDisconnected,
)
from hub_common.redaction import redact_text

MAX_ERROR_CHARS = 1000


@dataclass(frozen=True)
class AuditEntry:
    event_id: str
    tenant_id: str
    connection_id: UUID | None
    event_type: str
    created_at: datetime
    connector_id: str | None = None
    action_id: str | None = None
    status: str | None = None  # success | failure
    details: dict[str, Any] = field(default_factory=dict)
    error_message: str | None = None


def _error(text: str | None) -> str | None:
    return redact_text(text)[:MAX_ERROR_CHARS] if text else None


def entry_for(event_id: str, event: HubEvent) -> AuditEntry | None:
    """The audit row an event stands for, or None for events the log does not keep."""
    base: dict[str, Any] = {
        "event_id": event_id,
        "tenant_id": event.tenant_id,
        "event_type": event.topic,
        "created_at": event.timestamp,
        "connection_id": getattr(event, "connection_id", None),
    }
    if isinstance(event, IntegrationConnected):
        return AuditEntry(
            **base,
            connector_id=event.connector_id,
            status="success",
            details={"external_account_id": event.external_account_id, "auth_method": event.auth_method},
        )
    if isinstance(event, IntegrationDisconnected):
        return AuditEntry(
            **base, connector_id=event.connector_id, status="success", details={"reason": event.reason}
        )
    if isinstance(event, ConnectionStatusChanged):
        return AuditEntry(
            **base,
            connector_id=event.connector_id,
            status="success" if event.status == "active" else "failure",
            details={"from": event.previous_status, "to": event.status},
            error_message=_error(event.reason),
        )
    if isinstance(event, IntegrationActionExecuted):
        r = event.result
        return AuditEntry(
            **base,
            connector_id=event.connector_id,
            action_id=event.action_id,
            status="success" if r.success else "failure",
            details={
                "duration_ms": event.duration_ms,
                "error_code": r.error_code,
                "status_code": r.status_code,
            },
            error_message=_error(r.error_message),
        )
    if isinstance(event, CredentialChanged):
        return AuditEntry(
            **base,
            status="success",
            details={"change": event.change, "credential_key": event.credential_key},
        )
    if isinstance(event, IntegrationApiRequest):
        return AuditEntry(
            **base,
            connector_id=event.connector_id,
            status="success" if event.status_code < 400 else "failure",
            details={
                "method": event.method,
                "endpoint": event.endpoint[:300],
                "status_code": event.status_code,
                "duration_ms": event.duration_ms,
                "error_code": event.error_code,
            },
        )
    if isinstance(event, AutomationRun):
        return AuditEntry(
            **base,
            connector_id=event.connector_id,
            action_id=event.action_id,
            status="success" if event.status == "succeeded" else "failure",
            details={
                "automation_id": str(event.automation_id),
                "run_id": str(event.run_id),
                "run_status": event.status,
                "trigger_connection_id": str(event.trigger_connection_id),
                "attempts": event.attempts,
                "error_code": event.error_code,
            },
            error_message=_error(event.error_message),
        )
    return None
