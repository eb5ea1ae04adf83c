"""``/v1/automations``: create, read, change, delete automations, preview their parameters and
list their runs (docs/adr/0029). An automation is checked before it is saved: both connections
are the tenant's, the trigger and the action exist, every template parses, the parameters fit
the action's schema (constants at once, templates rendered against a sample payload)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

import asyncpg

from hub_common.db import Database
from hub_common.license import Feature, require_feature
from hub_connector_sdk import ConnectorAction, ConnectorTrigger
from hub_connectors.domain import templates
from hub_connectors.domain.automation import Automation, AutomationRunRow
from hub_connectors.domain.connection import Connection
from hub_connectors.domain.errors import AutomationNotFound, InvalidAutomation
from hub_connectors.domain.schemas import schema_errors
from hub_connectors.domain.states import ConnectionStatus
from hub_connectors.registry import ConnectorRegistry
from hub_connectors.repositories import automations as repo
from hub_connectors.repositories import connections
from hub_connectors.services.caller import Caller
from hub_connectors.services.trigger_webhooks import EnsuredWebhook, TriggerWebhooks


@dataclass(frozen=True)
class AutomationSpec:
    name: str
    trigger_connection_id: UUID
    trigger_id: str
    action_connection_id: UUID
    action_id: str
    parameters: dict[str, Any]
    enabled: bool = True


@dataclass(frozen=True)
class SavedAutomation:
    automation: Automation
    webhook: EnsuredWebhook | None  # the registration its webhook trigger gets events through


@dataclass(frozen=True)
class Preview:
    parameters: dict[str, Any] | None
    errors: list[dict[str, str]]


def trigger_context(
    payload: dict[str, Any],
    *,
    trigger_id: str,
    connector_id: str,
    connection_id: UUID | str,
    event_id: str | None = None,
    occurred_at: datetime | None = None,
) -> dict[str, Any]:
    """What a template sees: ``payload`` and ``trigger`` (never a credential)."""
    return {
        "payload": payload,
        "trigger": {
            "id": trigger_id,
            "connector_id": connector_id,
            "connection_id": str(connection_id),
            "event_id": event_id,
            "occurred_at": occurred_at.isoformat() if occurred_at else None,
        },
    }


def _without_required(schema: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in schema.items() if k not in ("required", "dependentRequired")}


def _constants(mapping: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in mapping.items() if not _has_template(v)}


def _has_template(value: Any) -> bool:
    if isinstance(value, dict):
        return any(_has_template(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_template(v) for v in value)
    return templates.is_template(value)


def mapping_errors(action: ConnectorAction, mapping: dict[str, Any]) -> list[dict[str, str]]:
    """What is wrong with a parameter mapping before any payload is known."""
    errors: list[dict[str, str]] = []
    for name, value in mapping.items():
        try:
            templates.check_mapping({name: value})
        except templates.TemplateError as exc:
            errors.append({"path": f"/{exc.parameter}", "rule": "template", "message": exc.message})
    schema = action.parameters_schema
    required = [r for r in schema.get("required", []) if r not in mapping]
    errors.extend(
        {"path": f"/{name}", "rule": "required", "message": f"missing required property {name!r}"}
        for name in required
    )
    properties = schema.get("properties") or {}
    if schema.get("additionalProperties") is False:
        errors.extend(
            {
                "path": f"/{name}",
                "rule": "additionalProperties",
                "message": f"{action.id} has no parameter {name!r}",
            }
            for name in mapping
            if name not in properties
        )
    errors.extend(schema_errors(_without_required(schema), _constants(mapping)))
    return errors


def render_preview(action: ConnectorAction, mapping: dict[str, Any], context: dict[str, Any]) -> Preview:
    try:
        rendered = templates.render_parameters(mapping, context, action.parameters_schema)
    except templates.TemplateError as exc:
        return Preview(None, [{"path": f"/{exc.parameter}", "rule": "template", "message": exc.message}])
    return Preview(rendered, schema_errors(action.parameters_schema, rendered))


class AutomationService:
    def __init__(
        self, db: Database, registry: ConnectorRegistry, webhooks: TriggerWebhooks | None = None
    ) -> None:
        self._db = db
        self._registry = registry
        self._webhooks = webhooks  # None: webhook registrations are not this instance's business

    async def _connection(self, caller: Caller, connection_id: UUID, role: str) -> Connection:
        async with self._db.connection() as conn:
            found = await connections.get(conn, caller.tenant_id, connection_id)
        if found is None or found.status is ConnectionStatus.DISCONNECTED:
            raise InvalidAutomation(
                f"the {role} connection does not exist", details={"field": f"{role}_connection_id"}
            )
        return found

    async def resolve(
        self, caller: Caller, spec: AutomationSpec
    ) -> tuple[Connection, ConnectorTrigger, Connection, ConnectorAction]:
        source = await self._connection(caller, spec.trigger_connection_id, "trigger")
        target = await self._connection(caller, spec.action_connection_id, "action")
        source_connector = self._registry.get(source.connector_id)
        target_connector = self._registry.get(target.connector_id)
        if source_connector is None or target_connector is None:
            raise InvalidAutomation("a connection's connector is not loaded in this hub")
        for registered in (source_connector, target_connector):
            if registered.custom:
                require_feature(caller.tier, Feature.CUSTOM_CONNECTORS)
        trigger = source_connector.manifest.trigger(spec.trigger_id)
        if trigger is None:
            raise InvalidAutomation(
                f"{source.connector_id} has no trigger {spec.trigger_id!r}", details={"field": "trigger_id"}
            )
        action = target_connector.manifest.action(spec.action_id)
        if action is None:
            raise InvalidAutomation(
                f"{target.connector_id} has no action {spec.action_id!r}", details={"field": "action_id"}
            )
        return source, trigger, target, action

    async def _validated(
        self, caller: Caller, spec: AutomationSpec, sample_payload: dict[str, Any] | None
    ) -> tuple[Connection, ConnectorTrigger]:
        if not spec.name.strip():
            raise InvalidAutomation("an automation needs a name", details={"field": "name"})
        source, trigger, _target, action = await self.resolve(caller, spec)
        errors = mapping_errors(action, spec.parameters)
        if not errors and sample_payload is not None:
            context = trigger_context(
                sample_payload,
                trigger_id=trigger.id,
                connector_id=source.connector_id,
                connection_id=source.id,
            )
            errors = render_preview(action, spec.parameters, context).errors
        if errors:
            raise InvalidAutomation(f"the parameters do not fit {action.id}", details={"errors": errors})
        return source, trigger

    async def _ensure_webhook(
        self, conn: asyncpg.Connection, caller: Caller, source: Connection, trigger: ConnectorTrigger
    ) -> EnsuredWebhook | None:
        registered = self._registry.get(source.connector_id)
        if self._webhooks is None or registered is None:
            return None
        return await self._webhooks.ensure(conn, caller, source, registered, trigger)

    async def _release_webhook(
        self, conn: asyncpg.Connection, caller: Caller, automation: Automation
    ) -> None:
        if self._webhooks is not None:
            await self._webhooks.release(
                conn, caller, automation.trigger_connection_id, automation.trigger_id
            )

    async def create(
        self, caller: Caller, spec: AutomationSpec, *, sample_payload: dict[str, Any] | None = None
    ) -> SavedAutomation:
        source, trigger = await self._validated(caller, spec, sample_payload)
        now = datetime.now(UTC)
        automation = Automation(
            id=uuid4(),
            tenant_id=caller.tenant_id,
            name=spec.name.strip()[:200],
            trigger_connection_id=spec.trigger_connection_id,
            trigger_id=spec.trigger_id,
            action_connection_id=spec.action_connection_id,
            action_id=spec.action_id,
            parameters=spec.parameters,
            enabled=spec.enabled,
            disabled_reason=None,
            created_by=caller.user_id,
            created_at=now,
            updated_at=now,
        )
        ensured: EnsuredWebhook | None = None
        try:
            async with self._db.transaction() as conn:
                ensured = await self._ensure_webhook(conn, caller, source, trigger)
                saved = await repo.insert(conn, automation)
        except BaseException:
            if self._webhooks is not None:
                await self._webhooks.undo(caller, ensured)
            raise
        return SavedAutomation(saved, ensured)

    async def get(self, caller: Caller, automation_id: UUID) -> Automation:
        async with self._db.connection() as conn:
            found = await repo.get(conn, caller.tenant_id, automation_id)
        if found is None:
            raise AutomationNotFound()
        return found

    async def list_all(self, caller: Caller) -> list[Automation]:
        async with self._db.connection() as conn:
            return await repo.list_for_tenant(conn, caller.tenant_id)

    async def replace(
        self,
        caller: Caller,
        automation_id: UUID,
        spec: AutomationSpec,
        *,
        sample_payload: dict[str, Any] | None = None,
    ) -> SavedAutomation:
        current = await self.get(caller, automation_id)
        source, trigger = await self._validated(caller, spec, sample_payload)
        changed = replace(
            current,
            name=spec.name.strip()[:200],
            trigger_connection_id=spec.trigger_connection_id,
            trigger_id=spec.trigger_id,
            action_connection_id=spec.action_connection_id,
            action_id=spec.action_id,
            parameters=spec.parameters,
            enabled=spec.enabled,
            disabled_reason=None if spec.enabled else current.disabled_reason,
        )
        ensured: EnsuredWebhook | None = None
        try:
            async with self._db.transaction() as conn:
                ensured = await self._ensure_webhook(conn, caller, source, trigger)
                saved = await repo.update(conn, changed)
                if saved is None:
                    raise AutomationNotFound()
                if (current.trigger_connection_id, current.trigger_id) != (source.id, trigger.id):
                    await self._release_webhook(conn, caller, current)
        except BaseException:
            if self._webhooks is not None:
                await self._webhooks.undo(caller, ensured)
            raise
        return SavedAutomation(saved, ensured)

    async def set_enabled(self, caller: Caller, automation_id: UUID, enabled: bool) -> Automation:
        current = await self.get(caller, automation_id)
        reason = None if enabled else (current.disabled_reason or f"disabled by {caller.user_id}")
        return await self._save(caller, replace(current, enabled=enabled, disabled_reason=reason))

    async def _save(self, caller: Caller, automation: Automation) -> Automation:
        async with self._db.transaction() as conn:
            saved = await repo.update(conn, automation)
        if saved is None:
            raise AutomationNotFound()
        return saved

    async def delete(self, caller: Caller, automation_id: UUID) -> None:
        """The automation goes; so does a webhook registration made only for its trigger."""
        async with self._db.transaction() as conn:
            current = await repo.get(conn, caller.tenant_id, automation_id)
            if current is None or not await repo.delete(conn, caller.tenant_id, automation_id):
                raise AutomationNotFound()
            await self._release_webhook(conn, caller, current)

    async def preview(self, caller: Caller, spec: AutomationSpec, sample_payload: dict[str, Any]) -> Preview:
        source, trigger, _target, action = await self.resolve(caller, spec)
        errors = mapping_errors(action, spec.parameters)
        context = trigger_context(
            sample_payload, trigger_id=trigger.id, connector_id=source.connector_id, connection_id=source.id
        )
        shown = render_preview(action, spec.parameters, context)
        return Preview(shown.parameters, errors + [e for e in shown.errors if e not in errors])

    async def runs(
        self,
        caller: Caller,
        automation_id: UUID,
        *,
        limit: int = 50,
        before: tuple[datetime, UUID] | None = None,
    ) -> list[AutomationRunRow]:
        await self.get(caller, automation_id)
        async with self._db.connection() as conn:
            return await repo.list_runs(conn, caller.tenant_id, automation_id, limit=limit, before=before)
