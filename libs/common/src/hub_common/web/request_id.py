"""One request id per request, and it is the trace id; one way to enter a request.

A user quotes the id from an error body or the ``X-Request-Id`` header; an operator finds the
same 32 hex characters as the trace id in the trace backend and as ``request_id`` in every log
line. The id comes from the span when one records, else from the caller's ``traceparent``, else
it is new (a process with tracing switched off still hands out ids of the same shape).

Three entries use this module: the FastAPI middleware (``hub_common.web.middleware``) and the two
raw-ASGI fast paths (the gateway's proxy endpoint, the vault's credential reads). Each calls
:func:`enter_request` and :func:`traceparent_for` / :func:`request_id_for`, so a caller's trace
context is read one way (W3C ``traceparent`` as OpenTelemetry's propagator reads it) whichever
path serves the request (docs/adr/0015-end-to-end-traces.md, 0028-one-way-per-concern.md).
"""

from __future__ import annotations

import random
import re
from collections.abc import Mapping

from opentelemetry import context as otel_context
from opentelemetry import propagate, trace

from hub_common.logging import request_id_var

# version-traceid-spanid-flags, lower-case hex (what OpenTelemetry's propagator accepts);
# a later version may append fields, version 00 may not; version ff is invalid.
_TRACEPARENT = re.compile(r"^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$")
_ZERO_TRACE = "0" * 32
_ZERO_SPAN = "0" * 16


def parse_traceparent(traceparent: str | bytes | None) -> tuple[str, str] | None:
    """A well-formed W3C ``traceparent`` → (trace id, flags); None otherwise."""
    if not traceparent:
        return None
    m = _TRACEPARENT.match(_text(traceparent).strip())
    if m is None:
        return None
    version, trace_id, span_id, flags, rest = m.groups()
    if version == "ff" or (version == "00" and rest) or trace_id == _ZERO_TRACE or span_id == _ZERO_SPAN:
        return None
    return trace_id, flags


def trace_id_of_traceparent(traceparent: str | bytes | None) -> str | None:
    """The trace id of a well-formed W3C ``traceparent``, else None."""
    parsed = parse_traceparent(traceparent)
    return parsed[0] if parsed else None


def traceparent_for(span: trace.Span | None, incoming: str | bytes | None = None) -> str:
    """This request's W3C traceparent: the span's when it is valid, else the caller's trace id
    (or a new one) with a fresh span id. Its trace id (``[3:35]``) is the request id."""
    if span is not None:
        sc = span.get_span_context()
        if sc.is_valid:
            return f"00-{sc.trace_id:032x}-{sc.span_id:016x}-{sc.trace_flags:02x}"
    parsed = parse_traceparent(incoming)
    if parsed is not None:
        return f"00-{parsed[0]}-{random.getrandbits(64) or 1:016x}-{parsed[1]}"
    ids = f"{random.getrandbits(192):048x}"  # a trace id and a span id from one draw
    return f"00-{ids[:32]}-{ids[32:]}-00"


def request_id_for(span: trace.Span | None = None, traceparent: str | bytes | None = None) -> str:
    """The request id: the span's trace id, else the caller's, else a new one (same shape)."""
    if span is not None:
        ctx = span.get_span_context()
        if ctx.is_valid:
            return f"{ctx.trace_id:032x}"
    return trace_id_of_traceparent(traceparent) or f"{random.getrandbits(128):032x}"


class RequestScope:
    """What :func:`enter_request` set for one request; :meth:`leave` undoes it (in a ``finally``)."""

    __slots__ = ("_context", "_request_id")

    def __init__(self, carrier: Mapping[str, str] | None) -> None:
        self._request_id = request_id_var.set(None)
        self._context = otel_context.attach(propagate.extract(carrier)) if carrier else None

    def leave(self) -> None:
        if self._context is not None:
            otel_context.detach(self._context)
        request_id_var.reset(self._request_id)


def enter_request(carrier: Mapping[str, str] | None) -> RequestScope:
    """Begin one request: the caller's trace context (``carrier``: its propagation headers, or
    None when the process does not trace) becomes the current one, and the request id variable
    is this request's (set it with ``request_id_var.set`` once the id is known)."""
    return RequestScope(carrier)


def trace_carrier(traceparent: str | bytes | None, tracestate: str | bytes | None) -> dict[str, str] | None:
    """The propagation headers of a raw-ASGI request, for :func:`enter_request`."""
    if traceparent is None:
        return None
    carrier = {"traceparent": _text(traceparent)}
    if tracestate is not None:
        carrier["tracestate"] = _text(tracestate)
    return carrier


def _text(value: str | bytes) -> str:
    return value.decode("latin-1") if isinstance(value, bytes) else value
