"""One-call helpers for connector tests (pytest or not: they are plain functions).

    result = await run_action(
        StatuspageConnector, "create_incident", {"name": "API down", "status": "investigating"},
        config={"page_id": "p1"},
        responses={"POST /pages/{page_id}/incidents": (201, {"id": "i1", ...})},
    )
    assert result.success

``responses`` maps ``"METHOD /path/{template}"`` to an answer (see ``GatewayStub.route``);
``cassette`` replays a recording; ``spec`` checks every request against an API description;
pass your own ``stub`` to inspect ``stub.calls`` afterwards.
"""

from __future__ import annotations

import inspect
import json
import string
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from hub_connector_sdk._schema_errors import describe_errors
from hub_connector_sdk.base import BaseConnector
from hub_connector_sdk.errors import ManifestError
from hub_connector_sdk.hosts import matches_pattern
from hub_connector_sdk.models import (
    HOSTED_AUTH_METHODS,
    ActionResult,
    ConnectionContext,
    ConnectorHealth,
    ExportPage,
    PollResult,
    TriggerEvent,
)
from hub_connector_sdk.testkit.gateway import Answer, GatewayStub, Handler
from hub_connector_sdk.testkit.openapi import OpenApiSpec
from hub_connector_sdk.testkit.recording import RecordReplayTransport
from hub_connector_sdk.versions import HUB_VERSION, at_most
from hub_connector_sdk.webhook_signatures import JwtSignature, sign_webhook, verify_webhook

Responses = Mapping[str, "Answer | Handler"]


class SchemaMismatch(AssertionError):
    """An action's output or a trigger's payload does not match the schema it declares."""


def check_against(schema: Mapping[str, Any] | None, value: Any, where: str) -> None:
    """Raise SchemaMismatch listing every problem of ``value`` against ``schema`` (None: no check)."""
    if schema is None:
        return
    errors = describe_errors(Draft202012Validator(dict(schema)), value)
    if errors:
        lines = "\n".join(f"  - {e['path']}: {e['message']}" for e in errors)
        raise SchemaMismatch(f"{where} does not match its declared schema:\n{lines}")


def connection_context(
    config: Mapping[str, Any] | None = None,
    *,
    connection_id: str = "conn_test",
    tenant_id: str = "tenant_test",
) -> ConnectionContext:
    return ConnectionContext(connection_id=connection_id, tenant_id=tenant_id, config=dict(config or {}))


def gateway_stub(
    *,
    responses: Responses | None = None,
    cassette: str | Path | RecordReplayTransport | None = None,
    spec: OpenApiSpec | None = None,
    stub: GatewayStub | None = None,
) -> GatewayStub:
    """A stub with ``responses`` routed (``"POST /pages/{page_id}/incidents": answer``)."""
    stub = stub or GatewayStub(cassette=cassette, spec=spec)
    for route, answer in (responses or {}).items():
        method, _, template = route.strip().partition(" ")
        if not template:
            raise ValueError(f"response key {route!r} must read 'METHOD /path'")
        stub.route(method, template.strip(), answer)
    return stub


async def run_action(
    connector_cls: type[BaseConnector],
    action_id: str,
    params: Mapping[str, Any] | None = None,
    *,
    config: Mapping[str, Any] | None = None,
    responses: Responses | None = None,
    cassette: str | Path | RecordReplayTransport | None = None,
    spec: OpenApiSpec | None = None,
    stub: GatewayStub | None = None,
) -> ActionResult:
    """Validate and run one action as the hub would; InvalidParameters propagates.

    A successful result's data is checked against the action's ``output_schema``
    (SchemaMismatch): what you declare is what automations rely on.
    """
    gateway = gateway_stub(responses=responses, cassette=cassette, spec=spec, stub=stub)
    connector = gateway.connector(connector_cls, config=config)
    async with connector.client:
        result = await connector.execute(action_id, params or {})
    if result.success:
        declared = connector_cls.manifest().action(action_id)
        check_against(declared.output_schema if declared else None, result.data, f"action {action_id} output")
    return result


