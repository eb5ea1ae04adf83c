"""``ANY /v1/proxy/{connection_id}/{path}``: a raw ASGI endpoint (no FastAPI machinery on the hot
path; measured in bench/gateway_bench.py).

Per call it: takes the request id and the caller's trace context, authenticates, checks the
path, lets :class:`ProxyService` do the work, streams the answer back, and then — after the
answer — observes the latency histogram and queues one ``integration.api-request`` event.
Errors are the hub's JSON shape ``{"error": {"code", "message", "details", "request_id"}}``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any
from urllib.parse import quote

import orjson
from opentelemetry import trace
from starlette.types import Message, Receive, Scope, Send

from hub_common.errors import HubError
from hub_common.logging import request_id_var
from hub_common.telemetry import mark_server_status, record_exception
from hub_common.web.request_id import enter_request, trace_carrier, traceparent_for
from hub_gateway.adapters.event_sink import ApiRequestRecord, EventSink
from hub_gateway.api import metrics
from hub_gateway.api.callers import CallerAuth
from hub_gateway.domain.errors import BodyTooLarge, ClientGone, MethodNotAllowed, RequestBodyTimeout
from hub_gateway.domain.paths import check_provider_path, split_proxy_path
from hub_gateway.services.proxy import CallContext, ProxyRequest, ProxyService, RequestBody

log = logging.getLogger(__name__)
tracer = trace.get_tracer("hub_gateway.api")
# The server span's name and ``http.route``: the template, never the connection id or the path.
ROUTE = "/v1/proxy/{connection_id}/{path}"
_JSON = [(b"content-type", b"application/json")]
# A refused body is read and dropped up to this much before the 413 goes out: granian closes a
# connection whose request body is left unread, and a caller still sending would see a reset
# instead of the answer. Past it, the connection closes.
DRAIN_LIMIT_BYTES = 16 * 1024 * 1024
# The methods a provider call may use. TRACE would echo the injected credential back (Apache in
# front of a self-hosted Jira, Confluence or GitLab answers it by default); CONNECT, WebDAV and
# custom verbs have no place in a REST API call. Anything else is 405, never sent upstream.
FORWARDED_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_ALLOW = ", ".join(sorted(FORWARDED_METHODS))


class ProxyEndpoint:
    def __init__(
        self,
        proxy: ProxyService,
        auth: CallerAuth,
        events: EventSink,
        *,
        max_body_bytes: int,
        replay_buffer_bytes: int,
        tracing: bool,
        body_idle_timeout_s: float = 30.0,
    ) -> None:
        self.proxy = proxy
        self.auth = auth
        self.events = events
        self.max_body_bytes = max_body_bytes
        self.replay_buffer_bytes = replay_buffer_bytes
        self.body_idle_timeout_s = body_idle_timeout_s
        # With an exporter, every call is a span (linked to the caller's). Without one, a recorded
        # span would be thrown away (~25 us per call): the W3C context is only carried through —
        # the caller's trace id goes upstream and into the call's event with a fresh span id.
        self.tracing = tracing

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        headers: list[tuple[bytes, bytes]] = scope["headers"]
        authorization = tenant = tier = host = content_length = None
        traceparent: bytes | None = None
        tracestate: bytes | None = None
        chunked = health_check = False
        for name, value in headers:
            if name == b"authorization":
                authorization = value.decode("latin-1")
            elif name == b"x-hub-tenant":
                tenant = value.decode("latin-1")
            elif name == b"x-hub-tier":
                tier = value.decode("latin-1")
            elif name == b"traceparent":
                traceparent = value
            elif name == b"tracestate":
                tracestate = value
            elif name == b"host":
                host = value.decode("latin-1")
            elif name == b"content-length":
                content_length = value
            elif name == b"transfer-encoding":
                chunked = b"chunked" in value.lower()
            elif name == b"x-hub-purpose":
                health_check = value == b"health-check"  # honoured for the connectors service only
        entered = enter_request(trace_carrier(traceparent, tracestate) if self.tracing else None)
        method: str = scope["method"]
        call = CallContext()
        status = 500
        provider_path = ""
        response_started = False
        rid = b""
        try:
            # One span per call (the upstream call is part of it: its traceparent goes upstream);
            # attributes are set once at the end, which is what the SDK makes cheap.
            span_cm = (
                tracer.start_as_current_span(
                    f"{method} {ROUTE}",
                    kind=trace.SpanKind.SERVER,
                    record_exception=False,
                    set_status_on_exception=False,
                )
                if self.tracing
                else contextlib.nullcontext(trace.INVALID_SPAN)
            )
            with span_cm as span:
                context_header = traceparent_for(span, traceparent)
                # The request id is the trace id (hub_common.web.request_id), here read off the
                # traceparent this call sends on, which holds it whether or not the span records.
                request_id_var.set(context_header[3:35])
                rid = context_header[3:35].encode()
                try:
                    if method not in FORWARDED_METHODS:
                        raise MethodNotAllowed(
                            f"the gateway does not forward {method[:32]!r} requests",
                            details={"allowed": sorted(FORWARDED_METHODS)},
                            headers={"Allow": _ALLOW},
                        )
                    if self.auth.needs_keys(authorization):
                        await self.auth.fetch_keys(authorization)
                    caller = self.auth.caller(authorization, tenant, tier)
                    raw = scope.get("raw_path")
                    raw_path = raw.decode("latin-1") if raw else quote(scope["path"])
                    connection_id, rest = split_proxy_path(raw_path)
                    provider_path = check_provider_path(rest)
                    # With both, Transfer-Encoding wins and Content-Length is dropped (RFC 9112
                    # §6.3): the body goes upstream chunked, never under the caller's length.
                    length = None if chunked else _length(content_length)
                    if length is not None and length > self.max_body_bytes:
                        raise BodyTooLarge(
                            f"the request body is larger than {self.max_body_bytes} bytes",
                            details={"max_bytes": self.max_body_bytes},
                        )
                    request = ProxyRequest(
                        connection_id=connection_id,
                        method=method,
                        provider_path=provider_path,
                        query=scope["query_string"].decode("latin-1"),
                        headers=headers,
                        client_ip=scope["client"][0] if scope.get("client") else None,
                        scheme=scope.get("scheme", "http"),
                        host=host,
                        traceparent=context_header,
                        health_check=health_check,
                    )

                    read_body: Callable[[], Awaitable[RequestBody]] | None = None  # no body declared
                    if chunked or length:

                        async def read_body() -> RequestBody:
                            return await self._read_body(receive, length, chunked)

                    reply = await self.proxy.handle(caller, request, read_body, call)
                    status = reply.status
                    reply.headers.append((b"x-request-id", rid))  # the reply's own list
                    try:
                        await send(
                            {"type": "http.response.start", "status": status, "headers": reply.headers}
                        )
                        response_started = True
                        if reply.stream is None:
                            await send({"type": "http.response.body", "body": reply.body})
                        elif not await _stream_answer(reply.stream, receive, send):
                            call.error_code = "client_disconnected"
                    finally:
                        if reply.release is not None:
                            # Whatever ended the answer (a stream never started, a cancelled
                            # send): its upstream connection goes back (or is closed) now.
                            reply.release()
                except Exception as exc:
                    if response_started:
                        # The provider's answer broke off midway: all we can do is close.
                        call.error_code = "upstream_interrupted"
                        self._finish(call, method, provider_path, status, started, span, context_header)
                        if span.is_recording():  # its status went out fine; the answer did not
                            record_exception(span, exc)
                            span.set_attribute("error.type", type(exc).__qualname__)
                            span.set_status(trace.Status(trace.StatusCode.ERROR))
                        raise
                    if not isinstance(exc, HubError):
                        log.exception("proxy call failed")
                        record_exception(span, exc)
                        exc = HubError("internal error; quote the request id to an operator")
                    elif exc.status_code >= 500:
                        record_exception(span, exc)
                    status = exc.status_code
                    call.error_code = exc.code
                    if isinstance(exc, BodyTooLarge | MethodNotAllowed):
                        await _drain(receive, DRAIN_LIMIT_BYTES)
                    await _send_error(send, exc, rid)
                self._finish(call, method, provider_path, status, started, span, context_header)
        finally:
            entered.leave()

    def _finish(
        self,
        call: CallContext,
        method: str,
        path: str,
        status: int,
        started: float,
        span: trace.Span,
        traceparent: str,
    ) -> None:
        target = call.target
        if span.is_recording():
            attributes: dict[str, str | int] = {"http.request.method": method, "http.route": ROUTE}
            if call.error_code:
                attributes["hub.error_code"] = call.error_code
            if target is not None:
                attributes["hub.connection_id"] = target.id_text
                attributes["hub.connector_id"] = target.connector_id
                attributes["hub.attempts"] = call.attempts
            span.set_attributes(attributes)
            mark_server_status(span, status)
        elapsed = time.perf_counter() - started
        if target is None:  # refused before a connection was known: no tenant to attribute to
            metrics.observe("unresolved", status, elapsed)
            return
        metrics.observe(target.connector_id, status, elapsed)
        self.events.emit(
            ApiRequestRecord(
                target.tenant_id,
                target.id_text,
                target.connector_id,
                method,
                path[:512],
                status,
                int(elapsed * 1000),
                call.remaining,
                call.error_code,
                time.time(),
                traceparent,
            )
        )
        if log.isEnabledFor(logging.DEBUG):
            log.debug(
                "proxied",
                extra={
                    "connection_id": target.id_text,
                    "method": method,
                    "path": path[:200],
                    "status": status,
                    "attempts": call.attempts,
                },
            )

    async def _read_body(self, receive: Receive, length: int | None, chunked: bool) -> RequestBody:
        if not chunked and not length:
            return RequestBody()
        if not chunked and length is not None and length <= self.replay_buffer_bytes:
            parts = []
            more = True
            while more:
                message = await self._next_part(receive, None)
                if message["type"] == "http.disconnect":
                    raise ClientGone("the client went away while sending the body")
                parts.append(message.get("body", b""))
                more = message.get("more_body", False)
            return RequestBody(data=b"".join(parts), length=length)
        body = RequestBody(length=length)
        body.stream = self._stream(receive, body)
        return body

    async def _next_part(self, receive: Receive, body: RequestBody | None) -> Message:
        """The caller's next body message, or 408 when none comes for the idle timeout."""
        try:
            async with asyncio.timeout(self.body_idle_timeout_s):
                return await receive()
        except TimeoutError:
            if body is not None:
                body.stalled = True
            raise RequestBodyTimeout(
                f"the request body stopped arriving (nothing for {self.body_idle_timeout_s:g} s)"
            ) from None

    async def _stream(self, receive: Receive, body: RequestBody) -> AsyncIterator[bytes]:
        received = 0
        more = True
        while more:
            message = await self._next_part(receive, body)
            if message["type"] == "http.disconnect":
                # Raised, not a quiet end: the provider would otherwise wait for the rest of a
                # declared length until the read timeout, and count it against its circuit.
                body.caller_gone = True
                raise ClientGone("the client went away while sending the body")
            chunk: bytes = message.get("body", b"")
            received += len(chunk)
            if received > self.max_body_bytes:
                body.too_large = True
                raise BodyTooLarge("the request body is larger than the gateway accepts")
            more = message.get("more_body", False)
            if chunk:
                yield chunk


