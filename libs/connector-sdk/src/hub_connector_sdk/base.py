"""``BaseConnector``: declare actions and triggers once, with schemas, and get validation free.

    class Statuspage(BaseConnector):
        id = "statuspage"
        ...
        @action(params=CreateIncident, output=Incident.model_json_schema())
        async def create_incident(self, params: CreateIncident) -> ActionResult: ...

        @trigger("incident_created", type=TriggerType.CREATED, events=["incident.create"])
        def on_incident(self, event: str, payload: dict) -> dict | None: ...

The manifest is built from the class attributes and the decorated methods; parameters are
validated against the action's JSON Schema before the method runs.
"""

from __future__ import annotations

import json
import string
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

from jsonschema import Draft202012Validator
from pydantic import BaseModel, ValidationError

from hub_connector_sdk._schema_errors import describe_errors, pointer
from hub_connector_sdk.client import ProviderClient, segment
from hub_connector_sdk.errors import (
    ConnectorError,
    CredentialsRejected,
    GatewayError,
    InvalidParameters,
    ManifestError,
    ProviderError,
    UnknownAction,
    UnknownTrigger,
)
from hub_connector_sdk.models import (
    ActionResult,
    ApiSpec,
    AuthSpec,
    ConnectionContext,
    ConnectorAction,
    ConnectorCategory,
    ConnectorHealth,
    ConnectorManifest,
    ConnectorTrigger,
    ExportPage,
    PollResult,
    TriggerEvent,
    TriggerOutput,
    TriggerType,
    WebhookRegistration,
)
from hub_connector_sdk.watch import WatchCursor
from hub_connector_sdk.webhook_signatures import (
    HmacSignature,
    JwtSignature,
    TokenSignature,
    webhook_signature,
)

ActionFunc = Callable[..., Awaitable[Any]]
ParseFunc = Callable[..., dict[str, Any] | TriggerOutput | None]
PollFunc = Callable[..., Awaitable[PollResult]]


@dataclass
class _ActionSpec:
    id: str
    name: str
    description: str
    params_model: type[BaseModel] | None
    parameters_schema: dict[str, Any]
    output_schema: dict[str, Any] | None
    scopes: list[str]
    idempotent: bool
    func: ActionFunc
    validator: Draft202012Validator = field(init=False)

    def __post_init__(self) -> None:
        Draft202012Validator.check_schema(self.parameters_schema)
        self.validator = Draft202012Validator(self.parameters_schema)


@dataclass
class _TriggerSpec:
    id: str
    name: str
    type: TriggerType
    description: str
    delivery: str
    events: list[str]
    payload_schema: dict[str, Any] | None
    poll_interval_s: int | None
    func: Callable[..., Any]


def _schema_of(
    spec: type[BaseModel] | Mapping[str, Any] | None, *, output: bool = False
) -> dict[str, Any] | None:
    if spec is None:
        return None
    if isinstance(spec, type) and issubclass(spec, BaseModel):
        # What a caller receives is the serialised model, which can differ from its input form.
        return spec.model_json_schema(mode="serialization" if output else "validation")
    return dict(spec)


def _doc(func: Callable[..., Any]) -> str:
    return (func.__doc__ or "").strip().split("\n\n")[0].replace("\n", " ")


def action(
    id: str | None = None,
    *,
    name: str | None = None,
    description: str | None = None,
    params: type[BaseModel] | Mapping[str, Any] | None = None,
    output: type[BaseModel] | Mapping[str, Any] | None = None,
    scopes: list[str] | tuple[str, ...] = (),
    idempotent: bool = False,
) -> Callable[[ActionFunc], ActionFunc]:
    """Declare an action. ``params`` is a pydantic model (the method receives an instance) or a
    JSON Schema (the method receives the validated dict)."""

    def decorate(func: ActionFunc) -> ActionFunc:
        action_id = id or func.__name__
        schema = _schema_of(params) or {"type": "object", "properties": {}, "additionalProperties": False}
        func.__hub_action__ = _ActionSpec(  # type: ignore[attr-defined]
            id=action_id,
            name=name or action_id.replace("_", " ").capitalize(),
            description=description or _doc(func) or action_id,
            params_model=params if isinstance(params, type) else None,
            parameters_schema=schema,
            output_schema=_schema_of(output, output=True),
            scopes=list(scopes),
            idempotent=idempotent,
            func=func,
        )
        return func

    return decorate


