"""What running custom connectors in worker processes costs (docs/adr/0011-plugin-isolation.md).

Measured with the connectors service's real runtime (``ConnectorRuntime`` + ``ProcessIsolation``,
the Landlock sandbox when the kernel has it), an action that does nothing, no network:
* spawn: a call that must start its worker (fresh interpreter, SDK imports, sandbox, plugin
  import, ready handshake) minus a warm call, over ``--spawns`` cold starts;
* per call: a warm worker's action, next to the same connector run in-process as a built-in
  (same runtime, same validation, same run), once as the service runs built-ins (a new HTTP
  transport, so a new TLS context, per call) and once with a kept transport as a worker does:
  the difference to the latter is the process hop (one JSON line each way, a token minted).

No stack needed. Writes bench/results/plugin_worker.json.

    uv run python bench/plugin_worker_bench.py [--calls 300] [--spawns 5]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import time
from pathlib import Path
from typing import Any

import httpx

from hub_common.testing.service_keys import service_minter
from hub_connector_sdk import (
    ApiSpec,
    AuthenticationMethod,
    AuthSpec,
    BaseConnector,
    ConnectionContext,
    action,
)
from hub_connector_sdk.models import ConnectorCategory
from hub_connectors.plugin_host import sandbox
from hub_connectors.registry import ConnectorRegistry
from hub_connectors.runtime import ConnectorRuntime, PluginTokens, ProcessIsolation, ProviderClientFactory

RESULTS = Path(__file__).resolve().parent / "results" / "plugin_worker.json"
GATEWAY = "http://127.0.0.1:9"  # never called: the action does no I/O


class Noop(BaseConnector):
    id = "benchnoop"
    name = "Bench no-op"
    category = ConnectorCategory.CUSTOM
    description = "Does nothing, as fast as it can."
    auth = AuthSpec(method=AuthenticationMethod.NONE)
    api = ApiSpec(base_url="https://api.bench.test")

    @action(
        params={"type": "object", "properties": {"n": {"type": "integer"}}, "additionalProperties": False}
    )
    async def noop(self, params: dict[str, Any]) -> Any:
        return {"n": params.get("n", 0)}


class NoopBuiltin(Noop):
    id = "benchnoopbuiltin"
    builtin = True


class KeptTransport(httpx.AsyncBaseTransport):
    """One pool for every call, as a worker keeps it (the service builds one per call)."""

    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        pass


def runtime(kept: KeptTransport | None = None) -> ConnectorRuntime:
    return ConnectorRuntime(
        ProviderClientFactory(GATEWAY, transport_factory=(lambda: kept) if kept else None),
        plugins=ProcessIsolation(gateway_url=GATEWAY, max_workers=2, max_per_connector=1),
        tokens=PluginTokens(service_minter("connectors")),
    )


def ms(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {
        "median_ms": round(statistics.median(ordered) * 1000, 3),
        "p99_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000, 3),
    }


async def timed_calls(rt: ConnectorRuntime, registered: Any, calls: int) -> list[float]:
    context = ConnectionContext(connection_id="00000000-0000-0000-0000-000000000001", tenant_id="bench")
    took = []
    for i in range(calls):
        started = time.perf_counter()
        result = await rt.execute(registered, context, "noop", {"n": i})
        took.append(time.perf_counter() - started)
        assert result.success, result
    return took


async def main(calls: int, spawns: int) -> dict[str, Any]:
    registry = ConnectorRegistry("0.1.0")
    plugin = registry.add_plugin(Noop, source="benchnoop")
    builtin = registry.add_builtin(NoopBuiltin)
    assert plugin is not None and builtin is not None

    cold: list[float] = []
    for _ in range(spawns):
        rt = runtime()
        cold += await timed_calls(rt, plugin, 1)
        await rt.aclose()

    rt = runtime()
    await timed_calls(rt, plugin, 20)  # warm up
    worker = await timed_calls(rt, plugin, calls)
    in_process = await timed_calls(rt, builtin, calls)
    await rt.aclose()
    kept_rt = runtime(KeptTransport())
    in_process_kept = await timed_calls(kept_rt, builtin, calls)
    await kept_rt.aclose()
    warm = statistics.median(worker)
    return {
        "load_average_1m": round(os.getloadavg()[0], 2),
        "cpus": os.cpu_count(),
        "sandbox": f"landlock-v{sandbox.abi_version()}" if sandbox.available() else "none",
        "python": platform.python_version(),
        "machine": platform.machine(),
        "calls": calls,
        "spawns": spawns,
        "spawn": {**ms([c - warm for c in cold]), "max_ms": round((max(cold) - warm) * 1000, 1)},
        "worker_call": ms(worker),
        "in_process_call": ms(in_process),
        "in_process_call_kept_transport": ms(in_process_kept),
        # The process hop alone: a warm worker vs the same in-process call with a kept pool.
        "added_per_call_median_ms": round((warm - statistics.median(in_process_kept)) * 1000, 3),
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--spawns", type=int, default=5)
    args = parser.parse_args()
    result = asyncio.run(main(args.calls, args.spawns))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
