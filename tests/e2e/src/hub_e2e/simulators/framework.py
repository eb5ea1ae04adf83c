"""The provider simulator framework: OAuth server + API + signed webhooks in one process.

A provider simulator is the strict OAuth authorization server of ``oauth_provider`` (one of its
flavors, with every documented quirk) plus a :class:`ProviderSimulator` subclass that adds

- the API operations a connector uses, with in-memory state, checked against the provider's
  published description (:class:`SpecGuard`: requests validated, answers schema-valid);
- outgoing webhooks signed with the provider's real scheme, recorded in a :class:`WebhookOutbox`
  so deliveries can be listed and redelivered;
- ``POST /_sim/webhooks``: send an event of a named type to any URL (tests, and demos without a
  provider account); ``GET /_sim/provider``: the base URLs, OAuth endpoints and event catalog.

Adding a provider: subclass :class:`ProviderSimulator` in ``simulators/<provider>.py`` and list
it in ``PROVIDERS`` below (``hub-sim <provider>`` then serves it). See docs/adr/0017.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route

from hub_e2e.simulators.oauth_provider import create_app
from hub_e2e.simulators.spec_guard import AnswerViolation, SpecGuard, WebhookGuard

_log = logging.getLogger(__name__)
WEBHOOK_TIMEOUT_S = 10.0  # GitHub gives a receiver 10 s before it calls the delivery failed


@dataclass
class Delivery:
    """One webhook delivery attempt, as the provider remembers it."""

    id: int
    guid: str
    event: str
    action: str | None
    url: str
    request_headers: dict[str, str]
    body: bytes
    hook_id: int | None = None
    redelivery: bool = False
    delivered_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    duration_s: float = 0.0
    status_code: int = 0  # 0: no HTTP answer (connection refused, timeout)
    status: str = "pending"
    response_headers: dict[str, str] = field(default_factory=dict)
    response_body: str = ""

    def view(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "guid": self.guid,
            "event": self.event,
            "action": self.action,
            "url": self.url,
            "hook_id": self.hook_id,
            "redelivery": self.redelivery,
            "delivered_at": self.delivered_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "duration": round(self.duration_s, 3),
            "status_code": self.status_code,
            "status": self.status,
            "request": {"headers": self.request_headers, "payload": json.loads(self.body)},
            "response": {"headers": self.response_headers, "payload": self.response_body},
        }


class WebhookOutbox:
    """Sends webhooks and keeps every attempt (newest last) for listing and redelivery."""

    def __init__(self, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.transport = transport  # None: the network; tests may deliver in-process
        self.deliveries: list[Delivery] = []
        self.failures: list[str] = []  # deliveries the simulator could not even build or send
        self._next_id = 1
        self._tasks: set[asyncio.Task[Delivery]] = set()

    def reset(self) -> None:
        self.deliveries.clear()
        self.failures.clear()

    def find(self, delivery_id: int) -> Delivery | None:
        return next((d for d in self.deliveries if d.id == delivery_id), None)

    async def send(
        self,
        url: str,
        headers: Mapping[str, str],
        body: bytes,
        *,
        event: str,
        action: str | None,
        guid: str,
        hook_id: int | None = None,
        redelivery: bool = False,
    ) -> Delivery:
        delivery = Delivery(
            id=self._next_id,
            guid=guid,
            event=event,
            action=action,
            url=url,
            request_headers=dict(headers),
            body=body,
            hook_id=hook_id,
            redelivery=redelivery,
        )
        self._next_id += 1
        self.deliveries.append(delivery)
        started = time.monotonic()
        try:
            async with httpx.AsyncClient(timeout=WEBHOOK_TIMEOUT_S, transport=self.transport) as client:
                answer = await client.post(url, content=body, headers=dict(headers))
        except httpx.HTTPError as exc:
            delivery.status = f"failed to connect: {type(exc).__name__}"
        else:
            delivery.status_code = answer.status_code
            delivery.status = "OK" if answer.is_success else f"Invalid HTTP Response: {answer.status_code}"
            delivery.response_headers = dict(answer.headers)
            delivery.response_body = answer.text[:2048]
        delivery.duration_s = time.monotonic() - started
        return delivery

    def send_later(self, send: Awaitable[Delivery]) -> None:
        """Deliver in the background, as a provider does after answering the API call."""
        task = asyncio.ensure_future(send)
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[Delivery]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            self.failures.append(repr(task.exception()))
            _log.error("webhook delivery failed: %r", task.exception())

    async def drain(self) -> None:
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)


class EventError(ValueError):
    """A ``/_sim/webhooks`` request for an event the simulator cannot produce."""


class ProviderSimulator:
    """One provider's API and webhooks; the OAuth side is the ``oauth_flavor`` of oauth_provider."""

    name: ClassVar[str]
    oauth_flavor: ClassVar[str]
    spec_name: ClassVar[str | None] = None  # the published description in $HUB_SPECS_DIR
    webhook_spec_name: ClassVar[str | None] = None  # the published webhook payload schemas
    # Path prefixes the API is served under ("" and, for GitHub Enterprise Server, "/api/v3").
    api_prefixes: ClassVar[tuple[str, ...]] = ("",)

    def __init__(self, guard: SpecGuard, webhook_guard: WebhookGuard | None = None) -> None:
        self.guard = guard
        self.webhook_guard = webhook_guard or WebhookGuard(None)
        self.outbox = WebhookOutbox()

    @classmethod
    def load(cls, *, require_spec: bool = False) -> ProviderSimulator:
        """The simulator with its descriptions from ``$HUB_SPECS_DIR`` (when there)."""
        return cls(
            SpecGuard.load(cls.spec_name, required=require_spec), WebhookGuard.load(cls.webhook_spec_name)
        )

    # -- what a provider defines ------------------------------------------------------------------
    def api_routes(self) -> list[BaseRoute]:
        raise NotImplementedError

    def admin_routes(self) -> list[BaseRoute]:
        """Provider-specific administration, served under ``/_sim/<name>``."""
        return []

    def event_catalog(self) -> Mapping[str, tuple[str, ...]]:
        """Event type -> its actions (empty: the event has no action)."""
        raise NotImplementedError

    def build_event(self, request: Request, event: str, action: str | None, data: Mapping[str, Any]) -> Any:
        """The payload of one event, from (and added to) the simulator's state."""
        raise NotImplementedError

    def payload_schema(self, event: str, action: str | None) -> str:
        """The name of the event's payload schema in the webhook description."""
        raise NotImplementedError

    def webhook_headers(
        self, event: str, body: bytes, secret: str | None, guid: str, hook_id: int | None
    ) -> dict[str, str]:
        """The headers of one delivery, signed with the provider's scheme when a secret is set."""
        raise NotImplementedError

    def reset(self) -> None:
        self.outbox.reset()

    # -- shared machinery -------------------------------------------------------------------------
    def check_event(self, event: Any, action: Any) -> None:
        catalog = self.event_catalog()
        if event not in catalog:
            raise EventError(f"unknown event {event!r}; one of {sorted(catalog)}")
        actions = catalog[event]
        if actions and action not in actions:
            raise EventError(f"event {event!r} needs an action, one of {list(actions)}")
        if not actions and action is not None:
            raise EventError(f"event {event!r} has no action")

    async def deliver(
        self,
        url: str,
        secret: str | None,
        event: str,
        action: str | None,
        payload: Any,
        *,
        hook_id: int | None = None,
    ) -> Delivery:
        problems = self.webhook_guard.problems(self.payload_schema(event, action), payload)
        if problems:  # a simulator bug: never send a payload the provider would not send
            raise AnswerViolation(f"{event}.{action} payload breaks the description: {problems[:10]}")
        body = json.dumps(payload, separators=(",", ":")).encode()
        guid = str(uuid.uuid4())
        headers = self.webhook_headers(event, body, secret, guid, hook_id)
        return await self.outbox.send(
            url, headers, body, event=event, action=action, guid=guid, hook_id=hook_id
        )

    async def redeliver(self, original: Delivery) -> Delivery:
        """The same delivery (guid, headers, body) sent again, marked as a redelivery."""
        return await self.outbox.send(
            original.url,
            original.request_headers,
            original.body,
            event=original.event,
            action=original.action,
            guid=original.guid,
            hook_id=original.hook_id,
            redelivery=True,
        )