def trigger(
    id: str,
    *,
    type: TriggerType,
    events: list[str] | tuple[str, ...],
    name: str | None = None,
    description: str | None = None,
    payload: type[BaseModel] | Mapping[str, Any] | None = None,
) -> Callable[[ParseFunc], ParseFunc]:
    """Declare a webhook trigger. The method gets ``(event_name, payload)`` for each provider
    event listed in ``events`` and returns the normalised payload (a dict, or a
    ``TriggerOutput`` carrying the provider's event id and the event's own time), or ``None``
    to ignore it."""

    def decorate(func: ParseFunc) -> ParseFunc:
        func.__hub_trigger__ = _TriggerSpec(  # type: ignore[attr-defined]
            id=id,
            name=name or id.replace("_", " ").capitalize(),
            type=type,
            description=description or _doc(func) or id,
            delivery="webhook",
            events=list(events),
            payload_schema=_schema_of(payload, output=True),
            poll_interval_s=None,
            func=func,
        )
        return func

    return decorate


def polling_trigger(
    id: str,
    *,
    type: TriggerType,
    interval_s: int = 60,
    name: str | None = None,
    description: str | None = None,
    payload: type[BaseModel] | Mapping[str, Any] | None = None,
) -> Callable[[PollFunc], PollFunc]:
    """Declare a polling trigger: ``async def poll(self, cursor) -> PollResult``."""

    def decorate(func: PollFunc) -> PollFunc:
        func.__hub_trigger__ = _TriggerSpec(  # type: ignore[attr-defined]
            id=id,
            name=name or id.replace("_", " ").capitalize(),
            type=type,
            description=description or _doc(func) or id,
            delivery="polling",
            events=[],
            payload_schema=_schema_of(payload, output=True),
            poll_interval_s=interval_s,
            func=func,
        )
        return func

    return decorate