async def _stream_answer(stream: AsyncIterator[bytes], receive: Receive, send: Send) -> bool:
    """Relay a streamed answer; False when the caller left first. The server drops what is
    sent after a disconnect without telling, so ``receive`` is watched meanwhile: a caller that
    left stops the provider's stream (an SSE feed, a long completion) and frees its connection
    at once instead of when the provider is done. The relay runs in this task (one watcher task
    per streamed answer, no more): the watcher cancels it."""
    relay = asyncio.current_task()
    assert relay is not None
    left = finished = False

    def on_disconnect(watch: asyncio.Future[bool]) -> None:
        nonlocal left
        if watch.cancelled() or watch.exception() is not None:
            return
        if watch.result() and not finished:  # (a callback already queued when the relay ended)
            left = True
            relay.cancel()

    watcher = asyncio.ensure_future(_disconnect(receive, DRAIN_LIMIT_BYTES))
    watcher.add_done_callback(on_disconnect)
    try:
        async for chunk in stream:
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b""})
    except asyncio.CancelledError:
        if not left or relay.uncancel() > 0:  # not (only) ours: this call itself is cancelled
            raise
        with contextlib.suppress(Exception):
            await stream.aclose()  # type: ignore[attr-defined]  # the provider's stream ends: not reused
        return False
    finally:
        finished = True
        watcher.cancel()
    return True