async def run_health_check(
    connector_cls: type[BaseConnector],
    *,
    config: Mapping[str, Any] | None = None,
    responses: Responses | None = None,
    cassette: str | Path | RecordReplayTransport | None = None,
    spec: OpenApiSpec | None = None,
    stub: GatewayStub | None = None,
) -> ConnectorHealth:
    gateway = gateway_stub(responses=responses, cassette=cassette, spec=spec, stub=stub)
    connector = gateway.connector(connector_cls, config=config)
    async with connector.client:
        return await connector.health_check()


async def run_poll(
    connector_cls: type[BaseConnector],
    trigger_id: str,
    cursor: str | None = None,
    *,
    config: Mapping[str, Any] | None = None,
    responses: Responses | None = None,
    cassette: str | Path | RecordReplayTransport | None = None,
    spec: OpenApiSpec | None = None,
    stub: GatewayStub | None = None,
) -> PollResult:
    """One poll; every event's payload is checked against the trigger's ``payload_schema``."""
    gateway = gateway_stub(responses=responses, cassette=cassette, spec=spec, stub=stub)
    connector = gateway.connector(connector_cls, config=config)
    async with connector.client:
        result = await connector.poll(trigger_id, cursor)
    check_trigger_payloads(connector_cls, result.events)
    return result


async def run_export(
    connector_cls: type[BaseConnector],
    cursor: str | None = None,
    *,
    config: Mapping[str, Any] | None = None,
    responses: Responses | None = None,
    cassette: str | Path | RecordReplayTransport | None = None,
    spec: OpenApiSpec | None = None,
    stub: GatewayStub | None = None,
) -> ExportPage:
    """One page of a content export, as the hub's export task would ask for it."""
    gateway = gateway_stub(responses=responses, cassette=cassette, spec=spec, stub=stub)
    connector = gateway.connector(connector_cls, config=config)
    async with connector.client:
        return await connector.export_content(cursor)


def signed_delivery(
    connector_cls: type[BaseConnector],
    payload: Mapping[str, Any] | bytes,
    secret: str | bytes,
    *,
    headers: Mapping[str, str] | None = None,
    timestamp: int | None = None,
) -> tuple[bytes, dict[str, str]]:
    """A delivery body and headers signed with the manifest's scheme (HMAC or token), as the
    provider would send it: ``parse_webhook(cls, body, headers=headers, secret=secret)``."""
    spec = connector_cls.manifest().webhook_signature
    if spec is None or isinstance(spec, JwtSignature):
        raise AssertionError(f"{connector_cls.__name__}: no HMAC or token webhook_signature to sign with")
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return body, {**dict(headers or {}), **sign_webhook(spec, secret, body, timestamp=timestamp)}


def check_trigger_payloads(connector_cls: type[BaseConnector], events: list[TriggerEvent]) -> None:
    manifest = connector_cls.manifest()
    for event in events:
        declared = manifest.trigger(event.trigger_id)
        if declared is None:
            raise SchemaMismatch(f"event for unknown trigger {event.trigger_id!r}")
        check_against(declared.payload_schema, event.payload, f"trigger {event.trigger_id} payload")


def parse_webhook(
    connector_cls: type[BaseConnector],
    payload: Mapping[str, Any] | bytes,
    *,
    headers: Mapping[str, str] | None = None,
    config: Mapping[str, Any] | None = None,
    secret: str | bytes | None = None,
    now: float | None = None,
) -> list[TriggerEvent]:
    """The triggers a delivery fires; each payload is checked against its trigger's
    ``payload_schema``. With ``secret``, the delivery is first verified against the manifest's
    ``webhook_signature`` exactly as the hub does (WebhookVerificationError when it fails), so a
    recorded real delivery proves the declared scheme right."""
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    if secret is not None:
        spec = connector_cls.manifest().webhook_signature
        if spec is None:
            raise AssertionError(f"{connector_cls.__name__} declares no webhook_signature to verify with")
        verify_webhook(spec, secret, dict(headers or {}), body, now=now)
    connector = GatewayStub().connector(connector_cls, config=config)  # parsing makes no calls
    events = connector.parse_webhook(dict(headers or {}), body)
    check_trigger_payloads(connector_cls, events)
    return events


