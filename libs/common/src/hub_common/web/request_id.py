"""One request id per request, and it is the trace id.

A user quotes the id from an error body or the ``X-Request-Id`` header; an operator finds the
same 32 hex characters as the trace id in the trace backend and as ``request_id`` in every log
line. The id comes from the span when one records, else from the caller's ``traceparent``, else
it is new (a process with tracing switched off still hands out ids of the same shape).
"""

from __future__ import annotations

import random

from opentelemetry import trace

_HEX = frozenset("0123456789abcdef")


def trace_id_of_traceparent(traceparent: str | bytes | None) -> str | None:
    """The trace id of a W3C ``traceparent`` (``00-<32 hex>-<16 hex>-<2 hex>``), if well formed."""
    if traceparent is None:
        return None
    value = traceparent.decode("latin-1") if isinstance(traceparent, bytes) else traceparent
    parts = value.strip().split("-")
    if len(parts) < 4 or len(parts[1]) != 32 or not _HEX.issuperset(parts[1]):
        return None
    if parts[1] == "0" * 32:
        return None
    return parts[1]


def request_id_for(span: trace.Span | None = None, traceparent: str | bytes | None = None) -> str:
    """The request id: the span's trace id, else the caller's, else a new one (same shape)."""
    if span is not None:
        ctx = span.get_span_context()
        if ctx.is_valid:
            return f"{ctx.trace_id:032x}"
    return trace_id_of_traceparent(traceparent) or f"{random.getrandbits(128):032x}"
