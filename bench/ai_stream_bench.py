"""Streamed relay benchmark: what the gateway adds to a server-sent-event stream (docs/adr/0021).

Real processes on the local stack, in a database of their own (created and dropped here): the
vault, the connectors service, the gateway and ``hub-sim openai``, which streams chat completion
chunks at a fixed pace. The same stream is fetched directly from the simulator and through the
gateway (``/v1/proxy/{id}/chat/completions`` with ``stream: true``), alternately, in one run.

* first byte: time from sending the request to the first ``data:`` event; added = through the
  gateway minus direct (P50 and P99 of each, compared);
* per chunk: each chunk's delay from the simulator writing it (its emission time, which the
  simulator puts in the chunk's ``obfuscation`` padding) to this client reading it, direct and
  through the gateway; added = the gateway's P50/P99 minus the direct P50/P99.

Target (issue #28): added P99 <= 5 ms per chunk.

    uv run python bench/ai_stream_bench.py [--streams 40] [--chunks 100] [--interval-ms 2]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from pathlib import Path
from typing import Any

import aiohttp

from hub_common.settings import DEFAULT_KAFKA_BOOTSTRAP, DEFAULT_POSTGRES_DSN, DEFAULT_REDIS_URL, HubSettings
from hub_common.testing.databases import create_database, drop_database
from hub_common.web.auth import mint_user_token
from hub_e2e.processes import ServiceProcess
from hub_e2e.simulators.runner import ProviderSim

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "ai_stream.json"
TARGET_P99_MS = 5.0
KEY = "sk-proj-benchStreamRelayKey00000000001"


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def summary(values: list[float]) -> dict[str, float]:
    return {"p50": round(pct(values, 50), 3), "p99": round(pct(values, 99), 3), "samples": len(values)}


async def one_stream(
    session: aiohttp.ClientSession, url: str, headers: dict[str, str], chunks: int
) -> tuple[float, list[float]]:
    """(ms from sending to the first event, ms from emission to arrival of every chunk)."""
    body = {
        "model": "gpt-4o-mini",
        "messages": [{"role": "user", "content": "stream me some words please"}],
        "max_completion_tokens": chunks,
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    delays: list[float] = []
    first: float | None = None
    started = time.perf_counter()
    async with session.post(url, json=body, headers=headers) as resp:
        assert resp.status == 200, await resp.text()
        async for line in resp.content:
            if not line.startswith(b"data:"):
                continue
            arrived = time.time()
            if first is None:
                first = (time.perf_counter() - started) * 1000
            if b'"obfuscation"' in line:
                delays.append((arrived - float(json.loads(line[5:])["obfuscation"])) * 1000)
    assert first is not None
    return first, delays


async def wait_active(
    session: aiohttp.ClientSession, connectors: str, cid: str, headers: dict[str, str]
) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        async with session.get(f"{connectors}/v1/connections/{cid}", headers=headers) as resp:
            if (await resp.json())["status"] == "active":
                return
        async with session.post(f"{connectors}/v1/connections/{cid}/health", headers=headers) as resp:
            await resp.read()
        await asyncio.sleep(0.2)
    raise RuntimeError("the bench connection never became active")


async def run(streams: int, chunks: int, interval_ms: float) -> dict[str, Any]:
    dsn = await create_database(DEFAULT_POSTGRES_DSN, "hub_bench_ai_stream")
    procs: list[ServiceProcess] = []
    try:
        with ProviderSim(provider="openai", pats={KEY: "bench"}) as sim:
            vault, connectors = ServiceProcess("vault", {}), ServiceProcess("connectors", {})
            gateway = ServiceProcess("gateway", {})
            env = {
                "HUB_POSTGRES_DSN": dsn,
                "HUB_KAFKA_BOOTSTRAP": DEFAULT_KAFKA_BOOTSTRAP,
                "HUB_REDIS_URL": DEFAULT_REDIS_URL,
                "HUB_OUTBOUND_ALLOWLIST": "127.0.0.1",
                "HUB_OPENAI_COMPATIBLE_HOSTS": "127.0.0.1",
                "HUB_VAULT_URL": vault.url,
                "HUB_CONNECTORS_URL": connectors.url,
                "HUB_GATEWAY_URL": gateway.url,
                "HUB_LOG_LEVEL": "WARNING",
                "HUB_CONNECTORS_CONSUMER_OFFSET_RESET": "latest",
            }
            for proc in (vault, connectors, gateway):
                proc.env = env
                proc.migrate()
                proc.start()
                procs.append(proc)
            user = {
                "Authorization": "Bearer "
                + mint_user_token(HubSettings(), tenant="bench", user="u", tier="enterprise")
            }
            async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=120)) as session:
                async with session.post(
                    f"{sim.url}/_sim/openai/settings",
                    json={"stream_interval_ms": interval_ms, "requests": 10**9},
                ) as resp:
                    assert resp.status == 200, await resp.text()
                config = {"base_url": f"{sim.url}/v1"}
                async with session.post(
                    f"{connectors.url}/v1/connections",
                    headers=user,
                    json={
                        "connector_id": "openai",
                        "name": "bench",
                        "config": config,
                        "credentials": {"api_key": KEY},
                    },
                ) as resp:
                    assert resp.status == 201, await resp.text()
                    cid = (await resp.json())["id"]
                await wait_active(session, connectors.url, cid, user)
                direct_url = f"{sim.url}/v1/chat/completions"
                via_url = f"{gateway.url}/v1/proxy/{cid}/chat/completions"
                direct_auth = {"Authorization": f"Bearer {KEY}"}
                for _ in range(5):  # warm-up: connections, caches
                    await one_stream(session, direct_url, direct_auth, chunks)
                    await one_stream(session, via_url, user, chunks)
                direct: list[tuple[float, list[float]]] = []
                via: list[tuple[float, list[float]]] = []
                for _ in range(streams):  # alternated, so both see the same machine
                    direct.append(await one_stream(session, direct_url, direct_auth, chunks))
                    via.append(await one_stream(session, via_url, user, chunks))
    finally:
        for proc in reversed(procs):
            proc.stop()
        await drop_database(DEFAULT_POSTGRES_DSN, dsn)
    first_direct = [f for f, _ in direct]
    first_via = [f for f, _ in via]
    chunk_direct = [d for _, ds in direct for d in ds]
    chunk_via = [d for _, ds in via for d in ds]
    added_p99 = pct(chunk_via, 99) - pct(chunk_direct, 99)
    return {
        "streams_each_way": streams,
        "chunks_per_stream": chunks,
        "simulator_interval_ms": interval_ms,
        "first_byte_ms": {
            "direct": summary(first_direct),
            "gateway": summary(first_via),
            "added_p50": round(pct(first_via, 50) - pct(first_direct, 50), 3),
            "added_p99": round(pct(first_via, 99) - pct(first_direct, 99), 3),
        },
        "chunk_delay_ms": {
            "direct": summary(chunk_direct),
            "gateway": summary(chunk_via),
            "added_p50": round(pct(chunk_via, 50) - pct(chunk_direct, 50), 3),
            "added_p99": round(added_p99, 3),
        },
        "target_added_p99_ms": TARGET_P99_MS,
        "meets_target": added_p99 <= TARGET_P99_MS,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--streams", type=int, default=40)
    parser.add_argument("--chunks", type=int, default=100)
    parser.add_argument("--interval-ms", type=float, default=2.0)
    args = parser.parse_args()
    result = asyncio.run(run(args.streams, args.chunks, args.interval_ms))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    f, c = result["first_byte_ms"], result["chunk_delay_ms"]
    print("Streamed relay (hub-sim openai, direct vs through the gateway, same run)")
    for name, row in (("first byte", f), ("per chunk ", c)):
        print(
            f"  {name}   direct P50 {row['direct']['p50']:.2f} / P99 {row['direct']['p99']:.2f} ms   "
            f"gateway P50 {row['gateway']['p50']:.2f} / P99 {row['gateway']['p99']:.2f} ms   "
            f"added P50 {row['added_p50']:+.2f} / P99 {row['added_p99']:+.2f} ms"
        )
    verdict = "met" if result["meets_target"] else "NOT met"
    print(f"  target: added P99 per chunk <= {TARGET_P99_MS} ms: {verdict}")


if __name__ == "__main__":
    main()
