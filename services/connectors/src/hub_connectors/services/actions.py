"""``POST /v1/connections/{id}/actions/{action_id}``: validate, run, record."""

from __future__ import annotations

import logging
from typing import Any
from uuid import UUID

from hub_common.db import Database
from hub_common.events import IntegrationActionExecuted
from hub_common.license import Feature, require_feature
from hub_connector_sdk import ActionResult, ConnectorError
from hub_connectors.domain.action_summary import bounded_errors, summarize
from hub_connectors.domain.errors import (
    ConnectionNotActive,
    ConnectionNotFound,
    ConnectorUnavailable,
    InvalidParametersError,
    UnknownActionError,
)
from hub_connectors.domain.schemas import schema_errors
from hub_connectors.domain.states import ConnectionStatus
from hub_connectors.registry import ConnectorRegistry
from hub_connectors.repositories import connections
from hub_connectors.runtime import ConnectorRuntime
from hub_connectors.services.caller import Caller
from hub_connectors.services.contexts import context_of
from hub_connectors.services.database import publish
from hub_connectors.services.trigger_polls import TriggerPolls

log = logging.getLogger(__name__)


class ActionService:
    def __init__(
        self,
        db: Database,
        registry: ConnectorRegistry,
        runtime: ConnectorRuntime,
        *,
        event_result_max_bytes: int = 16 * 1024,
        trigger_polls: TriggerPolls | None = None,
    ) -> None:
        self._trigger_polls = trigger_polls
        self._db = db
        self._registry = registry
        self._runtime = runtime
        self._event_result_max_bytes = event_result_max_bytes

    async def execute(
        self, caller: Caller, connection_id: UUID, action_id: str, parameters: dict[str, Any]
    ) -> ActionResult:
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
        result = bounded_errors(
            await self._runtime.execute(
                registered, context_of(connection), action_id, parameters, tier=caller.tier.value
            )
        )
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
            if result.success and self._trigger_polls is not None:
                try:
                    await self._trigger_polls.watch_action_result(
                        conn, registered, connection, action_id, result.data
                    )
                except ConnectorError as exc:  # the action happened: its result still stands
                    log.warning(
                        "action result not watched", extra={"action_id": action_id, "error_code": exc.code}
                    )
        return result