# -- static checks ------------------------------------------------------------------------------------
def connector_problems(connector_cls: type[BaseConnector], *, hub_version: str = HUB_VERSION) -> list[str]:
    """What would stop the hub loading the connector, or make it misbehave once loaded.

    ``hub_version``: the hub you target (default: the one this SDK release ships with).
    """
    try:
        manifest = connector_cls.manifest()
    except ManifestError as exc:
        return [exc.message]
    problems: list[str] = []
    if manifest.auth.method not in HOSTED_AUTH_METHODS:
        hosted = ", ".join(sorted(str(m) for m in HOSTED_AUTH_METHODS))
        problems.append(f"auth method {manifest.auth.method!s} is refused by the hub (hosted: {hosted})")
    if not at_most(manifest.min_hub_version, hub_version):
        problems.append(f"min_hub_version {manifest.min_hub_version} is newer than the hub ({hub_version})")
    schemas = [("api.config_schema", manifest.api.config_schema)]
    schemas += [
        (f"action {a.id} output_schema", a.output_schema) for a in manifest.actions if a.output_schema
    ]
    schemas += [
        (f"trigger {t.id} payload_schema", t.payload_schema) for t in manifest.triggers if t.payload_schema
    ]
    for where, schema in schemas:
        try:
            Draft202012Validator.check_schema(schema)
        except SchemaError as exc:
            problems.append(f"{where} is not a JSON Schema: {exc.message}")
    # The gateway's rule (ports included), so a manifest passing here is one the hub can call.
    base = urlsplit(manifest.api.base_url)
    host, port = (base.hostname or "").lower(), _port_of(manifest.api.base_url)
    if manifest.api.allowed_hosts and not any(
        matches_pattern(host, port, p) for p in manifest.api.allowed_hosts
    ):
        problems.append(
            f"api.base_url host {host!r} is not in api.allowed_hosts {manifest.api.allowed_hosts}"
        )
    problems += _method_problems(connector_cls, manifest.api.config_schema)
    return problems


def assert_valid_connector(connector_cls: type[BaseConnector], *, hub_version: str = HUB_VERSION) -> None:
    problems = connector_problems(connector_cls, hub_version=hub_version)
    if problems:
        raise AssertionError(f"{connector_cls.__name__}:\n" + "\n".join(f"  - {p}" for p in problems))


def _method_problems(cls: type[BaseConnector], config_schema: Mapping[str, Any]) -> list[str]:
    problems: list[str] = []
    for spec in cls._actions.values():
        if not inspect.iscoroutinefunction(spec.func):
            problems.append(f"action {spec.id} must be an async def")
    for trig in cls._triggers.values():
        is_async = inspect.iscoroutinefunction(trig.func)
        if trig.delivery == "polling" and not is_async:
            problems.append(f"polling trigger {trig.id} must be an async def")
        if trig.delivery == "webhook" and is_async:
            problems.append(f"webhook trigger {trig.id} parses synchronously: use def, not async def")
    webhook_triggers = [t.id for t in cls._triggers.values() if t.delivery == "webhook"]
    if webhook_triggers and cls.webhook_event_name is BaseConnector.webhook_event_name:
        problems.append(
            f"webhook triggers {', '.join(webhook_triggers)} never fire: override webhook_event_name()"
        )
    if cls.health_path is None and cls.health_check is BaseConnector.health_check:
        problems.append("no health check: set health_path or override health_check()")
    if cls.health_path is not None:
        known = set((config_schema.get("properties") or {}).keys())
        for _, name, _, _ in string.Formatter().parse(cls.health_path):
            if name is not None and name not in known:
                problems.append(f"health_path placeholder {{{name}}} is not a property of api.config_schema")
    return problems


def _port_of(base_url: str) -> int | None:
    try:
        return urlsplit(base_url).port
    except ValueError:
        return -1  # an invalid port: no pattern admits it
