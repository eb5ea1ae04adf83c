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
            with tracer.start_as_current_span(
                f"{scope['method']} {scope['path']}",
                kind=trace.SpanKind.SERVER,
                attributes={"http.request.method": scope["method"], "url.path": scope["path"]},
            ) as span:
                await self.app(scope, receive, send_wrapper)
                span.set_attribute("http.response.status_code", status_holder[0])
        finally:
            route = scope.get("route")
            route_path = getattr(route, "path", "unmatched")
            REQUEST_SECONDS.labels(self.service, scope["method"], route_path, str(status_holder[0])).observe(
                time.perf_counter() - started
            )
            otel_context.detach(ctx_token)
            request_id_var.reset(rid_token)
