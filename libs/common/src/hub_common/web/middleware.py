"""Pure-ASGI middleware (cheaper than BaseHTTPMiddleware): request id, server span, metrics, and
the last word on failures.

Every response carries ``X-Request-Id`` (the trace id, :mod:`hub_common.web.request_id`). An
exception no handler took becomes a JSON error here — 503 naming the dependency when Postgres,
Redis or Kafka is out (:mod:`hub_common.web.outages`), else 500 — and is not re-raised: uvicorn
would otherwise reset the keep-alive connection and the caller's next request on it would fail.
NUL characters are refused at the edge with 422 (Postgres cannot store them in text, and no name,
id or setting of the hub needs one), in the path, the query and JSON bodies.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence

from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from prometheus_client import Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hub_common.logging import request_id_var
from hub_common.telemetry import mark_server_status, record_exception
from hub_common.web.errors import INTERNAL_ERROR_MESSAGE, error_body
from hub_common.web.nul import NulInBody, NulScanner, has_nul_in_target
from hub_common.web.outages import dependency_outage
from hub_common.web.request_id import request_id_for
from hub_common.web.responses import JsonResponse

log = logging.getLogger(__name__)
tracer = trace.get_tracer("hub_common.web")

REQUEST_SECONDS = Histogram(
    "hub_http_request_duration_seconds",
    "HTTP request latency",
    ["service", "method", "route", "status"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp, service: str, opaque_body_paths: Sequence[str] = ()) -> None:
        self.app = app
        self.service = service
        # Paths whose bodies are relayed or verified byte for byte (never stored as text).
        self.opaque_body_paths = tuple(opaque_body_paths)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        ctx_token = otel_context.attach(propagate.extract(headers))
        status_holder = [500]
        started_holder = [False]
        started = time.perf_counter()
        rid_token = None
        try:
            # Named "{method}" until routing knows the template: never the raw path, whose ids
            # and tenants would make every span name unique.
            with tracer.start_as_current_span(
                scope["method"],
                kind=trace.SpanKind.SERVER,
                attributes={"http.request.method": scope["method"], "url.path": scope["path"]},
                record_exception=False,
                set_status_on_exception=False,
            ) as span:
                request_id = request_id_for(span, headers.get("traceparent"))
                rid_token = request_id_var.set(request_id)
                rid = request_id.encode()

                async def send_wrapper(message: Message) -> None:
                    if message["type"] == "http.response.start":
                        status_holder[0] = message["status"]
                        started_holder[0] = True
                        message["headers"] = [*message.get("headers", []), (b"x-request-id", rid)]
                    await send(message)

                if has_nul_in_target(scope):
                    await _refuse_nul(send_wrapper, request_id, "the path or query contains a NUL character")
                    caught = None
                else:
                    caught = await self._serve(
                        scope, receive, send_wrapper, request_id, headers, started_holder
                    )
                _name_by_route(span, scope)
                mark_server_status(span, status_holder[0], caught)
        finally:
            route = scope.get("route")
            route_path = getattr(route, "path", "unmatched")
            REQUEST_SECONDS.labels(self.service, scope["method"], route_path, str(status_holder[0])).observe(
                time.perf_counter() - started
            )
            otel_context.detach(ctx_token)
            if rid_token is not None:
                request_id_var.reset(rid_token)

    async def _serve(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        request_id: str,
        headers: dict[str, str],
        started: list[bool],
    ) -> BaseException | None:
        """Serve; the exception answered here (as a 5xx), if any, for the span."""
        scanned = receive
        if "json" in headers.get("content-type", "") and not scope["path"].startswith(self.opaque_body_paths):
            scanned = NulScanner(receive)
        try:
            await self.app(scope, scanned, send)
        except NulInBody:
            if not started[0]:
                await _refuse_nul(send, request_id, "the JSON body contains a NUL character (\\u0000)")
        except Exception as exc:  # the last word: see the module docstring
            if started[0]:
                log.exception("unhandled error after the response started")
                record_exception(trace.get_current_span(), exc)
                return exc
            outage = dependency_outage(exc)
            if outage is None:
                log.exception("unhandled error")
                body = error_body("internal_error", INTERNAL_ERROR_MESSAGE, request_id=request_id)
                response = JsonResponse(body, status_code=500)
            else:
                log.warning(
                    "dependency unavailable",
                    extra={"dependency": outage.dependency, "error": type(exc).__name__},
                )
                response = outage.response(request_id)
            await response(scope, _empty_receive, send)
            return exc
        return None


async def _refuse_nul(send: Send, request_id: str, message: str) -> None:
    body = error_body("invalid_character", message, request_id=request_id)
    response = JsonResponse(body, status_code=422)
    await response({"type": "http"}, _empty_receive, send)


async def _empty_receive() -> Message:
    return {"type": "http.disconnect"}


def _name_by_route(span: trace.Span, scope: Scope) -> None:
    """``{method} {route template}`` and ``http.route``, once the router matched one."""
    route = getattr(scope.get("route"), "path", None)
    if route and span.is_recording():
        span.update_name(f"{scope['method']} {route}")
        span.set_attribute("http.route", route)
