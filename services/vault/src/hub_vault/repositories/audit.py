"""The ``audit`` table. A failed audit write raises :class:`AuditUnavailable`, which rolls back
the caller's transaction: no audit row, no operation."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import asyncpg

from hub_vault.domain.errors import AuditUnavailable

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class AuditEntry:
    caller: str
    operation: str
    outcome: str
    request_id: str | None = None
    tenant_id: str | None = None
    connection_id: UUID | None = None
    credential_key: str | None = None
    key_version: int | None = None
    details: dict[str, Any] | None = field(default=None)


@dataclass(frozen=True, slots=True)
class AuditFields:
    """Who and what, for statements that write their own audit row (repositories.audited)."""

    caller: str
    operation: str
    request_id: str | None


async def record(conn: asyncpg.Connection, entry: AuditEntry) -> None:
    try:
        await conn.execute(
            "INSERT INTO audit (request_id, caller, operation, tenant_id, connection_id, "
            "credential_key, outcome, key_version, details) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            entry.request_id,
            entry.caller,
            entry.operation,
            entry.tenant_id,
            entry.connection_id,
            entry.credential_key,
            entry.outcome,
            entry.key_version,
            entry.details,
        )
    except (asyncpg.PostgresError, OSError) as exc:
        log_failure(entry.operation, exc)
        raise AuditUnavailable from None


def log_failure(operation: str, exc: BaseException) -> None:
    # The exception class only: a database message could quote parameters.
    log.error(
        "audit write failed; refusing the operation",
        extra={"operation": operation, "reason": type(exc).__name__},
    )