def provider_of(request: Request) -> ProviderSimulator:
    provider: ProviderSimulator = request.app.state.provider
    return provider


def _bad(message: str, status: int = 400) -> JSONResponse:
    return JSONResponse({"error": "bad_request", "detail": message}, status_code=status)


async def send_webhook(request: Request) -> Response:
    """``{"event", "action"?, "url", "secret"?, "data"?}`` -> the delivery, after it was attempted."""
    provider = provider_of(request)
    try:
        body = json.loads(await request.body() or b"null")
    except ValueError:
        return _bad("body is not valid JSON")
    if not isinstance(body, dict):
        return _bad("body is a JSON object")
    url, secret, data = body.get("url"), body.get("secret"), body.get("data") or {}
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        return _bad("url is required (http or https)")
    if secret is not None and not isinstance(secret, str):
        return _bad("secret is a string")
    if not isinstance(data, dict):
        return _bad("data is a JSON object")
    event, action = body.get("event"), body.get("action")
    try:
        provider.check_event(event, action)
        assert isinstance(event, str)
        payload = provider.build_event(request, event, action, data)
    except EventError as err:
        return _bad(str(err))
    try:
        delivery = await provider.deliver(url, secret, event, action, payload)
    except AnswerViolation as err:
        return _bad(str(err), 500)
    return JSONResponse(delivery.view(), status_code=201)


