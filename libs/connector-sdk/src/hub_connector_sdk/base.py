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
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from jsonschema import Draft202012Validator
from pydantic import BaseModel, ValidationError

from hub_connector_sdk.client import ProviderClient
from hub_connector_sdk.errors import (
    ConnectorError,
    CredentialsRejected,
    InvalidParameters,
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
    PollResult,
    TriggerEvent,
    TriggerType,
    WebhookRegistration,
)

ActionFunc = Callable[..., Awaitable[Any]]
ParseFunc = Callable[..., dict[str, Any] | None]
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


def _schema_of(spec: type[BaseModel] | Mapping[str, Any] | None) -> dict[str, Any] | None:
    if spec is None:
        return None
    if isinstance(spec, type) and issubclass(spec, BaseModel):
        return spec.model_json_schema()
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
            output_schema=_schema_of(output),
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
    event listed in ``events`` and returns the normalised payload, or ``None`` to ignore it."""

    def decorate(func: ParseFunc) -> ParseFunc:
        func.__hub_trigger__ = _TriggerSpec(  # type: ignore[attr-defined]
            id=id,
            name=name or id.replace("_", " ").capitalize(),
            type=type,
            description=description or _doc(func) or id,
            delivery="webhook",
            events=list(events),
            payload_schema=_schema_of(payload),
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
            payload_schema=_schema_of(payload),
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
    webhook_signature: ClassVar[str | None] = None
    health_path: ClassVar[str | None] = None
    builtin: ClassVar[bool] = False

    _actions: ClassVar[dict[str, _ActionSpec]] = {}
    _triggers: ClassVar[dict[str, _TriggerSpec]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        actions: dict[str, _ActionSpec] = {}
        triggers: dict[str, _TriggerSpec] = {}
        for klass in reversed(cls.__mro__):
            for value in vars(klass).values():
                if (a := getattr(value, "__hub_action__", None)) is not None:
                    actions[a.id] = a
                if (t := getattr(value, "__hub_trigger__", None)) is not None:
                    triggers[t.id] = t
        cls._actions, cls._triggers = actions, triggers

    def __init__(self, context: ConnectionContext, client: ProviderClient) -> None:
        self.context = context
        self.client = client

    # -- the manifest -------------------------------------------------------------------------
    @classmethod
    def manifest(cls) -> ConnectorManifest:
        """Build and validate the manifest (raises ManifestError with the reason)."""
        try:
            return ConnectorManifest(
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
                builtin=cls.builtin,
                actions=[
                    ConnectorAction(
                        id=a.id,
                        name=a.name,
                        description=a.description,
                        parameters_schema=a.parameters_schema,
                        output_schema=a.output_schema,
                        required_scopes=a.scopes,
                        idempotent=a.idempotent,
                    )
                    for a in cls._actions.values()
                ],
                triggers=[
                    ConnectorTrigger(
                        id=t.id,
                        name=t.name,
                        type=t.type,
                        description=t.description,
                        delivery=t.delivery,
                        provider_events=t.events,
                        payload_schema=t.payload_schema,
                        poll_interval_s=t.poll_interval_s,
                    )
                    for t in cls._triggers.values()
                ],
            )
        except AttributeError as exc:
            from hub_connector_sdk.errors import ManifestError

            raise ManifestError(f"{cls.__name__}: missing class attribute {exc.name!r}") from None
        except ValidationError as exc:
            from hub_connector_sdk.errors import ManifestError

            first = exc.errors()[0]
            where = ".".join(str(p) for p in first.get("loc", ()))
            raise ManifestError(f"{cls.__name__}: {where}: {first.get('msg')}") from None

    # -- actions ------------------------------------------------------------------------------
    @classmethod
    def validate_parameters(cls, action_id: str, parameters: Mapping[str, Any]) -> Any:
        spec = cls._actions.get(action_id)
        if spec is None:
            raise UnknownAction(f"{cls.id} has no action {action_id!r}", status_code=404)
        errors = sorted(spec.validator.iter_errors(dict(parameters)), key=lambda e: list(e.path))
        if errors:
            raise InvalidParameters(
                f"parameters do not match the schema of {action_id}",
                details={
                    "errors": [
                        {
                            "path": "/" + "/".join(str(p) for p in e.path),
                            "message": e.message[:300],
                            "validator": str(e.validator),
                        }
                        for e in errors[:20]
                    ]
                },
            )
        if spec.params_model is not None:
            try:
                return spec.params_model.model_validate(dict(parameters))
            except ValidationError as exc:
                raise InvalidParameters(
                    f"parameters do not match the schema of {action_id}",
                    details={
                        "errors": [
                            {"path": "/" + "/".join(str(p) for p in e["loc"]), "message": e["msg"]}
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
            result = ActionResult.fail(exc.code, exc.message, status_code=exc.status_code)
        except ConnectorError as exc:
            result = ActionResult.fail(exc.code, exc.message, status_code=exc.status_code)
        duration = int((time.perf_counter() - started) * 1000)
        return result.model_copy(update={"duration_ms": duration})

    # -- health -------------------------------------------------------------------------------
    async def health_check(self) -> ConnectorHealth:
        """Default: GET ``health_path`` through the gateway; override for anything richer."""
        if self.health_path is None:
            raise NotImplementedError(f"{type(self).__name__} must define health_path or health_check()")
        started = time.perf_counter()
        try:
            await self.client.get(self.health_path)
        except CredentialsRejected as exc:
            return self._health(False, started, exc.message, invalid=True)
        except ProviderError as exc:
            return self._health(False, started, exc.message, invalid=exc.status_code == 403)
        return self._health(True, started, "ok")

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

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> list[TriggerEvent]:
        """Raw webhook → the triggers it fires (signature already verified by the hub)."""
        try:
            payload = json.loads(body) if body else {}
        except ValueError:
            raise ConnectorError("webhook body is not JSON", code="invalid_webhook_body") from None
        lowered = {k.lower(): v for k, v in headers.items()}
        event = self.webhook_event_name(lowered, payload)
        fired: list[TriggerEvent] = []
        for spec in self._triggers.values():
            if spec.delivery != "webhook" or event not in spec.events:
                continue
            normalised = spec.func(self, event, payload)
            if normalised is not None:
                fired.append(TriggerEvent(trigger_id=spec.id, payload=normalised))
        return fired

    async def poll(self, trigger_id: str, cursor: str | None) -> PollResult:
        spec = self._triggers.get(trigger_id)
        if spec is None or spec.delivery != "polling":
            raise UnknownTrigger(f"{self.id} has no polling trigger {trigger_id!r}")
        result: PollResult = await spec.func(self, cursor)
        return result


def _jsonable(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    return value
