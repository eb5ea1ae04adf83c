"""A plugin worker: one process serving one custom connector, one call at a time.

Started by the connectors service (``runtime/process_isolation.py``) as
``python -I -m hub_connectors.plugin_host.worker <spec JSON>`` with an environment that holds no
hub secret (no ``HUB_*``, no DSN, no service keys), in ``/``, in its own session. Before it
imports the connector it locks itself into the Landlock sandbox (``sandbox.py``). For each call
it gets a token the gateway accepts for that call's connection only, and no other way to reach
the hub: its client sends ``Authorization`` and nothing else (no ``X-Hub-Tenant``).

The protocol is on stdin and on a private copy of stdout; the plugin's own ``print`` goes to
stderr (the service's log), so it cannot garble an answer by accident.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import importlib
import importlib.util
import json
import os
import sys
from collections.abc import Awaitable, Callable
from typing import Any, BinaryIO, TypeVar

import httpx
from opentelemetry import context as otel_context
from opentelemetry import propagate

from hub_connector_sdk import (
    ActionResult,
    BaseConnector,
    ConnectionContext,
    ConnectorError,
    ConnectorHealth,
    ExportPage,
    InvalidParameters,
    ProviderClient,
    ProviderError,
    TriggerEvent,
    UnknownAction,
    WebhookRegistration,
)
from hub_connectors.plugin_host import protocol, sandbox
from hub_connectors.plugin_host.transport import GatewayOnlyTransport

T = TypeVar("T")


class _Crashed(Exception):
    """Anything the connector raised that is not one of the SDK's client errors."""


def describe(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text[:300]}" if text else type(exc).__name__


async def _guarded(work: Callable[[], Awaitable[T]]) -> T:
    # SystemExit and friends are caught inside the coroutine, before asyncio's task machinery
    # sees them (it would stop the loop and log "never retrieved").
    try:
        return await work()
    except (asyncio.CancelledError, InvalidParameters, UnknownAction, NotImplementedError, ConnectorError):
        raise
    except BaseException as exc:
        raise _Crashed(describe(exc)) from None


def _load_class(spec: protocol.WorkerSpec) -> type[BaseConnector]:
    obj: Any
    try:
        obj = importlib.import_module(spec["module"])
        for part in spec["qualname"].split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError):
        if not spec["file"]:
            raise
        # A class in a module that is not importable by name (a test suite's conftest).
        loader_spec = importlib.util.spec_from_file_location(f"_hub_plugin_{os.getpid()}", spec["file"])
        if loader_spec is None or loader_spec.loader is None:
            raise
        module = importlib.util.module_from_spec(loader_spec)
        sys.modules[loader_spec.name] = module
        loader_spec.loader.exec_module(module)
        obj = module
        for part in spec["qualname"].split("."):
            obj = getattr(obj, part)
    if not (isinstance(obj, type) and issubclass(obj, BaseConnector)):
        raise TypeError(f"{spec['module']}.{spec['qualname']} is not a connector class")
    return obj


class _KeptTransport(httpx.AsyncBaseTransport):
    """One connection pool (and TLS context) to the gateway for the worker's life: building one
    per call cost more than the whole process hop (bench/plugin_worker_bench.py)."""

    def __init__(self) -> None:
        self._inner = httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        pass  # a call's client closes; the pool stays


_TRANSPORT: _KeptTransport | None = None


def _client(request: protocol.Request, context: ConnectionContext) -> ProviderClient:
    global _TRANSPORT
    if _TRANSPORT is None:
        _TRANSPORT = _KeptTransport()
    gateway_url = request["gateway_url"].rstrip("/")
    prefix = f"{gateway_url}/v1/proxy/{context.connection_id}/"
    auth = {"Authorization": f"Bearer {request['token']}"}
    if request["op"] == "health":
        auth["X-Hub-Purpose"] = "health-check"  # honoured only with a health-check token
    return ProviderClient(
        gateway_url=gateway_url,
        connection_id=context.connection_id,
        headers=lambda: auth,
        transport=GatewayOnlyTransport(_TRANSPORT, prefix),
        timeout_s=request["http_timeout_s"],
    )


async def handle(cls: type[BaseConnector], request: protocol.Request) -> dict[str, Any]:
    # The service's span for this call: the SDK client sends it on as the gateway call's parent.
    trace_token = otel_context.attach(propagate.extract(request.get("trace") or {}))
    try:
        return await _handle(cls, request)
    finally:
        otel_context.detach(trace_token)


