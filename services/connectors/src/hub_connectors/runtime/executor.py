"""``ConnectorRuntime``: run an action or a health check and always get a result back.

Built-in connectors are trusted and run on the service's event loop (with the same deadline);
custom connectors run under ``ThreadIsolation``. Whatever a connector does — raise, hang, block,
return garbage — the caller gets an ``ActionResult`` or a ``ConnectorHealth``; only bad input
(``InvalidParameters``, ``UnknownAction``) surfaces as an HTTP error.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

import httpx
from prometheus_client import Counter

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
    ProviderClient,
    TriggerEvent,
    UnknownAction,
    WebhookRegistration,
)
from hub_connectors.domain.errors import InvalidParametersError, UnknownActionError
from hub_connectors.registry import RegisteredConnector
from hub_connectors.runtime.isolation import ConnectorBusy, ConnectorTimedOut, ThreadIsolation, contained

log = logging.getLogger(__name__)
T = TypeVar("T")
# (connection, connector id, the tenant's tier when known: the gateway applies its quota)
ClientFactory = Callable[[ConnectionContext, str, str | None], ProviderClient]

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
    return f"{type(exc).__name__}: {redact_text(text)[:300]}" if text else type(exc).__name__


def _refuse(request: httpx.Request) -> httpx.Response:
    raise ConnectorError("a webhook parser cannot call the provider", code="parser_called_network")


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
        isolation: ThreadIsolation,
        action_timeout_s: float = 30.0,
        health_timeout_s: float = 10.0,
    ) -> None:
        self._clients = clients
        self.isolation = isolation
        self.action_timeout_s = action_timeout_s
        self.health_timeout_s = health_timeout_s

    async def _call(
        self,
        registered: RegisteredConnector,
        context: ConnectionContext,
        work: Callable[[BaseConnector], Awaitable[T]],
        timeout_s: float,
        tier: str | None = None,
    ) -> T:
        async def run() -> T:
            client = self._clients(context, registered.id, tier)
            try:
                return await asyncio.wait_for(work(registered.connector_class(context, client)), timeout_s)
            finally:
                await client.aclose()

        if registered.custom:
            return await self.isolation.run(registered.id, run, timeout_s)
        try:
            return await contained(run)
        except TimeoutError:
            raise ConnectorTimedOut(f"{registered.id}: no answer within {timeout_s:g}s") from None

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
            result = await self._call(
                registered, context, lambda c: c.execute(action_id, parameters), self.action_timeout_s, tier
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
        except Exception as exc:
            raise ConnectorError(
                f"the connector failed: {_describe(exc)}", code="connector_crashed"
            ) from None
        if not isinstance(page, ExportPage):
            raise ConnectorError(f"the connector returned {type(page).__name__}, not an ExportPage")
        return page

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
        await self._call(
            registered, context, lambda c: c.unregister_webhook(registration), self.action_timeout_s, tier
        )

    async def parse_webhook(
        self,
        registered: RegisteredConnector,
        context: ConnectionContext,
        headers: Mapping[str, str],
        body: bytes,
    ) -> list[TriggerEvent]:
        """A verified delivery → the trigger events it fires, by the connector's parsers (run
        like every other connector call: built-ins in process, custom ones isolated). A
        ConnectorError (a body that is not JSON...) propagates: no retry can fix it."""

        async def parse(connector: BaseConnector) -> list[TriggerEvent]:
            return connector.parse_webhook(dict(headers), body)

        try:
            if registered.custom:
                # The same path as every other call of custom code (isolation, its client).
                events = await self._call(registered, context, parse, self.action_timeout_s)
            else:
                # A built-in parser needs no provider client: building one per delivery (a new
                # TLS context) cost more than the parse and the database work together.
                events = await contained(
                    lambda: asyncio.wait_for(
                        parse(registered.connector_class(context, _no_network())), self.action_timeout_s
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
        CALLS.labels(registered.id, "parse_webhook", "ok").inc()
        return events

    async def health(self, registered: RegisteredConnector, context: ConnectionContext) -> ConnectorHealth:
        started = time.perf_counter()

        def unhealthy(message: str) -> ConnectorHealth:
            return ConnectorHealth(
                is_healthy=False, message=message, latency_ms=int((time.perf_counter() - started) * 1000)
            )

        outcome = "ok"
        try:
            health = await self._call(registered, context, lambda c: c.health_check(), self.health_timeout_s)
            if not isinstance(health, ConnectorHealth):
                outcome, health = "bad_result", unhealthy(f"the connector returned {type(health).__name__}")
        except NotImplementedError:
            # Nothing to check with: usable, but the credentials are unverified.
            health = ConnectorHealth(is_healthy=True, message="the connector defines no health check")
        except ConnectorTimedOut:
            outcome, health = "timeout", unhealthy(f"health check timed out after {self.health_timeout_s:g}s")
        except ConnectorBusy:
            outcome, health = "busy", unhealthy("the connector is still busy with earlier calls")
        except Exception as exc:
            outcome, health = "crashed", unhealthy(f"health check failed: {_describe(exc)}")
        CALLS.labels(registered.id, "health", outcome).inc()
        return health
