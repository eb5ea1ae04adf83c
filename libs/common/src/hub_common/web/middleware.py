"""Pure-ASGI middleware (cheaper than BaseHTTPMiddleware): request id, server span, metrics."""

from __future__ import annotations

import re
import time
import uuid

from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from prometheus_client import Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hub_common.logging import request_id_var
from hub_common.telemetry import mark_server_status

_SAFE_ID = re.compile(r"^[A-Za-z0-9._\-]{1,128}$")
tracer = trace.get_tracer("hub_common.web")

REQUEST_SECONDS = Histogram(
    "hub_http_request_duration_seconds",
    "HTTP request latency",
    ["service", "method", "route", "status"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp, service: str) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        incoming = headers.get("x-request-id", "")
        request_id = incoming if _SAFE_ID.match(incoming) else uuid.uuid4().hex
        rid_token = request_id_var.set(request_id)
        ctx_token = otel_context.attach(propagate.extract(headers))
        status_holder = [500]
        started = time.perf_counter()

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_holder[0] = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", request_id.encode())]
            await send(message)

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
                try:
                    await self.app(scope, receive, send_wrapper)
                except Exception as exc:  # (a cancelled request is no 5xx of ours)
                    _name_by_route(span, scope)
                    mark_server_status(span, 500, exc)
                    raise
                _name_by_route(span, scope)
                mark_server_status(span, status_holder[0])
        finally:
            route = scope.get("route")
            route_path = getattr(route, "path", "unmatched")
            REQUEST_SECONDS.labels(self.service, scope["method"], route_path, str(status_holder[0])).observe(
                time.perf_counter() - started
            )
            otel_context.detach(ctx_token)
            request_id_var.reset(rid_token)


def _name_by_route(span: trace.Span, scope: Scope) -> None:
    """``{method} {route template}`` and ``http.route``, once the router matched one."""
    route = getattr(scope.get("route"), "path", None)
    if route and span.is_recording():
        span.update_name(f"{scope['method']} {route}")
        span.set_attribute("http.route", route)
