"""The CLIENT span of one attempt at the provider (hand-made: the upstream client is the
gateway's own, ``adapters/http1/``, which no instrumentation knows).

Made only when the call's server span is recorded (``HUB_GATEWAY_TRACING``), so a gateway that
does not export pays one ``is_recording`` check per attempt. It ends when the answer's head is in
(the body is streamed to the caller afterwards, inside the server span). Its ``url.full`` has no
query string: an API key placed in the query travels there.
"""

from __future__ import annotations

from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode

from hub_common.telemetry import url_without_query
from hub_gateway.domain.connection import ConnectionTarget

tracer = trace.get_tracer("hub_gateway.upstream")


def upstream_span(method: str, target: ConnectionTarget, path: str, attempt: int) -> Span | None:
    if not trace.get_current_span().is_recording():
        return None
    attributes: dict[str, str | int] = {
        "http.request.method": method,
        "server.address": target.host,
        "url.full": url_without_query(target.base_url + path),
        "hub.connection_id": target.id_text,
        "hub.connector_id": target.connector_id,
    }
    if target.port is not None:
        attributes["server.port"] = target.port
    if attempt > 1:
        attributes["http.request.resend_count"] = attempt - 1
    return tracer.start_span(method, kind=SpanKind.CLIENT, attributes=attributes)


def end_upstream_span(span: Span, status: int | None, exc: BaseException | None) -> None:
    if status is not None:
        span.set_attribute("http.response.status_code", status)
        if status >= 400:  # a CLIENT span's error: any 4xx/5xx answer (HTTP conventions)
            span.set_attribute("error.type", str(status))
            span.set_status(Status(StatusCode.ERROR))
    elif exc is not None:
        span.set_attribute("error.type", type(exc).__qualname__)
        span.set_status(Status(StatusCode.ERROR))
    span.end()