async def _handle(cls: type[BaseConnector], request: protocol.Request) -> dict[str, Any]:
    context = ConnectionContext.model_validate(request["context"])
    client = _client(request, context)
    expected: type[ActionResult] | type[ConnectorHealth] | type[ExportPage] | type[WebhookRegistration]
    try:
        connector = cls(context, client)
        op = request["op"]
        work: Callable[[], Awaitable[Any]]
        if op == "action":
            expected = ActionResult
            action_id, parameters = str(request["action_id"]), dict(request["parameters"] or {})
            work = lambda: connector.execute(action_id, parameters)  # noqa: E731
        elif op == "export":
            expected = ExportPage
            cursor = request.get("cursor")
            work = lambda: connector.export_content(cursor)  # noqa: E731
        elif op == "parse_webhook":
            delivery = request.get("delivery") or {"headers": {}, "body_b64": ""}
            headers, body = dict(delivery["headers"]), base64.b64decode(delivery["body_b64"])

            async def parse() -> Any:
                events = connector.parse_webhook(headers, body)
                if events and cls.refetches_trigger_events():  # thin events: re-fetch here
                    return await connector.refetch_trigger_events(events)
                return events

            value = await asyncio.wait_for(_guarded(parse), request["timeout_s"])
            if not isinstance(value, list) or not all(isinstance(e, TriggerEvent) for e in value):
                return {"kind": protocol.WRONG_TYPE, "type": type(value).__name__}
            return {"kind": protocol.RESULT, "value": [e.model_dump(mode="json") for e in value]}
        elif op == "unregister_webhook":
            registration = WebhookRegistration.model_validate(request.get("registration") or {})

            async def unregister() -> Any:
                return await connector.unregister_webhook(registration)

            await asyncio.wait_for(_guarded(unregister), request["timeout_s"])
            return {"kind": protocol.RESULT, "value": None}
        elif op == "register_webhook":
            expected = WebhookRegistration
            args = request.get("webhook") or {"trigger_ids": [], "target_url": "", "secret": ""}
            work = lambda: connector.register_webhook(  # noqa: E731
                list(args["trigger_ids"]), str(args["target_url"]), str(args["secret"])
            )
        else:
            expected = ConnectorHealth
            work = connector.health_check
        value = await asyncio.wait_for(_guarded(work), request["timeout_s"])
    except InvalidParameters as exc:
        return {
            "kind": protocol.ERROR,
            "error": "invalid_parameters",
            "message": exc.message,
            "details": exc.details,
        }
    except UnknownAction as exc:
        return {"kind": protocol.ERROR, "error": "unknown_action", "message": exc.message, "details": {}}
    except NotImplementedError as exc:
        return {"kind": protocol.ERROR, "error": "not_implemented", "message": str(exc), "details": {}}
    except ConnectorError as exc:  # the SDK's own errors cross as data (ProviderError keeps its wait)
        return {
            "kind": protocol.ERROR,
            "error": "connector_error",
            "code": exc.code,
            "message": exc.message,
            "details": exc.details if isinstance(exc.details, dict) else {},
            "status_code": exc.status_code,
            "retry_after_s": getattr(exc, "retry_after_s", None),
            "provider": isinstance(exc, ProviderError),
        }
    except TimeoutError:
        return {"kind": protocol.TIMEOUT}
    except _Crashed as exc:
        return {"kind": protocol.CRASH, "description": str(exc)}
    except Exception as exc:  # the connector's constructor, say
        return {"kind": protocol.CRASH, "description": describe(exc)}
    finally:
        with contextlib.suppress(Exception):  # a plugin may have broken its own client
            await client.aclose()
    if not isinstance(value, expected):
        return {"kind": protocol.WRONG_TYPE, "type": type(value).__name__}
    if isinstance(value, ActionResult):
        try:
            json.dumps(value.data)
        except (TypeError, ValueError):
            return {"kind": protocol.NOT_JSON}
    dumped = value.model_dump(mode="json")
    if isinstance(value, WebhookRegistration) and value.secret is not None:
        # Left out of every serialisation on purpose; the service moves it into the vault.
        dumped["secret"] = value.secret.get_secret_value()
    return {"kind": protocol.RESULT, "value": dumped}


def _send(out: BinaryIO, message: dict[str, Any]) -> None:
    out.write(protocol.encode(message))
    out.flush()


def _lock_down(spec: protocol.WorkerSpec) -> str:
    if spec["sandbox"] == "off":
        return "none"
    try:
        abi = sandbox.apply(
            sandbox.Policy(read_paths=tuple(spec["read_paths"]), connect_ports=(spec["gateway_port"],))
        )
    except sandbox.SandboxError:
        if spec["sandbox"] == "required":
            raise
        return "none"
    return f"landlock-v{abi}"


def main() -> None:
    spec: protocol.WorkerSpec = json.loads(sys.argv[1])
    sys.path[:] = spec["sys_path"]
    requests = sys.stdin.buffer
    answers = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # the plugin's prints go to stderr, never into the protocol
    sys.stdout = sys.stderr
    os.chdir("/")
    try:
        mode = _lock_down(spec)
        cls = _load_class(spec)
    except BaseException as exc:
        _send(answers, {"kind": protocol.FATAL, "message": describe(exc)})
        raise SystemExit(2) from None
    _send(answers, {"kind": protocol.READY, "sandbox": mode, "pid": os.getpid()})
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    while line := requests.readline():
        request: protocol.Request = json.loads(line)
        _send(answers, loop.run_until_complete(handle(cls, request)))


if __name__ == "__main__":
    main()
