"""GET and PUT of one credential, and PUT of several, as a raw ASGI endpoint.

These are the calls on the hub's hot paths (the gateway's credential-cache misses, oauth's
token writes). Served here they skip FastAPI's routing, dependency injection, request models and
middleware stack, which cost more CPU than the vault operation itself (bench/vault_bench.py,
ADR 0007).

The FastAPI routes in ``routes_credentials`` stay the reference contract, and this path answers
exactly as they do: the same service-token check, policy, audit, event, JSON bodies, request id,
metrics and trace context. Whatever it does not fully understand is handed to the FastAPI app
unchanged (its body replayed): an id, key or body that does not validate, an unexpected content
type, a chunked or oversized body. That keeps every error answer in one place.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import orjson
from opentelemetry import trace
from starlette.types import ASGIApp, Receive, Scope, Send

from hub_common import jsonutil
from hub_common.errors import HubError
from hub_common.logging import request_id_var
from hub_common.telemetry import mark_server_status, record_server_error
from hub_common.web.body_limit import replaying
from hub_common.web.errors import INTERNAL_ERROR_MESSAGE, error_body
from hub_common.web.middleware import REQUEST_SECONDS
from hub_common.web.request_id import enter_request, request_id_for, trace_carrier
from hub_vault.api import schemas
from hub_vault.domain.names import Owner, is_canonical_uuid, is_credential_key, is_tenant_id
from hub_vault.inject import Container
from hub_vault.services.call_context import CallContext

log = logging.getLogger(__name__)
tracer = trace.get_tracer("hub_vault.api")

ROUTE = "/v1/tenants/{tenant_id}/connections/{connection_id}/credentials/{key}"
MANY_ROUTE = "/v1/tenants/{tenant_id}/connections/{connection_id}/credentials"
_PATH = re.compile(r"/v1/tenants/([^/]+)/connections/([^/]+)/credentials(?:/([^/]+))?")
_STORE_FIELDS = frozenset(("value", "expected_version"))
_STORE_MANY_FIELDS = frozenset(("values",))


@dataclass(frozen=True, slots=True)
class Target:
    method: str
    tenant_id: str
    connection_id: UUID
    key: str | None  # None: the connection's collection (PUT of several values)

    @property
    def route(self) -> str:
        return ROUTE if self.key is not None else MANY_ROUTE

    @property
    def owner(self) -> Owner:
        assert self.key is not None
        return Owner(self.tenant_id, self.connection_id, self.key)


@dataclass(slots=True)
class _Headers:
    authorization: str | None = None
    content_type: bytes | None = None
    content_length: int | None = None
    traceparent: str | None = None
    tracestate: str | None = None
    repeated: bool = False  # Authorization or Content-Type twice: the routes decide (as Starlette reads it)


def match(scope: Scope) -> Target | None:
    """The credential this request names, if it is one this path serves."""
    method = scope["method"]
    if method != "GET" and method != "PUT":
        return None
    found = _PATH.fullmatch(scope["path"])
    if found is None:
        return None
    tenant_id, connection_id, key = found.groups()
    if key is None and method != "PUT":
        return None
    # Only the canonical id spelling; other spellings pydantic accepts go to the FastAPI route.
    if not (is_tenant_id(tenant_id) and is_canonical_uuid(connection_id)):
        return None
    if key is not None and not is_credential_key(key):
        return None
    return Target(method, tenant_id, UUID(connection_id), key)


def _read_headers(scope: Scope) -> _Headers:
    found = _Headers()
    for name, value in scope["headers"]:
        if name == b"authorization":
            found.repeated = found.repeated or found.authorization is not None
            found.authorization = value.decode("latin-1")
        elif name == b"content-type":
            found.repeated = found.repeated or found.content_type is not None
            found.content_type = value
        elif name == b"content-length":
            try:
                found.content_length = int(value)
            except ValueError:
                found.content_length = -1  # malformed: the server refuses it before us
        elif name == b"traceparent":
            found.traceparent = value.decode("latin-1")
        elif name == b"tracestate":
            found.tracestate = value.decode("latin-1")
    return found


def _store_body(raw: bytes) -> tuple[str, int | None] | None:
    """``{"value": str, "expected_version"?: int >= 0 | null}`` exactly as ``StoreRequest``
    (strict, no extra fields), or None to let the FastAPI route explain what is wrong."""
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    if type(body) is not dict or not body.keys() <= _STORE_FIELDS:
        return None
    value = body.get("value")
    expected = body.get("expected_version")
    if type(value) is not str or not value:
        return None
    if expected is not None and (type(expected) is not int or not 0 <= expected <= schemas.MAX_ROW_VERSION):
        return None
    return value, expected


def _store_many_body(raw: bytes) -> dict[str, str] | None:
    """``{"values": {key: str}}`` exactly as ``StoreManyRequest``, or None (the FastAPI route
    explains)."""
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    if type(body) is not dict or body.keys() != _STORE_MANY_FIELDS:
        return None
    values = body["values"]
    if type(values) is not dict or not 0 < len(values) <= schemas.MAX_VALUES_PER_BATCH:
        return None
    for key, value in values.items():
        if not is_credential_key(key) or type(value) is not str or not value:
            return None
    return values


def _is_json(content_type: bytes | None) -> bool:
    if content_type is None:
        return False
    return content_type.split(b";", 1)[0].strip().lower() == b"application/json"


class CredentialFastPath:
    def __init__(
        self,
        fallback: ASGIApp,
        services: Callable[[], Container],
        service_id: Callable[[str | None], str],
        *,
        service_name: str,
        max_body_bytes: int,
        tracing: bool,
    ) -> None:
        self.fallback = fallback
        self.services = services
        self.service_id = service_id
        self.service_name = service_name
        self.max_body_bytes = max_body_bytes
        # With an exporter every call is a span; without one a recorded span would only be
        # thrown away, so the caller's context is carried through (into logs and events) instead.
        self.tracing = tracing
        self._histograms: dict[tuple[str, str, int], Any] = {}

    async def __call__(self, target: Target, scope: Scope, receive: Receive, send: Send) -> None:
        headers = _read_headers(scope)
        if headers.repeated:
            await self.fallback(scope, receive, send)
            return
        stored: tuple[str, int | None] | dict[str, str] | None = None
        if target.method == "PUT":
            length = headers.content_length
            if not _is_json(headers.content_type) or length is None or not 0 <= length <= self.max_body_bytes:
                await self.fallback(scope, receive, send)
                return
            raw = await _read_body(receive)
            if raw is None:
                return  # the client went away
            stored = _store_body(raw) if target.key is not None else _store_many_body(raw)
            if stored is None:
                await self.fallback(scope, replaying(raw, receive), send)
                return
        await self._serve(target, stored, headers, scope, send)

    async def _serve(
        self,
        target: Target,
        stored: tuple[str, int | None] | dict[str, str] | None,
        headers: _Headers,
        scope: Scope,
        send: Send,
    ) -> None:
        started = time.perf_counter()
        entered = enter_request(trace_carrier(headers.traceparent, headers.tracestate))
        status = 500
        try:
            if self.tracing:
                with tracer.start_as_current_span(
                    f"{target.method} {target.route}",
                    kind=trace.SpanKind.SERVER,
                    attributes={"http.request.method": target.method, "http.route": target.route},
                ) as span:
                    request_id = request_id_for(span)
                    request_id_var.set(request_id)
                    status, body, extra = await self._answer(target, stored, headers, request_id)
                    mark_server_status(span, status)
            else:
                request_id = request_id_for(None, headers.traceparent)
                request_id_var.set(request_id)
                status, body, extra = await self._answer(target, stored, headers, request_id)
            response_headers = [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *extra,
                (b"x-request-id", request_id.encode()),
            ]
            await send({"type": "http.response.start", "status": status, "headers": response_headers})
            await send({"type": "http.response.body", "body": body})
        finally:
            self._histogram(target, status).observe(time.perf_counter() - started)
            entered.leave()

    async def _answer(
        self,
        target: Target,
        stored: tuple[str, int | None] | dict[str, str] | None,
        headers: _Headers,
        request_id: str,
    ) -> tuple[int, bytes, list[tuple[bytes, bytes]]]:
        try:
            caller = CallContext(caller=self.service_id(headers.authorization), request_id=request_id)
            credentials = self.services().credentials
            if isinstance(stored, dict):
                many = await credentials.store_many(caller, target.tenant_id, target.connection_id, stored)
                listed = schemas.CredentialList(
                    tenant_id=target.tenant_id,
                    connection_id=target.connection_id,
                    credentials=[schemas.meta_of(s) for s in many],
                )
                return 200, listed.model_dump_json().encode(), []
            owner = target.owner
            if stored is None:
                revealed = await credentials.read(caller, owner)
                return 200, schemas.value_of(revealed).model_dump_json().encode(), []
            result = await credentials.store(caller, owner, stored[0], stored[1])
            status = 201 if result.created else 200
            return status, schemas.meta_of(result).model_dump_json().encode(), []
        except HubError as exc:
            record_server_error(exc, exc.status_code)
            return (
                exc.status_code,
                _error_body(exc.code, exc.message, exc.details, request_id),
                [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in exc.headers.items()],
            )
        except Exception as exc:
            log.exception("unhandled error")
            record_server_error(exc, 500)
            return 500, _error_body("internal_error", INTERNAL_ERROR_MESSAGE, {}, request_id), []

    def _histogram(self, target: Target, status: int) -> Any:
        label = (target.method, target.route, status)
        child = self._histograms.get(label)
        if child is None:
            child = REQUEST_SECONDS.labels(self.service_name, target.method, target.route, str(status))
            self._histograms[label] = child
        return child


def _error_body(code: str, message: str, details: dict[str, Any], request_id: str) -> bytes:
    return jsonutil.dumps(error_body(code, message, details, request_id))


async def _read_body(receive: Receive) -> bytes | None:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)
