"""What the service and a plugin worker say to each other: one JSON object per line.

The worker is started with ``WorkerSpec`` (argv: which connector class, the import path, the
gateway's port, the sandbox mode) and answers ``{"kind": "ready", ...}`` or
``{"kind": "fatal", "message"}``. Then, per call, the service writes a ``Request`` (``op``:
``action``, ``health``, ``export`` or ``register_webhook``, the connection context, the gateway
URL, a token scoped to that connection) and the worker answers with exactly one of the ``Reply``
kinds below. Everything is data: a worker's answer is validated by the service like any
untrusted input.
"""

from __future__ import annotations

import json
from typing import Any, Literal, TypedDict

# Reply kinds
RESULT = "result"  # {"value": ActionResult or ConnectorHealth as JSON}
NOT_JSON = "not_json"  # the connector returned data that is not JSON
WRONG_TYPE = "wrong_type"  # {"type": name} the connector returned something else
# {"error": "invalid_parameters" | "unknown_action" | "not_implemented" | "connector_error",
#  "message", "details"; a connector_error also "code", "status_code", "retry_after_s", "provider"}
ERROR = "error"
CRASH = "crash"  # {"description": "RuntimeError: boom"}
TIMEOUT = "timeout"  # async work passed its deadline (blocking work is killed by the service)
READY = "ready"  # {"sandbox": "landlock-v<abi>" | "none", "pid"}
FATAL = "fatal"  # {"message"} the worker cannot serve (import failed, sandbox required but missing)


class WorkerSpec(TypedDict):
    module: str
    qualname: str
    file: str | None  # where the class's module is, when it is not importable by name (tests)
    sys_path: list[str]
    read_paths: list[str]
    gateway_port: int
    sandbox: Literal["auto", "required", "off"]


Op = Literal["action", "health", "export", "register_webhook", "unregister_webhook", "parse_webhook"]


class Delivery(TypedDict):
    headers: dict[str, str]
    body_b64: str


class WebhookArgs(TypedDict):
    trigger_ids: list[str]
    target_url: str
    secret: str


class Request(TypedDict):
    op: Op
    trace: dict[str, str]  # W3C traceparent/tracestate of the service's span for this call
    cursor: str | None  # export: where to continue
    webhook: WebhookArgs | None  # register_webhook
    registration: dict[str, Any] | None  # unregister_webhook: the WebhookRegistration as JSON
    delivery: Delivery | None  # parse_webhook: a verified delivery
    context: dict[str, Any]
    action_id: str | None
    parameters: dict[str, Any] | None
    gateway_url: str
    token: str
    timeout_s: float
    http_timeout_s: float


def encode(message: dict[str, Any] | WorkerSpec | Request) -> bytes:
    return json.dumps(message, separators=(",", ":")).encode() + b"\n"


def decode(line: bytes) -> dict[str, Any]:
    value = json.loads(line)
    if not isinstance(value, dict) or not isinstance(value.get("kind"), str):
        raise ValueError("not a worker message")
    return value