class BaseConnector:
    """Subclass, set the class attributes, declare actions/triggers, implement what applies."""

    id: ClassVar[str]
    name: ClassVar[str]
    version: ClassVar[str] = "1.0.0"
    category: ClassVar[ConnectorCategory]
    description: ClassVar[str]
    auth: ClassVar[AuthSpec]
    api: ClassVar[ApiSpec]
    min_hub_version: ClassVar[str] = "0.1.0"
    logo_url: ClassVar[str | None] = None
    docs_url: ClassVar[str | None] = None
    webhook_signature: ClassVar[str | HmacSignature | TokenSignature | JwtSignature | None] = None
    # Presets a connection may pick instead, by name in its config key ``webhook_signature``.
    webhook_signature_alternatives: ClassVar[tuple[str, ...]] = ()
    health_path: ClassVar[str | None] = None
    builtin: ClassVar[bool] = False

    _actions: ClassVar[dict[str, _ActionSpec]] = {}
    _triggers: ClassVar[dict[str, _TriggerSpec]] = {}
    _duplicate_ids: ClassVar[dict[str, list[str]]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._actions, duplicate_actions = _collect(cls, "__hub_action__")
        cls._triggers, duplicate_triggers = _collect(cls, "__hub_trigger__")
        cls._duplicate_ids = {"action": duplicate_actions, "trigger": duplicate_triggers}

    def __init__(self, context: ConnectionContext, client: ProviderClient) -> None:
        self.context = context
        self.client = client

    # -- the manifest -------------------------------------------------------------------------
    @classmethod
    def manifest(cls) -> ConnectorManifest:
        """Build and validate the manifest (raises ManifestError with every reason found)."""
        for kind, ids in cls._duplicate_ids.items():
            if ids:
                raise ManifestError(f"{cls.__name__}: duplicate {kind} ids: {', '.join(sorted(set(ids)))}")
        problems: list[str] = []
        actions: list[ConnectorAction] = []
        triggers: list[ConnectorTrigger] = []
        for a in cls._actions.values():
            try:
                actions.append(_action_model(a))
            except ValidationError as exc:
                problems += _problems(exc, f"action {a.id!r} ")
        for t in cls._triggers.values():
            try:
                triggers.append(_trigger_model(t))
            except ValidationError as exc:
                problems += _problems(exc, f"trigger {t.id!r} ")
        try:
            manifest = ConnectorManifest(
                id=cls.id,
                name=cls.name,
                version=cls.version,
                category=cls.category,
                description=cls.description,
                auth=cls.auth,
                api=cls.api,
                min_hub_version=cls.min_hub_version,
                logo_url=cls.logo_url,
                docs_url=cls.docs_url,
                webhook_signature=cls.webhook_signature,
                webhook_signature_alternatives=list(cls.webhook_signature_alternatives),
                content_export=cls.export_content is not BaseConnector.export_content,
                builtin=cls.builtin,
                actions=actions,
                triggers=triggers,
            )
        except AttributeError as exc:
            raise ManifestError(f"{cls.__name__}: missing class attribute {exc.name!r}") from None
        except ValidationError as exc:
            problems = _problems(exc) + problems
        if problems:
            raise ManifestError(f"{cls.__name__}: {'; '.join(problems[:10])}")
        return manifest

    # -- actions ------------------------------------------------------------------------------
    @classmethod
    def validate_parameters(cls, action_id: str, parameters: Mapping[str, Any]) -> Any:
        """The validated parameters (a model instance or a dict); InvalidParameters lists
        every problem as ``{"path": JSON Pointer, "message", "validator"}``."""
        spec = cls._actions.get(action_id)
        if spec is None:
            raise UnknownAction(f"{cls.id} has no action {action_id!r}", status_code=404)
        errors = describe_errors(spec.validator, dict(parameters))
        if errors:
            raise InvalidParameters(
                f"parameters do not match the schema of {action_id}", details={"errors": errors}
            )
        if spec.params_model is not None:
            try:
                return spec.params_model.model_validate(dict(parameters))
            except ValidationError as exc:
                raise InvalidParameters(
                    f"parameters do not match the schema of {action_id}",
                    details={
                        "errors": [
                            {"path": pointer(e["loc"]), "message": e["msg"], "validator": e["type"]}
                            for e in exc.errors()[:20]
                        ]
                    },
                ) from None
        return dict(parameters)

    async def execute(self, action_id: str, parameters: Mapping[str, Any]) -> ActionResult:
        """Validate, run, and wrap the outcome; InvalidParameters/UnknownAction propagate."""
        validated = self.validate_parameters(action_id, parameters)
        spec = self._actions[action_id]
        started = time.perf_counter()
        try:
            outcome = await spec.func(self, validated)
            result = outcome if isinstance(outcome, ActionResult) else ActionResult.ok(_jsonable(outcome))
        except ProviderError as exc:
            result = ActionResult.fail(
                exc.code,
                exc.message,
                status_code=exc.status_code,
                retry_after_s=exc.retry_after_s,
                error_details={"provider_body": exc.body_excerpt} if exc.body_excerpt else None,
            )
        except ConnectorError as exc:
            result = ActionResult.fail(exc.code, exc.message, status_code=exc.status_code)
        duration = int((time.perf_counter() - started) * 1000)
        return result.model_copy(update={"duration_ms": duration})

    # -- health -------------------------------------------------------------------------------
    async def health_check(self) -> ConnectorHealth:
        """Default: GET ``health_path`` (``{config_key}`` placeholders filled from the connection's
        config) through the gateway; override for anything richer."""
        if self.health_path is None:
            raise NotImplementedError(f"{type(self).__name__} must define health_path or health_check()")
        started = time.perf_counter()
        try:
            resp = await self.client.get(self.expand_path(self.health_path))
        except CredentialsRejected as exc:
            return self._health(False, started, exc.message, invalid=True)
        except GatewayError as exc:
            return self._health(False, started, exc.message)
        except ProviderError as exc:
            return self._health(False, started, exc.message, invalid=exc.status_code == 403)
        except ConnectorError as exc:
            return self._health(False, started, exc.message)
        try:
            body = resp.json()
        except ValueError:
            body = None
        return self._health(True, started, "ok", account=self.health_account_info(body))

    def health_account_info(self, body: Any) -> Mapping[str, str]:
        """Who the credentials belong to, from the health response body (shown in the UI)."""
        return {}

    def expand_path(self, template: str, **values: str | int) -> str:
        """Fill ``{name}`` placeholders from ``values``, else from the connection's config; every
        value is percent-encoded as one path segment, so user input cannot add segments."""
        try:
            pieces = list(string.Formatter().parse(template))
        except ValueError:  # an unmatched brace
            raise ConnectorError(f"path template {template!r} is malformed", code="invalid_path") from None
        parts: list[str] = []
        for literal, field_name, _spec, _conv in pieces:
            parts.append(literal)
            if field_name is None:
                continue
            if field_name in values:
                value: Any = values[field_name]
            elif field_name in self.context.config:
                value = self.context.config[field_name]
            else:
                raise ConnectorError(
                    f"path {template!r} needs {field_name!r}, which is neither given nor in the "
                    "connection's config",
                    code="invalid_config",
                )
            parts.append(segment(value))
        return "".join(parts)

    @staticmethod
    def _health(
        ok: bool,
        started: float,
        message: str,
        *,
        invalid: bool = False,
        account: Mapping[str, str] | None = None,
    ) -> ConnectorHealth:
        return ConnectorHealth(
            is_healthy=ok,
            message=message,
            latency_ms=int((time.perf_counter() - started) * 1000),
            credentials_invalid=invalid,
            account_info=dict(account or {}),
        )

    # -- webhooks and polling ---------------------------------------------------------------------
    async def register_webhook(
        self, trigger_ids: list[str], target_url: str, secret: str
    ) -> WebhookRegistration:
        raise ConnectorError(
            f"{self.id} webhooks are configured at the provider, not by API",
            code="webhook_registration_unsupported",
        )

    async def unregister_webhook(self, registration: WebhookRegistration) -> None:
        raise ConnectorError(
            f"{self.id} webhooks are configured at the provider, not by API",
            code="webhook_registration_unsupported",
        )

    def webhook_event_name(self, headers: Mapping[str, str], payload: Any) -> str | None:
        """The provider's event name for a raw delivery (override per provider)."""
        return None

    def webhook_event_id(self, headers: Mapping[str, str], payload: Any) -> str | None:
        """The provider's id of this delivery (dedupe). Default: the header the manifest's
        ``webhook_signature`` names as ``delivery_id_header`` (``X-GitHub-Delivery``...);
        override for ids in the body (Slack's ``event_id``, Notion's ``id``)."""
        spec = webhook_signature(self.webhook_signature) if self.webhook_signature else None
        if spec is None or spec.delivery_id_header is None:
            return None
        return headers.get(spec.delivery_id_header.lower())

    def webhook_occurred_at(self, headers: Mapping[str, str], payload: Any) -> datetime | None:
        """When the event happened, by the provider's account (default: unknown → receipt time)."""
        return None

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> list[TriggerEvent]:
        """Raw webhook → the triggers it fires (signature already verified by the hub).

        Each event carries the provider's event id and time: from the parser's
        ``TriggerOutput`` when it returns one, else from ``webhook_event_id`` /
        ``webhook_occurred_at``.
        """
        try:
            payload = json.loads(body) if body else {}
        except ValueError:
            raise ConnectorError("webhook body is not JSON", code="invalid_webhook_body") from None
        lowered = {k.lower(): v for k, v in headers.items()}
        event = self.webhook_event_name(lowered, payload)
        fired: list[TriggerEvent] = []
        event_id: str | None = None
        occurred: datetime | None = None
        looked_up = False
        for spec in self._triggers.values():
            if spec.delivery != "webhook" or event not in spec.events:
                continue
            normalised = spec.func(self, event, payload)
            if normalised is None:
                continue
            if not looked_up:
                event_id = self.webhook_event_id(lowered, payload)
                occurred = self.webhook_occurred_at(lowered, payload)
                looked_up = True
            out = normalised if isinstance(normalised, TriggerOutput) else TriggerOutput(payload=normalised)
            own_id = out.event_id or event_id
            fields: dict[str, Any] = {
                "trigger_id": spec.id,
                "payload": out.payload,
                "event_id": own_id,
                "dedupe_key": out.dedupe_key or (f"{self.id}:{own_id}:{spec.id}" if own_id else None),
            }
            when = out.occurred_at or occurred
            if when is not None:
                fields["occurred_at"] = when
            fired.append(TriggerEvent(**fields))
        return fired

    async def refetch_trigger_events(self, events: list[TriggerEvent]) -> list[TriggerEvent]:
        """Thin events (Notion's carry ids, not state): complete parsed events with the
        provider's current state, fetched through the gateway with this connection's client.
        The hub calls it after ``parse_webhook`` (which gets no client) for connectors that
        override it; an error raised here is retried like an outage. Default: unchanged."""
        return events

    @classmethod
    def refetches_trigger_events(cls) -> bool:
        """Whether this connector completes its trigger events after parsing."""
        return cls.refetch_trigger_events is not BaseConnector.refetch_trigger_events

    # -- content export ---------------------------------------------------------------------------
    async def export_content(self, cursor: str | None) -> ExportPage:
        """One page of the connection's content as normalised documents (for local search).

        ``cursor`` is None for a full export, else what the previous page returned (or, for an
        incremental export, what the last finished export ended with). The hub checkpoints
        the returned cursor after every page and resumes from it after a restart, so a page
        must be complete in itself. Override to support export; the manifest then says
        ``content_export: true``.
        """
        raise ConnectorError(f"{self.id} does not export content", code="content_export_unsupported")

    async def poll(self, trigger_id: str, cursor: str | None) -> PollResult:
        spec = self._triggers.get(trigger_id)
        if spec is None or spec.delivery != "polling":
            raise UnknownTrigger(f"{self.id} has no polling trigger {trigger_id!r}")
        result: PollResult = await spec.func(self, cursor)
        return result

    @classmethod
    def polled_items(cls, action_id: str, data: Any) -> list[tuple[str, str]]:
        """What a successful action asks this connector's polling triggers to watch, as
        ``(trigger id, provider item id)`` pairs (the batch ``create_batch`` started). The hub
        adds each to the trigger's stored cursor with :meth:`watch`. Default: nothing."""
        return []

    @classmethod
    def watch(cls, trigger_id: str, cursor: str | None, item_id: str) -> str:
        """The trigger's cursor with ``item_id`` added (see :mod:`hub_connector_sdk.watch`).
        Class methods, both: the hub calls them without a connection's client."""
        spec = cls._triggers.get(trigger_id)
        if spec is None or spec.delivery != "polling":
            raise UnknownTrigger(f"{cls.id} has no polling trigger {trigger_id!r}")
        return WatchCursor.decode(cursor).add(item_id).encode()


def _action_model(spec: _ActionSpec) -> ConnectorAction:
    return ConnectorAction(
        id=spec.id,
        name=spec.name,
        description=spec.description,
        parameters_schema=spec.parameters_schema,
        output_schema=spec.output_schema,
        required_scopes=spec.scopes,
        idempotent=spec.idempotent,
    )


def _trigger_model(spec: _TriggerSpec) -> ConnectorTrigger:
    return ConnectorTrigger(
        id=spec.id,
        name=spec.name,
        type=spec.type,
        description=spec.description,
        delivery=spec.delivery,
        provider_events=spec.events,
        payload_schema=spec.payload_schema,
        poll_interval_s=spec.poll_interval_s,
    )


def _problems(exc: ValidationError, prefix: str = "") -> list[str]:
    """``"auth.method: Input should be ..."`` for each error pydantic found."""
    return [
        f"{prefix}{'.'.join(str(p) for p in e.get('loc', ())) or 'manifest'}: {e.get('msg')}"
        for e in exc.errors()
    ]


def _collect(cls: type, marker: str) -> tuple[dict[str, Any], list[str]]:
    """Declarations found on the class and its bases, and ids declared twice in one class.

    A subclass may redeclare an inherited id (override); two declarations of one id in the
    same class are a mistake that a dict would hide, so they are reported by ``manifest()``.
    """
    found: dict[str, Any] = {}
    duplicates: list[str] = []
    for klass in reversed(cls.__mro__):
        ids_here: set[str] = set()
        specs_here: set[int] = set()
        for value in vars(klass).values():
            spec = getattr(value, marker, None)
            if spec is None or id(spec) in specs_here:  # one function under two names
                continue
            specs_here.add(id(spec))
            if spec.id in ids_here:
                duplicates.append(spec.id)
            ids_here.add(spec.id)
            found[spec.id] = spec
    return found, duplicates


def _jsonable(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    return value
