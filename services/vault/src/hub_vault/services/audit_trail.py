"""Audit records (in the caller's transaction) plus the matching Prometheus counter."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import asyncpg
from prometheus_client import Counter

from hub_vault.domain.names import Owner
from hub_vault.domain.operations import Operation, Outcome
from hub_vault.repositories import audit
from hub_vault.services.call_context import CallContext

OPERATIONS = Counter(
    "hub_vault_operations_total", "Vault operations by outcome", ["caller", "operation", "outcome"]
)


async def record(
    conn: asyncpg.Connection,
    ctx: CallContext,
    operation: Operation,
    outcome: Outcome,
    *,
    owner: Owner | None = None,
    tenant_id: str | None = None,
    connection_id: UUID | None = None,
    credential_key: str | None = None,
    key_version: int | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    if owner is not None:
        tenant_id, connection_id = owner.tenant_id, owner.connection_id
        credential_key = owner.credential_key
    await audit.record(
        conn,
        audit.AuditEntry(
            caller=ctx.caller,
            operation=operation.value,
            outcome=outcome.value,
            request_id=ctx.request_id,
            tenant_id=tenant_id,
            connection_id=connection_id,
            credential_key=credential_key,
            key_version=key_version,
            details=details,
        ),
    )
    count(ctx, operation, outcome)


def count(ctx: CallContext, operation: Operation, outcome: Outcome | str) -> None:
    OPERATIONS.labels(ctx.caller, operation.value, str(outcome)).inc()


def fields(ctx: CallContext, operation: Operation) -> audit.AuditFields:
    """For the one-statement hot paths (repositories.audited)."""
    return audit.AuditFields(ctx.caller, operation.value, ctx.request_id)


def log_failure(operation: str, exc: BaseException) -> None:
    """An audit row that could not be written (the operation is refused): logged, class only."""
    audit.log_failure(operation, exc)