async def _disconnect(receive: Receive, limit: int) -> bool:
    """True when the caller disconnects; False once it has sent ``limit`` more body bytes (what
    an early answer left unread), after which it is no longer watched."""
    dropped = 0
    while dropped <= limit:
        message = await receive()
        if message["type"] == "http.disconnect":
            return True
        dropped += len(message.get("body", b""))
    return False


async def _drain(receive: Receive, limit: int) -> None:
    """Read what is left of the request body and drop it, up to ``limit`` bytes."""
    dropped = 0
    more = True
    while more and dropped <= limit:
        message = await receive()
        if message["type"] == "http.disconnect":
            return
        dropped += len(message.get("body", b""))
        more = message.get("more_body", False)


def _length(value: bytes | None) -> int | None:
    if value is None:
        return None
    try:
        length = int(value)
    except ValueError:
        return None
    return length if length >= 0 else None


async def _send_error(send: Send, exc: HubError, rid: bytes) -> None:
    body: dict[str, Any] = {
        "error": {
            "code": exc.code,
            "message": exc.message,
            "details": exc.details,
            "request_id": rid.decode(),
        }
    }
    extra = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in exc.headers.items()]
    await send(
        {
            "type": "http.response.start",
            "status": exc.status_code,
            "headers": [*_JSON, *extra, (b"x-request-id", rid)],
        }
    )
    await send({"type": "http.response.body", "body": orjson.dumps(body)})
