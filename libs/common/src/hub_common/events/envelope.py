"""CloudEvents 1.0 binary content mode over Kafka.

Attributes travel as ``ce_*`` headers, the data is the JSON message value, and the W3C
``traceparent``/``tracestate`` headers carry the OpenTelemetry context across the broker.
See https://github.com/cloudevents/spec/blob/v1.0.2/cloudevents/bindings/kafka-protocol-binding.md
"""

from __future__ import annotations

import builtins
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

from opentelemetry import propagate

from hub_common import jsonutil
from hub_common.events.models import HubEvent

E = TypeVar("E", bound=HubEvent)
SPECVERSION = "1.0"
CONTENT_TYPE = "application/json"


class EnvelopeError(ValueError):
    """A Kafka record that is not a valid CloudEvent."""


@dataclass(frozen=True)
class CloudEvent:
    id: str
    type: str
    source: str
    time: datetime
    data: bytes
    subject: str | None = None
    datacontenttype: str = CONTENT_TYPE
    specversion: str = SPECVERSION
    trace_headers: dict[str, str] = field(default_factory=dict)

    def json(self) -> Any:
        return jsonutil.loads(self.data)

    def parse(self, model: builtins.type[E]) -> E:
        if self.type != model.event_type():
            raise EnvelopeError(f"expected {model.event_type()}, got {self.type}")
        return model.model_validate_json(self.data)


def encode(
    event: HubEvent, *, source: str, event_id: str | None = None
) -> tuple[bytes, bytes, list[tuple[str, bytes]]]:
    """Return ``(key, value, headers)`` for a Kafka record, with the current trace context."""
    eid = event_id or str(uuid.uuid4())
    headers: list[tuple[str, bytes]] = [
        ("ce_specversion", SPECVERSION.encode()),
        ("ce_id", eid.encode()),
        ("ce_type", event.event_type().encode()),
        ("ce_source", source.encode()),
        ("ce_time", event.timestamp.astimezone(UTC).isoformat().encode()),
        ("content-type", CONTENT_TYPE.encode()),
    ]
    subject = event.subject()
    if subject:
        headers.append(("ce_subject", subject.encode()))
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    headers.extend((k, v.encode()) for k, v in carrier.items())
    value = event.model_dump_json().encode()
    return event.partition_key().encode(), value, headers


def decode(value: bytes | None, headers: Iterable[tuple[str, bytes]] | Mapping[str, bytes]) -> CloudEvent:
    items = headers.items() if isinstance(headers, Mapping) else headers
    h: dict[str, str] = {}
    for k, v in items:
        if not isinstance(v, bytes | bytearray):  # Kafka allows a null header value
            raise EnvelopeError(f"header {k!r} has no value")
        h[k.lower()] = v.decode("utf-8", "replace")
    missing = [a for a in ("ce_id", "ce_type", "ce_source", "ce_specversion") if a not in h]
    if missing:
        raise EnvelopeError(f"missing CloudEvents headers: {', '.join(missing)}")
    if h["ce_specversion"] != SPECVERSION:
        raise EnvelopeError(f"unsupported specversion {h['ce_specversion']}")
    try:
        time = datetime.fromisoformat(h["ce_time"]) if "ce_time" in h else datetime.now(UTC)
    except ValueError as exc:
        raise EnvelopeError("ce_time is not RFC 3339") from exc
    trace: dict[str, str] = {k: h[k] for k in ("traceparent", "tracestate") if k in h}
    return CloudEvent(
        id=h["ce_id"],
        type=h["ce_type"],
        source=h["ce_source"],
        time=time,
        data=value or b"",
        subject=h.get("ce_subject"),
        datacontenttype=h.get("content-type", CONTENT_TYPE),
        trace_headers=trace,
    )
