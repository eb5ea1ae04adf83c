"""JSON structured logging with secret redaction applied to every record.

``configure_logging`` installs one handler on the root logger; the redaction filter runs on the
formatted message, the extra fields and the exception text, so a secret that slips into a log
call is still removed before it is written.
"""

from __future__ import annotations

import logging
import sys
import traceback
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

import orjson

from hub_common.redaction import redact, redact_text

request_id_var: ContextVar[str | None] = ContextVar("hub_request_id", default=None)

# uvicorn adds "color_message" (the message with ANSI codes): noise in JSON lines.
_STANDARD_ATTRS = frozenset(
    vars(logging.LogRecord("", 0, "", 0, "", None, None)).keys() | {"message", "asctime", "color_message"}
)


class RedactingFilter(logging.Filter):
    """Renders the message once, redacts it and any extra attributes in place."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string must not lose the record
            message = str(record.msg)
        record.msg = redact_text(message)
        record.args = None
        for key, value in list(vars(record).items()):
            if key not in _STANDARD_ATTRS:
                setattr(record, key, redact({key: value})[key])
        return True


class RepeatCollapsingFilter(logging.Filter):
    """During an outage a client library's retry loop logs the same line every ~100 ms (Kafka:
    ~190 lines/s from one service). Per logger, level and message template, the first record
    goes out; repeats within ``window_s`` are only counted, and the first one after the window
    carries ``repeats_suppressed``. The hub's own loggers are never collapsed."""

    def __init__(self, prefixes: tuple[str, ...] = ("aiokafka", "kafka"), window_s: float = 60.0) -> None:
        super().__init__()
        self.prefixes = prefixes
        self.window_s = window_s
        self._seen: dict[tuple[str, int, str], list[float]] = {}  # key -> [first seen, suppressed]

    def filter(self, record: logging.LogRecord) -> bool:
        if not record.name.startswith(self.prefixes):
            return True
        key = (record.name, record.levelno, str(record.msg))
        entry = self._seen.get(key)
        if entry is not None and record.created - entry[0] < self.window_s:
            entry[1] += 1
            return False
        if len(self._seen) > 1000:  # templates are few; this only bounds a pathological case
            self._seen.clear()
        self._seen[key] = [record.created, 0]
        if entry is not None and entry[1]:
            record.repeats_suppressed = int(entry[1])
        return True


class JsonFormatter(logging.Formatter):
    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
            "service": self.service,
        }
        request_id = request_id_var.get()
        if request_id:
            entry["request_id"] = request_id
        trace = _current_trace_ids()
        if trace:
            entry.update(trace)
        for key, value in vars(record).items():
            if key not in _STANDARD_ATTRS and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exc"] = redact_text("".join(traceback.format_exception(*record.exc_info)))
        return orjson.dumps(entry, default=str).decode()


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        return redact_text(text)


def _current_trace_ids() -> dict[str, str] | None:
    from opentelemetry import trace

    ctx = trace.get_current_span().get_span_context()
    if not ctx.is_valid:
        return None
    return {"trace_id": format(ctx.trace_id, "032x"), "span_id": format(ctx.span_id, "016x")}


def configure_logging(service: str, level: str = "INFO", json_output: bool = True) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RepeatCollapsingFilter())  # before redaction, which renders the template away
    handler.addFilter(RedactingFilter())
    if json_output:
        handler.setFormatter(JsonFormatter(service))
    else:
        handler.setFormatter(TextFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # Third-party loggers that echo request lines or connection strings are kept quieter.
    for noisy in ("aiokafka", "kafka", "uvicorn.access"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
