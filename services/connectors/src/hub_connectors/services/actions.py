"""``POST /v1/connections/{id}/actions/{action_id}``: validate, run, record.

With an Idempotency-Key (docs/adr/0033) the key is claimed before the provider is called and the
result recorded in the transaction that publishes ``integration.action-executed``: a retry after
a lost answer gets the first result back (``replayed``), and an action whose first attempt has no
recorded result (still running, or its process died mid-call) is never run a second time.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import asyncpg

from hub_common.db import Database
from hub_common.events import IntegrationActionExecuted
from hub_common.kafka.consumer import is_transient
from hub_common.license import Feature, require_feature
from hub_connector_sdk import ActionResult, ConnectorError
from hub_connectors.domain.action_summary import bounded_errors, summarize
from hub_connectors.domain.connection import Connection
from hub_connectors.domain.errors import (
    ConnectionNotActive,
    ConnectionNotFound,
    ConnectorUnavailable,
    IdempotencyKeyInUse,
    IdempotencyKeyReused,
    InvalidParametersError,
    UnknownActionError,
)
from hub_connectors.domain.schemas import schema_errors
from hub_connectors.domain.states import ConnectionStatus
from hub_connectors.registry import ConnectorRegistry, RegisteredConnector
from hub_connectors.repositories import action_idempotency, connections
from hub_connectors.runtime import ConnectorRuntime
from hub_connectors.services.caller import Caller
from hub_connectors.services.contexts import context_of
from hub_connectors.services.database import publish
from hub_connectors.services.trigger_polls import TriggerPolls

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Ready:
    """An action that passed every check and may run."""

    connection: Connection
    registered: RegisteredConnector


def action_fingerprint(connection_id: UUID, action_id: str, parameters: dict[str, Any]) -> str:
    asked = {"connection_id": str(connection_id), "action_id": action_id, "parameters": parameters}
    return hashlib.sha256(json.dumps(asked, sort_keys=True, default=str).encode()).hexdigest()


class ActionService:
    def __init__(
        self,
        db: Database,
        registry: ConnectorRegistry,
        runtime: ConnectorRuntime,
        *,
        event_result_max_bytes: int = 16 * 1024,
        trigger_polls: TriggerPolls | None = None,
        record_patience_s: float = 30.0,
    ) -> None:
        self._record_patience_s = record_patience_s
        self._trigger_polls = trigger_polls
        self._db = db
        self._registry = registry
        self._runtime = runtime
        self._event_result_max_bytes = event_result_max_bytes

    async def execute(
        self, caller: Caller, connection_id: UUID, action_id: str, parameters: dict[str, Any]
    ) -> ActionResult:
        ready = await self._ready(caller, connection_id, action_id, parameters)
        return await self._run(caller, ready, action_id, parameters)

    async def execute_once(
        self,
        caller: Caller,
        connection_id: UUID,
        action_id: str,
        parameters: dict[str, Any],
        idempotency_key: str,
    ) -> tuple[ActionResult, bool]:
        """``execute`` under an Idempotency-Key: (result, replayed). A request refused by the
        checks claims nothing (it may be retried with the same key once fixed); a replay needs
        none of them (the connection may have changed since)."""
        fingerprint = action_fingerprint(connection_id, action_id, parameters)
        earlier = await self._earlier(caller, idempotency_key, fingerprint)
        if earlier is not None:
            return earlier, True
        ready = await self._ready(caller, connection_id, action_id, parameters)
        async with self._db.connection() as conn:
            claimed = await action_idempotency.claim(conn, caller.tenant_id, idempotency_key, fingerprint)
        if not claimed:  # a concurrent request with the same key claimed it first
            earlier = await self._earlier(caller, idempotency_key, fingerprint)
            if earlier is not None:
                return earlier, True
            raise IdempotencyKeyInUse("a concurrent request holds this Idempotency-Key")
        result = await self._run(caller, ready, action_id, parameters, idempotency_key=idempotency_key)
        return result, False

    async def _earlier(self, caller: Caller, key: str, fingerprint: str) -> ActionResult | None:
        """The recorded result of the key's first request; None when the key is free."""
        async with self._db.connection() as conn:
            earlier = await action_idempotency.find(conn, caller.tenant_id, key)
        if earlier is None:
            return None
        if earlier.fingerprint != fingerprint:
            raise IdempotencyKeyReused("this Idempotency-Key was used for a different request; use a new key")
        if earlier.result is None:
            raise IdempotencyKeyInUse(
                "an earlier request with this Idempotency-Key has no result: it is still running, or "
                "it was interrupted and whether the provider executed it is unknown; it is not run twice",
                details={"started_at": earlier.created_at.isoformat()},
            )
        return ActionResult.model_validate(earlier.result)

    async def _ready(
        self, caller: Caller, connection_id: UUID, action_id: str, parameters: dict[str, Any]
    ) -> _Ready:
        async with self._db.connection() as conn:
            connection = await connections.get(conn, caller.tenant_id, connection_id)
        if connection is None:
            raise ConnectionNotFound()
        registered = self._registry.get(connection.connector_id)
        if registered is None:
            raise ConnectorUnavailable(f"connector {connection.connector_id} is not loaded in this hub")
        if registered.custom:
            require_feature(caller.tier, Feature.CUSTOM_CONNECTORS)
        action = registered.manifest.action(action_id)
        if action is None:
            raise UnknownActionError(f"{connection.connector_id} has no action {action_id!r}")
        if connection.status is not ConnectionStatus.ACTIVE:
            raise ConnectionNotActive(
                f"the connection is {connection.status}, not active",
                details={"status": str(connection.status)},
            )
        # Checked here against the manifest (data), not by plugin code, before anything runs.
        errors = schema_errors(action.parameters_schema, parameters)
        if errors:
            raise InvalidParametersError(
                f"parameters do not match the schema of {action_id}", details={"errors": errors}
            )
        return _Ready(connection, registered)

    async def _run(
        self,
        caller: Caller,
        ready: _Ready,
        action_id: str,
        parameters: dict[str, Any],
        *,
        idempotency_key: str | None = None,
    ) -> ActionResult:
        connection, registered = ready.connection, ready.registered
        result = bounded_errors(
            await self._runtime.execute(
                registered, context_of(connection), action_id, parameters, tier=caller.tier.value
            )
        )
        await self._record(caller, ready, action_id, result, idempotency_key)
        return result

    async def _record(
        self,
        caller: Caller,
        ready: _Ready,
        action_id: str,
        result: ActionResult,
        idempotency_key: str | None,
    ) -> None:
        """The event (and the key's result) in one transaction. The provider has already run the
        action, so a database outage here is waited out (up to ``record_patience_s``) instead
        of answered 503: a 503 would tell the caller the action failed although it ran, and its
        event would be lost."""
        connection, registered = ready.connection, ready.registered
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._record_patience_s
        delay = 0.2
        while True:
            try:
                async with self._db.transaction() as conn:
                    await publish(
                        conn,
                        IntegrationActionExecuted(
                            tenant_id=caller.tenant_id,
                            connection_id=connection.id,
                            connector_id=connection.connector_id,
                            action_id=action_id,
                            result=summarize(result, self._event_result_max_bytes),
                            duration_ms=result.duration_ms or 0,
                        ),
                    )
                    if idempotency_key is not None:
                        await action_idempotency.complete(
                            conn, caller.tenant_id, idempotency_key, result.model_dump(mode="json")
                        )
                    if result.success and self._trigger_polls is not None:
                        try:
                            await self._trigger_polls.watch_action_result(
                                conn, registered, connection, action_id, result.data
                            )
                        except ConnectorError as exc:  # the action happened: its result still stands
                            log.warning(
                                "action result not watched",
                                extra={"action_id": action_id, "error_code": exc.code},
                            )
                return
            except Exception as exc:
                if not database_outage(exc) or loop.time() + delay > deadline:
                    raise
                log.warning(
                    "action ran; its result waits for the database",
                    extra={"action_id": action_id, "error": type(exc).__name__},
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, 2.0)


def database_outage(exc: BaseException) -> bool:
    """Postgres unreachable, restarting or shutting down (also mid-transaction)."""
    return is_transient(exc) or isinstance(exc, asyncpg.AdminShutdownError | asyncpg.CrashShutdownError)
