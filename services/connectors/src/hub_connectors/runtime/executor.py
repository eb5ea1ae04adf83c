"""``ConnectorRuntime``: run an action or a health check and always get a result back.

Built-in connectors are trusted and run on the service's event loop (with the same deadline);
custom connectors run in worker processes without hub secrets (``ProcessIsolation``), each call
with a gateway token scoped to its one connection (``PluginTokens``); what comes back is data.
Whatever a connector does — raise, hang, block, exit, return garbage — the caller gets an
``ActionResult`` or a ``ConnectorHealth``; only bad input (``InvalidParameters``,
``UnknownAction``) surfaces as an HTTP error.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Protocol, TypeVar

import httpx
from opentelemetry import propagate, trace
from prometheus_client import Counter
from pydantic import BaseModel, ValidationError

from hub_common import jsonutil
from hub_common.redaction import redact_text
from hub_connector_sdk import (
    ActionResult,
    BaseConnector,
    ConnectionContext,
    ConnectorError,
    ConnectorHealth,
    ExportPage,
    InvalidParameters,
    PollResult,
    ProviderClient,
    ProviderError,
    TriggerEvent,
    UnknownAction,
    WebhookRegistration,
)
from hub_connectors.domain.errors import InvalidParametersError, UnknownActionError
from hub_connectors.plugin_host import protocol
from hub_connectors.registry import RegisteredConnector
from hub_connectors.runtime.isolation import (
    BadResult,
    ConnectorBusy,
    ConnectorCrashed,
    ConnectorTimedOut,
    contained,
)
from hub_connectors.runtime.plugin_tokens import PluginTokens
from hub_connectors.runtime.process_isolation import ProcessIsolation, WorkerFailed, pool_key

log = logging.getLogger(__name__)
tracer = trace.get_tracer("hub_connectors.runtime")
T = TypeVar("T")


class ClientFactory(Protocol):
    """(connection, connector id, the tenant's tier when known: the gateway applies its quota;
    whether the calls are a health check's)"""

    def __call__(
        self,
        context: ConnectionContext,
        connector_id: str,
        tier: str | None = None,
        *,
        health_check: bool = False,
    ) -> ProviderClient: ...


CALLS = Counter(
    "hub_connector_calls_total", "Connector actions and health checks", ["connector", "kind", "outcome"]
)


def _is_json(data: Any) -> bool:
    try:
        jsonutil.dumps(data)
    except TypeError:
        return False
    return True


def _describe(exc: BaseException) -> str:
    text = str(exc)
    if isinstance(exc, ConnectorCrashed) and text:  # already "<plugin's exception>: <message>"
        return redact_text(text)[:300]
    return f"{type(exc).__name__}: {redact_text(text)[:300]}" if text else type(exc).__name__


R = TypeVar("R", bound=BaseModel)


def _unpack(reply: dict[str, Any], expected: type[R]) -> R:
    """A worker's reply → the result, or the exception the in-process path would have raised."""
    value = _unpack_value(reply)
    try:
        return expected.model_validate(value)
    except ValidationError:
        raise BadResult(f"the connector returned an invalid {expected.__name__}") from None


def _unpack_value(reply: dict[str, Any]) -> Any:
    """A worker's reply → its JSON value, or the exception the in-process path would have raised."""
    kind = reply.get("kind")
    if kind == protocol.RESULT:
        return reply.get("value")
    if kind == protocol.NOT_JSON:
        raise BadResult("the connector returned data that is not JSON")
    if kind == protocol.WRONG_TYPE:
        raise BadResult(f"the connector returned {str(reply.get('type'))[:100]}")
    if kind == protocol.TIMEOUT:
        raise ConnectorTimedOut("the connector's call passed its deadline")
    if kind == protocol.CRASH:
        raise ConnectorCrashed(str(reply.get("description") or "the connector failed")[:500])
    if kind == protocol.ERROR:
        message = str(reply.get("message") or "")[:1000]
        details = reply.get("details")
        error = reply.get("error")
        if error == "invalid_parameters":
            raise InvalidParameters(message, details=details if isinstance(details, dict) else {})
        if error == "unknown_action":
            raise UnknownAction(message)
        if error == "not_implemented":
            raise NotImplementedError(message)
        if error == "connector_error":
            raise _connector_error(reply, message)
    raise WorkerFailed("the plugin answered a message the protocol does not have")


def _connector_error(reply: dict[str, Any], message: str) -> ConnectorError:
    """A plugin's ConnectorError (or ProviderError, with its Retry-After) as data → the exception."""
    code = str(reply.get("code") or "connector_error")[:100]
    status = reply.get("status_code")
    status_code = status if isinstance(status, int) else None
    retry = reply.get("retry_after_s")
    if reply.get("provider"):
        return ProviderError(
            message,
            code=code,
            status_code=status_code,
            retry_after_s=float(retry) if isinstance(retry, int | float) else None,
        )
    return ConnectorError(message, code=code, status_code=status_code)


def _refuse(request: httpx.Request) -> httpx.Response:
    raise ConnectorError("a webhook parser cannot call the provider", code="parser_called_network")


class TriggerRefetchFailed(Exception):
    """Completing thin trigger events through the gateway failed (provider or gateway down, a
    rate limit): not a ConnectorError, so the delivery is retried rather than dead-lettered."""


@functools.cache
def _no_network() -> ProviderClient:
    """The client a built-in trigger parser is constructed with: parsing is pure, so any call
    it makes is refused (one shared instance, never closed)."""
    return ProviderClient(
        gateway_url="http://parser.invalid", connection_id="-", transport=httpx.MockTransport(_refuse)
    )


class ConnectorRuntime:
    def __init__(
        self,
        clients: ClientFactory,
        *,
        plugins: ProcessIsolation,
        tokens: PluginTokens,
        action_timeout_s: float = 30.0,
        health_timeout_s: float = 10.0,
        http_timeout_s: float = 30.0,
    ) -> None:
        self._clients = clients
        self.plugins = plugins
        self._tokens = tokens
        self.action_timeout_s = action_timeout_s
        self.health_timeout_s = health_timeout_s
        self.http_timeout_s = http_timeout_s

    async def _call(
        self,
        registered: RegisteredConnector,
        context: ConnectionContext,
        work: Callable[[BaseConnector], Awaitable[T]],
        timeout_s: float,
        tier: str | None = None,
        *,
        health_check: bool = False,
    ) -> T:
        """A built-in's call, on this loop."""

        connector_class = registered.connector_class
        assert connector_class is not None  # built-ins are always classes

        async def run() -> T:
            client = self._clients(context, registered.id, tier, health_check=health_check)
            try:
                return await asyncio.wait_for(work(connector_class(context, client)), timeout_s)
            finally:
                await client.aclose()

        try:
            return await contained(run)
        except TimeoutError:
            raise ConnectorTimedOut(f"{registered.id}: no answer within {timeout_s:g}s") from None

    async def _in_worker(
        self,
        registered: RegisteredConnector,
        context: ConnectionContext,
        expected: type[R],
        timeout_s: float,
        tier: str | None,
        action_id: str | None = None,
        parameters: Mapping[str, Any] | None = None,
        *,
        op: protocol.Op | None = None,
        cursor: str | None = None,
        webhook: protocol.WebhookArgs | None = None,
        registration: dict[str, Any] | None = None,
        delivery: protocol.Delivery | None = None,
    ) -> R:
        """A plugin's call, in one of its worker processes."""
        reply = await self._worker_reply(
            registered,
            context,
            timeout_s,
            tier,
            action_id,
            parameters,
            op=op,
            cursor=cursor,
            webhook=webhook,
            registration=registration,
            delivery=delivery,
        )
        return _unpack(reply, expected)

    async def _worker_reply(
        self,
        registered: RegisteredConnector,
        context: ConnectionContext,
        timeout_s: float,
        tier: str | None,
        action_id: str | None = None,
        parameters: Mapping[str, Any] | None = None,
        *,
        op: protocol.Op | None = None,
        cursor: str | None = None,
        webhook: protocol.WebhookArgs | None = None,
        registration: dict[str, Any] | None = None,
        delivery: protocol.Delivery | None = None,
    ) -> dict[str, Any]:
        """A plugin's call in one of its worker processes: the worker's raw reply."""
        op = op or ("action" if action_id is not None else "health")
        purpose = "health-check" if op == "health" else None
        # The worker exports nothing itself: its gateway calls continue this span's trace.
        with tracer.start_as_current_span(
            f"plugin {op}",
            kind=trace.SpanKind.INTERNAL,
            attributes={"hub.connector_id": registered.id, "hub.plugin_op": op},
        ):
            carrier: dict[str, str] = {}
            propagate.inject(carrier)
            return await self._worker_call(
                registered,
                context,
                timeout_s,
                tier,
                action_id,
                parameters,
                op=op,
                purpose=purpose,
                cursor=cursor,
                webhook=webhook,
                trace_context=carrier,
                registration=registration,
                delivery=delivery,
            )

    async def _worker_call(
        self,
        registered: RegisteredConnector,
        context: ConnectionContext,
        timeout_s: float,
        tier: str | None,
        action_id: str | None,
        parameters: Mapping[str, Any] | None,
        *,
        op: protocol.Op,
        purpose: str | None,
        cursor: str | None,
        webhook: protocol.WebhookArgs | None,
        trace_context: dict[str, str],
        registration: dict[str, Any] | None,
        delivery: protocol.Delivery | None,
    ) -> dict[str, Any]:
        request: protocol.Request = {
            "op": op,
            "trace": trace_context,
            "registration": registration,
            "delivery": delivery,
            "cursor": cursor,
            "webhook": webhook,
            "context": context.model_dump(mode="json"),
            "action_id": action_id,
            "parameters": dict(parameters) if parameters is not None else None,
            "gateway_url": self.plugins.gateway_url,
            "token": self._tokens.mint(
                context, registered.id, tier, timeout_s + self.plugins.grace_s + 5, purpose=purpose
            ),
            "timeout_s": timeout_s,
            "http_timeout_s": self.http_timeout_s,
        }
        return await self.plugins.run(pool_key(registered.id, context.tenant_id), registered.ref, request)

    async def execute(
        self,
        registered: RegisteredConnector,
        context: ConnectionContext,
        action_id: str,
        parameters: Mapping[str, Any],
        *,
        tier: str | None = None,
    ) -> ActionResult:
        started = time.perf_counter()
        outcome = "ok"
        try:
            if registered.custom:
                result = await self._in_worker(
                    registered, context, ActionResult, self.action_timeout_s, tier, action_id, parameters
                )
            else:
                result = await self._call(
                    registered,
                    context,
                    lambda c: c.execute(action_id, parameters),
                    self.action_timeout_s,
                    tier,
                )
            if not isinstance(result, ActionResult):
                outcome = "bad_result"
                result = ActionResult.fail(
                    "connector_error", f"the connector returned {type(result).__name__}"
                )
            elif not _is_json(result.data):
                outcome = "bad_result"
                result = ActionResult.fail("connector_error", "the connector returned data that is not JSON")
        except InvalidParameters as exc:
            raise InvalidParametersError(exc.message, details=exc.details) from None
        except UnknownAction as exc:
            raise UnknownActionError(exc.message) from None
        except ConnectorTimedOut:
            outcome = "timeout"
            result = ActionResult.fail(
                "action_timeout", f"the action did not finish within {self.action_timeout_s:g}s"
            )
        except ConnectorBusy:
            outcome = "busy"
            result = ActionResult.fail("connector_busy", "the connector is still busy with earlier calls")
        except BadResult as exc:
            outcome = "bad_result"
            result = ActionResult.fail("connector_error", str(exc))
        except Exception as exc:
            outcome = "crashed"
            log.warning(
                "connector action failed",
                extra={"connector_id": registered.id, "action_id": action_id, "error": _describe(exc)},
            )
            result = ActionResult.fail("connector_crashed", f"the connector failed: {_describe(exc)}")
        CALLS.labels(registered.id, "action", outcome).inc()
        duration_ms = int((time.perf_counter() - started) * 1000)
        return result.model_copy(update={"duration_ms": duration_ms})

    async def export_page(
        self,
        registered: RegisteredConnector,
        context: ConnectionContext,
        cursor: str | None,
        *,
        tier: str | None,
    ) -> ExportPage:
        """One page of a content export. Failures raise ConnectorError (ProviderError for the
        provider's, with its Retry-After); the export task decides whether to retry."""
        try:
            if registered.custom:
                page = await self._in_worker(
                    registered, context, ExportPage, self.action_timeout_s, tier, op="export", cursor=cursor
                )
            else:
                page = await self._call(
                    registered, context, lambda c: c.export_content(cursor), self.action_timeout_s, tier
                )
        except ConnectorError:
            raise
        except ConnectorTimedOut:
            raise ConnectorError(
                f"the export page did not finish within {self.action_timeout_s:g}s", code="export_timeout"
            ) from None
        except ConnectorBusy:
            raise ConnectorError(
                "the connector is still busy with earlier calls", code="connector_busy"
            ) from None
        except BadResult as exc:
            raise ConnectorError(str(exc)) from None
        except Exception as exc:
            raise ConnectorError(
                f"the connector failed: {_describe(exc)}", code="connector_crashed"
            ) from None
        if not isinstance(page, ExportPage):
            raise ConnectorError(f"the connector returned {type(page).__name__}, not an ExportPage")
        return page

    async def poll(
        self,
        registered: RegisteredConnector,
        context: ConnectionContext,
        trigger_id: str,
        cursor: str | None,
        *,
        tier: str | None,
    ) -> PollResult:
        """One poll of a polling trigger. Failures raise ConnectorError (ProviderError with the
        provider's wait); the poller decides when to try again."""
        if registered.custom:  # the worker protocol carries no polls yet (docs/adr/0021)
            raise ConnectorError("polling triggers run for built-in connectors only", code="not_supported")
        try:
            result = await self._call(
                registered, context, lambda c: c.poll(trigger_id, cursor), self.action_timeout_s, tier
            )
        except ConnectorError:
            raise
        except ConnectorTimedOut:
            raise ConnectorError(
                f"the poll did not finish within {self.action_timeout_s:g}s", code="poll_timeout"
            ) from None
        except ConnectorBusy:
            raise ConnectorError(
                "the connector is still busy with earlier calls", code="connector_busy"
            ) from None
        except Exception as exc:
            raise ConnectorError(
                f"the connector failed: {_describe(exc)}", code="connector_crashed"
            ) from None
        if not isinstance(result, PollResult):
            raise ConnectorError(f"the connector returned {type(result).__name__}, not a PollResult")
        return result

    async def register_webhook(
        self,
        registered: RegisteredConnector,
        context: ConnectionContext,
        trigger_ids: list[str],
        target_url: str,
        secret: str,
        *,
        tier: str | None,
    ) -> WebhookRegistration:
        """The connector registers ``target_url`` at its provider (its own errors propagate)."""
        if registered.custom:
            return await self._in_worker(
                registered,
                context,
                WebhookRegistration,
                self.action_timeout_s,
                tier,
                op="register_webhook",
                webhook={"trigger_ids": list(trigger_ids), "target_url": target_url, "secret": secret},
            )
        registration = await self._call(
            registered,
            context,
            lambda c: c.register_webhook(trigger_ids, target_url, secret),
            self.action_timeout_s,
            tier,
        )
        if not isinstance(registration, WebhookRegistration):
            raise ConnectorError(
                f"the connector returned {type(registration).__name__}, not a WebhookRegistration"
            )
        return registration

    async def unregister_webhook(
        self,
        registered: RegisteredConnector,
        context: ConnectionContext,
        registration: WebhookRegistration,
        *,
        tier: str | None,
    ) -> None:
        """The connector removes a hook it registered (its own errors propagate)."""
        if registered.custom:
            reply = await self._worker_reply(
                registered,
                context,
                self.action_timeout_s,
                tier,
                op="unregister_webhook",
                registration=registration.model_dump(mode="json"),
            )
            _unpack_value(reply)
            return
        await self._call(
            registered, context, lambda c: c.unregister_webhook(registration), self.action_timeout_s, tier
        )

    async def parse_webhook(
        self,
        registered: RegisteredConnector,
        context: ConnectionContext,
        headers: Mapping[str, str],
        body: bytes,
        *,
        tier: str | None = None,
    ) -> list[TriggerEvent]:
        """A verified delivery → the trigger events it fires, by the connector's parsers (run
        like every other connector call: built-ins in process, custom ones isolated). A
        ConnectorError (a body that is not JSON...) propagates: no retry can fix it."""

        async def parse(connector: BaseConnector) -> list[TriggerEvent]:
            return connector.parse_webhook(dict(headers), body)

        connector_class = registered.connector_class
        try:
            if registered.custom or connector_class is None:
                # Custom code runs only in its sandboxed workers (ADR 0011).
                raw = await self._worker_reply(
                    registered,
                    context,
                    self.action_timeout_s,
                    tier,
                    op="parse_webhook",
                    delivery={
                        "headers": dict(headers),
                        "body_b64": base64.b64encode(body).decode(),
                    },
                )
                value = _unpack_value(raw)
                if not isinstance(value, list):
                    raise BadResult("the connector's parse_webhook did not return a list")
                try:
                    return [TriggerEvent.model_validate(v) for v in value]
                except ValidationError:
                    raise BadResult("the connector's parse_webhook returned invalid events") from None
            # A built-in parser needs no provider client: building one per delivery (a new TLS
            # context) cost more than the parse and the database work together.
            events = await contained(
                lambda: asyncio.wait_for(
                    parse(connector_class(context, _no_network())), self.action_timeout_s
                )
            )
        except ConnectorError:
            raise
        except ConnectorTimedOut:
            raise ConnectorError(
                f"the trigger parser did not finish within {self.action_timeout_s:g}s", code="parse_timeout"
            ) from None
        except ConnectorBusy:
            raise
        except Exception as exc:
            raise ConnectorError(
                f"the trigger parser failed: {_describe(exc)}", code="parser_crashed"
            ) from None
        if not isinstance(events, list) or not all(isinstance(e, TriggerEvent) for e in events):
            raise ConnectorError(
                "the connector's parse_webhook did not return TriggerEvents", code="bad_result"
            )
        if events and connector_class.refetches_trigger_events():
            events = await self._refetch(registered, context, events, tier)
        CALLS.labels(registered.id, "parse_webhook", "ok").inc()
        return events

    async def _refetch(
        self,
        registered: RegisteredConnector,
        context: ConnectionContext,
        events: list[TriggerEvent],
        tier: str | None,
    ) -> list[TriggerEvent]:
        """Thin events completed through the gateway (the connector's ``refetch_trigger_events``,
        with a real client). Any failure is an outage to retry, never an unreadable delivery."""
        try:
            completed = await self._call(
                registered, context, lambda c: c.refetch_trigger_events(events), self.action_timeout_s, tier
            )
        except ConnectorBusy:
            raise
        except Exception as exc:
            raise TriggerRefetchFailed(f"re-fetching the event's state failed: {_describe(exc)}") from None
        if not isinstance(completed, list) or not all(isinstance(e, TriggerEvent) for e in completed):
            raise ConnectorError(
                "the connector's refetch_trigger_events did not return TriggerEvents", code="bad_result"
            )
        return completed

    async def health(
        self, registered: RegisteredConnector, context: ConnectionContext, *, tier: str | None = None
    ) -> ConnectorHealth:
        started = time.perf_counter()

        def unhealthy(message: str) -> ConnectorHealth:
            return ConnectorHealth(
                is_healthy=False, message=message, latency_ms=int((time.perf_counter() - started) * 1000)
            )

        outcome = "ok"
        try:
            if registered.custom:
                health = await self._in_worker(
                    registered, context, ConnectorHealth, self.health_timeout_s, tier
                )
            else:
                health = await self._call(
                    registered,
                    context,
                    lambda c: c.health_check(),
                    self.health_timeout_s,
                    tier,
                    health_check=True,
                )
            if not isinstance(health, ConnectorHealth):
                outcome, health = "bad_result", unhealthy(f"the connector returned {type(health).__name__}")
        except NotImplementedError:
            # Nothing to check with: usable, but the credentials are unverified.
            health = ConnectorHealth(is_healthy=True, message="the connector defines no health check")
        except ConnectorTimedOut:
            outcome, health = "timeout", unhealthy(f"health check timed out after {self.health_timeout_s:g}s")
        except ConnectorBusy:
            outcome, health = "busy", unhealthy("the connector is still busy with earlier calls")
        except BadResult as exc:
            outcome, health = "bad_result", unhealthy(str(exc))
        except Exception as exc:
            outcome, health = "crashed", unhealthy(f"health check failed: {_describe(exc)}")
        CALLS.labels(registered.id, "health", outcome).inc()
        return health

    async def aclose(self) -> None:
        await self.plugins.aclose()
