"""The ``automations`` and ``automation_runs`` tables; every query is scoped to a tenant."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

from hub_connectors.domain.automation import Automation, AutomationRunRow

_COLUMNS = (
    "id, tenant_id, name, trigger_connection_id, trigger_id, action_connection_id, action_id, "
    "parameters, enabled, disabled_reason, created_by, created_at, updated_at"
)
_RUN_COLUMNS = (
    "id, tenant_id, automation_id, trigger_event_id, status, attempts, trigger_payload, "
    "rendered_parameters, result, error_code, error_message, started_at, finished_at"
)


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def _automation(record: asyncpg.Record | None) -> Automation | None:
    if record is None:
        return None
    row = dict(record)
    row["parameters"] = _json(row["parameters"]) or {}
    return Automation(**row)


def _run(record: asyncpg.Record | None) -> AutomationRunRow | None:
    if record is None:
        return None
    row = dict(record)
    for key in ("trigger_payload", "rendered_parameters", "result"):
        row[key] = _json(row[key])
    return AutomationRunRow(**row)


async def insert(conn: asyncpg.Connection, automation: Automation) -> Automation:
    record = await conn.fetchrow(
        f"INSERT INTO automations ({_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11,"  # noqa: S608
        f" $12, $13) RETURNING {_COLUMNS}",
        automation.id,
        automation.tenant_id,
        automation.name,
        automation.trigger_connection_id,
        automation.trigger_id,
        automation.action_connection_id,
        automation.action_id,
        json.dumps(automation.parameters),
        automation.enabled,
        automation.disabled_reason,
        automation.created_by,
        automation.created_at,
        automation.updated_at,
    )
    found = _automation(record)
    assert found is not None
    return found


async def update(conn: asyncpg.Connection, automation: Automation) -> Automation | None:
    record = await conn.fetchrow(
        "UPDATE automations SET name = $3, trigger_connection_id = $4, trigger_id = $5,"  # noqa: S608
        " action_connection_id = $6, action_id = $7, parameters = $8, enabled = $9,"
        " disabled_reason = $10, updated_at = now()"
        f" WHERE tenant_id = $1 AND id = $2 RETURNING {_COLUMNS}",
        automation.tenant_id,
        automation.id,
        automation.name,
        automation.trigger_connection_id,
        automation.trigger_id,
        automation.action_connection_id,
        automation.action_id,
        json.dumps(automation.parameters),
        automation.enabled,
        automation.disabled_reason,
    )
    return _automation(record)


async def get(conn: asyncpg.Connection, tenant_id: str, automation_id: UUID) -> Automation | None:
    return _automation(
        await conn.fetchrow(
            f"SELECT {_COLUMNS} FROM automations WHERE tenant_id = $1 AND id = $2",  # noqa: S608
            tenant_id,
            automation_id,
        )
    )


async def list_for_tenant(conn: asyncpg.Connection, tenant_id: str) -> list[Automation]:
    rows = await conn.fetch(
        f"SELECT {_COLUMNS} FROM automations WHERE tenant_id = $1 ORDER BY created_at DESC, id",  # noqa: S608
        tenant_id,
    )
    return [a for a in (_automation(r) for r in rows) if a is not None]


async def enabled_for_trigger(
    conn: asyncpg.Connection, tenant_id: str, connection_id: UUID, trigger_id: str
) -> list[Automation]:
    rows = await conn.fetch(
        f"SELECT {_COLUMNS} FROM automations WHERE tenant_id = $1 AND trigger_connection_id = $2"  # noqa: S608
        " AND trigger_id = $3 AND enabled ORDER BY created_at, id",
        tenant_id,
        connection_id,
        trigger_id,
    )
    return [a for a in (_automation(r) for r in rows) if a is not None]


async def count_on_trigger(
    conn: asyncpg.Connection, tenant_id: str, connection_id: UUID, trigger_id: str
) -> int:
    """Automations on this trigger, enabled or not (a disabled one is still meant to run later)."""
    found = await conn.fetchval(
        "SELECT count(*) FROM automations"
        " WHERE tenant_id = $1 AND trigger_connection_id = $2 AND trigger_id = $3",
        tenant_id,
        connection_id,
        trigger_id,
    )
    return int(found or 0)


async def delete(conn: asyncpg.Connection, tenant_id: str, automation_id: UUID) -> bool:
    done = await conn.fetchval(
        "DELETE FROM automations WHERE tenant_id = $1 AND id = $2 RETURNING 1", tenant_id, automation_id
    )
    return done is not None


async def disable(conn: asyncpg.Connection, tenant_id: str, automation_id: UUID, reason: str) -> None:
    await conn.execute(
        "UPDATE automations SET enabled = false, disabled_reason = $3, updated_at = now()"
        " WHERE tenant_id = $1 AND id = $2",
        tenant_id,
        automation_id,
        reason,
    )


async def claim_run(
    conn: asyncpg.Connection,
    *,
    run_id: UUID,
    tenant_id: str,
    automation_id: UUID,
    trigger_event_id: str,
    trigger_payload: dict[str, Any],
) -> bool:
    """True when this trigger event had not started this automation before."""
    row = await conn.fetchval(
        "INSERT INTO automation_runs (id, tenant_id, automation_id, trigger_event_id, status,"
        " trigger_payload) VALUES ($1, $2, $3, $4, 'running', $5)"
        " ON CONFLICT (automation_id, trigger_event_id) DO NOTHING RETURNING 1",
        run_id,
        tenant_id,
        automation_id,
        trigger_event_id,
        json.dumps(trigger_payload),
    )
    return row is not None


async def mark_interrupted(
    conn: asyncpg.Connection, tenant_id: str, automation_id: UUID, trigger_event_id: str, before: datetime
) -> bool:
    """A run still ``running`` since before ``before`` died with its process: say so."""
    row = await conn.fetchval(
        "UPDATE automation_runs SET status = 'interrupted', finished_at = now(),"
        " error_message = 'the process running it stopped before recording the result;"
        " not retried, the action may have run'"
        " WHERE tenant_id = $1 AND automation_id = $2 AND trigger_event_id = $3"
        " AND status = 'running' AND started_at < $4 RETURNING 1",
        tenant_id,
        automation_id,
        trigger_event_id,
        before,
    )
    return row is not None


async def finish_run(
    conn: asyncpg.Connection,
    *,
    tenant_id: str,
    run_id: UUID,
    status: str,
    attempts: int,
    rendered_parameters: dict[str, Any] | None,
    result: dict[str, Any] | None,
    error_code: str | None,
    error_message: str | None,
) -> None:
    await conn.execute(
        "UPDATE automation_runs SET status = $3, attempts = $4, rendered_parameters = $5, result = $6,"
        " error_code = $7, error_message = $8, finished_at = now() WHERE tenant_id = $1 AND id = $2",
        tenant_id,
        run_id,
        status,
        attempts,
        json.dumps(rendered_parameters) if rendered_parameters is not None else None,
        json.dumps(result, default=str) if result is not None else None,
        error_code,
        error_message,
    )


async def runs_since(conn: asyncpg.Connection, tenant_id: str, automation_id: UUID, since: datetime) -> int:
    count: int = await conn.fetchval(
        "SELECT count(*) FROM automation_runs WHERE tenant_id = $1 AND automation_id = $2"
        " AND started_at >= $3",
        tenant_id,
        automation_id,
        since,
    )
    return count


async def list_runs(
    conn: asyncpg.Connection,
    tenant_id: str,
    automation_id: UUID,
    *,
    limit: int,
    before: tuple[datetime, UUID] | None = None,
) -> list[AutomationRunRow]:
    args: list[Any] = [tenant_id, automation_id, limit]
    keyset = ""
    if before is not None:
        keyset = " AND (started_at, id) < ($4, $5)"
        args.extend(before)
    rows = await conn.fetch(
        f"SELECT {_RUN_COLUMNS} FROM automation_runs WHERE tenant_id = $1 AND automation_id = $2"  # noqa: S608
        f"{keyset} ORDER BY started_at DESC, id DESC LIMIT $3",
        *args,
    )
    return [r for r in (_run(x) for x in rows) if r is not None]


async def get_run(conn: asyncpg.Connection, tenant_id: str, run_id: UUID) -> AutomationRunRow | None:
    return _run(
        await conn.fetchrow(
            f"SELECT {_RUN_COLUMNS} FROM automation_runs WHERE tenant_id = $1 AND id = $2",  # noqa: S608
            tenant_id,
            run_id,
        )
    )
