"""An in-process OTLP/HTTP receiver: what the services export, decoded, for tests to read.

Services started with ``HUB_OTLP_ENDPOINT`` pointing here POST ``ExportTraceServiceRequest``
protobufs to ``/v1/traces``; each span is kept as a :class:`ReceivedSpan`, with the raw payloads
too (for byte-level secret scans). ``/v1/metrics`` is answered (and counted) in case a process
exports metrics.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

KINDS = {
    Span.SPAN_KIND_INTERNAL: "internal",
    Span.SPAN_KIND_SERVER: "server",
    Span.SPAN_KIND_CLIENT: "client",
    Span.SPAN_KIND_PRODUCER: "producer",
    Span.SPAN_KIND_CONSUMER: "consumer",
}


def _value(value: AnyValue) -> Any:
    which = value.WhichOneof("value")
    if which == "array_value":
        return [_value(v) for v in value.array_value.values]
    if which == "kvlist_value":
        return {kv.key: _value(kv.value) for kv in value.kvlist_value.values}
    return getattr(value, which) if which else None


@dataclass(frozen=True)
class ReceivedEvent:
    name: str
    attributes: dict[str, Any]


@dataclass(frozen=True)
class ReceivedSpan:
    service: str
    trace_id: str
    span_id: str
    parent_span_id: str
    name: str
    kind: str
    attributes: dict[str, Any]
    error: bool
    events: tuple[ReceivedEvent, ...] = field(default_factory=tuple)

    def text(self) -> str:
        """Everything the span says, as one string (for secret scans)."""
        parts = [self.service, self.name, repr(self.attributes)]
        parts.extend(f"{e.name} {e.attributes!r}" for e in self.events)
        return "\n".join(parts)


class OtlpReceiver:
    """``with OtlpReceiver() as otlp:`` serves on a free loopback port; ``otlp.endpoint`` is the
    base URL to give as ``HUB_OTLP_ENDPOINT``."""

    def __init__(self) -> None:
        self.spans: list[ReceivedSpan] = []
        self.payloads: list[bytes] = []
        self.metric_posts = 0
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                if self.path == "/v1/traces":
                    receiver._take(body)
                elif self.path == "/v1/metrics":
                    receiver.metric_posts += 1
                else:
                    self.send_response(404)
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("content-type", "application/x-protobuf")
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *_: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> OtlpReceiver:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _take(self, body: bytes) -> None:
        request = ExportTraceServiceRequest()
        request.ParseFromString(body)
        spans = []
        for resource_spans in request.resource_spans:
            service = next(
                (
                    kv.value.string_value
                    for kv in resource_spans.resource.attributes
                    if kv.key == "service.name"
                ),
                "",
            )
            for scope_spans in resource_spans.scope_spans:
                for span in scope_spans.spans:
                    spans.append(
                        ReceivedSpan(
                            service=service,
                            trace_id=span.trace_id.hex(),
                            span_id=span.span_id.hex(),
                            parent_span_id=span.parent_span_id.hex(),
                            name=span.name,
                            kind=KINDS.get(span.kind, "unspecified"),
                            attributes={kv.key: _value(kv.value) for kv in span.attributes},
                            error=span.status.code == Status.STATUS_CODE_ERROR,
                            events=tuple(
                                ReceivedEvent(e.name, {kv.key: _value(kv.value) for kv in e.attributes})
                                for e in span.events
                            ),
                        )
                    )
        with self._lock:
            self.payloads.append(body)
            self.spans.extend(spans)

    def snapshot(self) -> list[ReceivedSpan]:
        with self._lock:
            return list(self.spans)

    def trace(self, trace_id: str) -> list[ReceivedSpan]:
        return [s for s in self.snapshot() if s.trace_id == trace_id]

    def wait_for(
        self, condition: Callable[[list[ReceivedSpan]], bool], timeout_s: float = 30.0
    ) -> list[ReceivedSpan]:
        """Poll until ``condition(spans)`` holds (spans arrive in batches, every few hundred ms
        with ``OTEL_BSP_SCHEDULE_DELAY`` set low); the spans seen, or AssertionError."""
        deadline = time.monotonic() + timeout_s
        while True:
            spans = self.snapshot()
            if condition(spans):
                return spans
            if time.monotonic() > deadline:
                raise AssertionError(f"spans never satisfied the condition; {len(spans)} received")
            time.sleep(0.1)

    def __iter__(self) -> Iterator[ReceivedSpan]:
        return iter(self.snapshot())