async def list_webhooks(request: Request) -> Response:
    outbox = provider_of(request).outbox
    if outbox.failures:  # surface a simulator bug to the test that looks, instead of losing it
        return _bad("; ".join(outbox.failures), 500)
    return JSONResponse([d.view() for d in outbox.deliveries])


async def describe(request: Request) -> Response:
    provider = provider_of(request)
    sim = request.app.state.sim
    base = str(request.base_url).rstrip("/")
    endpoints = sim.flavor.endpoints
    return JSONResponse(
        {
            "provider": provider.name,
            "base_url": base,
            "api_base_urls": [base + prefix for prefix in provider.api_prefixes],
            "authorization_endpoint": base + endpoints.authorize,
            "token_endpoint": base + endpoints.token,
            "revocation_endpoint": base + endpoints.revoke if endpoints.revoke else None,
            "spec_checked": provider.guard.active,
            "webhook_payloads_checked": provider.webhook_guard.active,
            "webhook_events": {k: list(v) for k, v in provider.event_catalog().items()},
        }
    )


async def reset_provider(request: Request) -> Response:
    provider_of(request).reset()
    return Response(status_code=204)


ProviderFactory = Callable[[SpecGuard], ProviderSimulator]


def create_provider_app(
    provider: ProviderSimulator,
    *,
    clients: Sequence[Mapping[str, Any]] = (),
    settings: Mapping[str, Any] | None = None,
) -> Starlette:
    """The OAuth simulator of the provider's flavor with the provider's API and webhooks in front."""
    app = create_app(provider.oauth_flavor, clients=clients, settings=settings)
    api = provider.api_routes()
    front: list[BaseRoute] = [
        Route("/_sim/webhooks", send_webhook, methods=["POST"]),
        Route("/_sim/webhooks", list_webhooks, methods=["GET"]),
        Route("/_sim/provider", describe, methods=["GET"]),
        Route("/_sim/provider/reset", reset_provider, methods=["POST"]),
        Mount(f"/_sim/{provider.name}", routes=provider.admin_routes()),
        *[Mount(prefix, routes=api) for prefix in provider.api_prefixes if prefix],
        *(api if "" in provider.api_prefixes else []),
    ]
    # In front of the flavor's routes: the provider's full API replaces its bare identity call.
    app.router.routes[:0] = front
    app.state.provider = provider
    return app
