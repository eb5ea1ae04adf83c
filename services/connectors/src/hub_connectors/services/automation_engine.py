"""The automation engine (docs/adr/0029): one ``integration.trigger-fired`` event in, the runs
of the tenant's enabled automations on that trigger out.

Each run is first *claimed* — a row keyed by (automation, trigger event id) committed before the
action starts — so a redelivered trigger event (Kafka handing the record over again, a replay)
finds the claim and runs nothing: an action runs at most once per trigger event. A process that
dies between the claim and the result leaves a ``running`` row; the next delivery of that event
marks it ``interrupted`` instead of running the action a second time.

Within one run, failures that say "try again" (an outage, a 429/502/503/504, a busy connector)
are retried with backoff; anything else is recorded as it is. Template and schema errors are
the run's result, not the stream's problem. Loop protection: an automation that runs more than
``loop_max_runs`` times in ``loop_window_s`` (an action that feeds its own trigger) is disabled
with the reason, and that run is recorded as ``loop_suspected``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

from prometheus_client import Counter

from hub_common.db import Database
from hub_common.errors import HubError
from hub_common.events import AutomationRun, IntegrationTriggerFired
from hub_common.kafka import RetryPolicy
from hub_common.kafka.consumer import is_transient
from hub_common.redaction import redact_text
from hub_common.web.auth import Tier
from hub_connector_sdk import ActionResult
from hub_connectors.domain import templates
from hub_connectors.domain.action_summary import summarize
from hub_connectors.domain.automation import Automation, RunStatus
from hub_connectors.domain.schemas import schema_errors
from hub_connectors.registry import ConnectorRegistry
from hub_connectors.repositories import automations as repo
from hub_connectors.repositories import connections, tenants
from hub_connectors.runtime.isolation import ConnectorBusy
from hub_connectors.services.actions import ActionService
from hub_connectors.services.automations import trigger_context
from hub_connectors.services.caller import Caller
from hub_connectors.services.database import publish

log = logging.getLogger(__name__)
RUNS = Counter("hub_automation_runs_total", "Automation runs by outcome", ["status"])
_RETRY_STATUSES = frozenset({429, 502, 503, 504})
_MAX_WAIT_S = 30.0


def _retryable_result(result: ActionResult) -> bool:
    return not result.success and (
        result.retry_after_s is not None or (result.status_code or 0) in _RETRY_STATUSES
    )


def _retryable_error(exc: BaseException) -> bool:
    return is_transient(exc) or isinstance(exc, ConnectorBusy)


class AutomationEngine:
    def __init__(
        self,
        db: Database,
        registry: ConnectorRegistry,
        actions: ActionService,
        *,
        retry: RetryPolicy | None = None,
        loop_window_s: float = 60.0,
        loop_max_runs: int = 30,
        stale_after_s: float = 900.0,
        result_max_bytes: int = 16 * 1024,
    ) -> None:
        self._db = db
        self._registry = registry
        self._actions = actions
        self._retry = retry or RetryPolicy(attempts=4, initial_backoff_s=0.5, max_backoff_s=10.0)
        self._loop_window = timedelta(seconds=loop_window_s)
        self._loop_max_runs = loop_max_runs
        self._stale_after = timedelta(seconds=stale_after_s)
        self._result_max_bytes = result_max_bytes

    async def handle(self, event_id: str, fired: IntegrationTriggerFired) -> list[str]:
        """Run every enabled automation on this trigger; the statuses of the runs (``duplicate``
        for one this event had already started)."""
        async with self._db.connection() as conn:
            found = await repo.enabled_for_trigger(
                conn, fired.tenant_id, fired.connection_id, fired.trigger_id
            )
            tier = await tenants.tier_of(conn, fired.tenant_id) if found else None
        outcomes = []
        for automation in found:
            outcomes.append(await self._run(automation, event_id, fired, Tier(tier or Tier.CORE)))
        return outcomes

    async def _run(
        self, automation: Automation, event_id: str, fired: IntegrationTriggerFired, tier: Tier
    ) -> str:
        run_id = uuid4()
        async with self._db.transaction() as conn:
            claimed = await repo.claim_run(
                conn,
                run_id=run_id,
                tenant_id=automation.tenant_id,
                automation_id=automation.id,
                trigger_event_id=event_id,
                trigger_payload=fired.payload,
            )
            if not claimed:
                stale = datetime.now(UTC) - self._stale_after
                await repo.mark_interrupted(conn, automation.tenant_id, automation.id, event_id, stale)
                RUNS.labels("duplicate").inc()
                return "duplicate"
            recent = await repo.runs_since(
                conn, automation.tenant_id, automation.id, datetime.now(UTC) - self._loop_window
            )
        if recent > self._loop_max_runs:
            reason = (
                f"loop protection: more than {self._loop_max_runs} runs in "
                f"{int(self._loop_window.total_seconds())} s (does the action feed its own trigger?)"
            )
            async with self._db.transaction() as conn:
                await repo.disable(conn, automation.tenant_id, automation.id, reason)
            return await self._finish(
                automation,
                run_id,
                event_id,
                fired,
                RunStatus.LOOP_SUSPECTED,
                0,
                None,
                None,
                "loop_suspected",
                reason,
            )
        started = time.monotonic()
        target = await self._action_connector(automation)
        if target is None:
            return await self._finish(
                automation, run_id, event_id, fired, RunStatus.FAILED, 0, None, None,
                "action_unavailable", "the action's connection or connector is gone",
            )  # fmt: skip
        context = trigger_context(
            fired.payload,
            trigger_id=fired.trigger_id,
            connector_id=fired.connector_id,
            connection_id=fired.connection_id,
            event_id=fired.event_id or event_id,
            occurred_at=fired.occurred_at,
        )
        try:
            rendered = templates.render_parameters(automation.parameters, context, target.parameters_schema)
        except templates.TemplateError as exc:
            return await self._finish(
                automation, run_id, event_id, fired, RunStatus.TEMPLATE_ERROR, 0, None, None,
                "template_error", str(exc),
            )  # fmt: skip
        errors = schema_errors(target.parameters_schema, rendered)
        if errors:
            message = "; ".join(f"{e['path']}: {e['message']}" for e in errors)
            return await self._finish(
                automation, run_id, event_id, fired, RunStatus.INVALID_PARAMETERS, 0, rendered, None,
                "invalid_parameters", message,
            )  # fmt: skip
        caller = Caller(automation.tenant_id, f"automation:{automation.id}", tier)
        attempt = 0
        while True:
            attempt += 1
            try:
                result = await self._actions.execute(
                    caller, automation.action_connection_id, automation.action_id, rendered
                )
            except HubError as exc:
                if _retryable_error(exc) and attempt < self._retry.attempts:
                    await asyncio.sleep(self._retry.backoff(attempt))
                    continue
                return await self._finish(
                    automation, run_id, event_id, fired, RunStatus.FAILED, attempt, rendered, None,
                    exc.code, exc.message, started=started,
                )  # fmt: skip
            except Exception as exc:
                if _retryable_error(exc) and attempt < self._retry.attempts:
                    await asyncio.sleep(self._retry.backoff(attempt))
                    continue
                raise
            if _retryable_result(result) and attempt < self._retry.attempts:
                wait = (
                    result.retry_after_s if result.retry_after_s is not None else self._retry.backoff(attempt)
                )
                await asyncio.sleep(min(wait, _MAX_WAIT_S))
                continue
            summary = summarize(result, self._result_max_bytes).model_dump(mode="json")
            status = RunStatus.SUCCEEDED if result.success else RunStatus.FAILED
            return await self._finish(
                automation, run_id, event_id, fired, status, attempt, rendered, summary,
                result.error_code, result.error_message, started=started,
            )  # fmt: skip

    async def _action_connector(self, automation: Automation) -> Any:
        async with self._db.connection() as conn:
            connection = await connections.get(conn, automation.tenant_id, automation.action_connection_id)
        registered = self._registry.get(connection.connector_id) if connection else None
        return registered.manifest.action(automation.action_id) if registered else None

    async def _finish(
        self,
        automation: Automation,
        run_id: UUID,
        event_id: str,
        fired: IntegrationTriggerFired,
        status: RunStatus,
        attempts: int,
        rendered: dict[str, Any] | None,
        result: dict[str, Any] | None,
        error_code: str | None,
        error_message: str | None,
        *,
        started: float | None = None,
    ) -> str:
        message = redact_text(error_message)[:1000] if error_message else None
        connector_id = await self._connector_of(automation)
        async with self._db.transaction() as conn:
            await repo.finish_run(
                conn,
                tenant_id=automation.tenant_id,
                run_id=run_id,
                status=status.value,
                attempts=attempts,
                rendered_parameters=rendered,
                result=result,
                error_code=error_code,
                error_message=message,
            )
            await publish(
                conn,
                AutomationRun(
                    tenant_id=automation.tenant_id,
                    automation_id=automation.id,
                    run_id=run_id,
                    connection_id=automation.action_connection_id,
                    trigger_connection_id=fired.connection_id,
                    trigger_event_id=event_id,
                    connector_id=connector_id,
                    action_id=automation.action_id,
                    status=status.value,
                    attempts=attempts,
                    error_code=error_code,
                    error_message=message,
                    duration_ms=int((time.monotonic() - started) * 1000) if started else 0,
                ),
            )
        RUNS.labels(status.value).inc()
        log.info(
            "automation run",
            extra={"automation_id": str(automation.id), "status": status.value, "attempts": attempts},
        )
        return status.value

    async def _connector_of(self, automation: Automation) -> str:
        async with self._db.connection() as conn:
            connection = await connections.get(conn, automation.tenant_id, automation.action_connection_id)
        return connection.connector_id if connection else "unknown"
