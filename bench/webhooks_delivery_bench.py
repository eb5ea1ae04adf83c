"""Inbound → subscriber latency of the webhook system, with real processes (docs/adr/0020).

A signed GitHub ``issues`` webhook goes to ``hub-webhooks`` (intake: verify, dedupe, outbox) →
``webhook.received`` → the ``hub-connectors`` faust agent (parse, filter, dedupe, outbox) →
``integration.trigger-fired`` → the webhooks fan-out consumer → the dispatcher → a signed
Standard Webhooks push to a subscriber in this process. Measured: from the moment the webhook is
sent to the moment the push arrives, open loop at ``--rate`` per second for ``--seconds``, over
``--connections`` GitHub connections (the GitHub simulator stands in for GitHub; the vault and
gateway are real). Target (docs/architecture.md §8): P99 <= 250 ms. Written to
bench/results/webhooks_delivery.json. It uses its own database and consumer groups.

    HUB_SPECS_DIR=... uv run python bench/webhooks_delivery_bench.py [--rate 100] [--seconds 20]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import platform
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from hub_common.settings import DEFAULT_KAFKA_BOOTSTRAP, DEFAULT_POSTGRES_DSN, DEFAULT_REDIS_URL, HubSettings
from hub_common.web.auth import mint_user_token
from hub_e2e.processes import ServiceProcess, free_port
from hub_e2e.receiver import WebhookReceiver
from hub_e2e.simulators.runner import ProviderSim

sys.path.insert(0, str(Path(__file__).parent))
from vault_bench import bench_database, percentile

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "webhooks_delivery.json"
TARGET_P99_MS = 250.0
TENANT = "bench-webhooks-delivery"
PAT = "ghp_benchWebhooksDeliveryToken00001"


def _headers() -> dict[str, str]:
    return {
        "Authorization": f"Bearer {mint_user_token(HubSettings(), tenant=TENANT, user='bench', tier='teams')}"
    }


async def _connect(api: httpx.AsyncClient, connectors: str, sim: str) -> str:
    created = await api.post(
        f"{connectors}/v1/connections",
        json={
            "connector_id": "github_pat",
            "name": f"bench {uuid.uuid4().hex[:8]}",
            "config": {"base_url": f"{sim}/api/v3", "webhook_repository": "pat-owner/sandbox"},
            "credentials": {"token": PAT},
        },
    )
    created.raise_for_status()
    cid: str = created.json()["id"]
    for _ in range(150):
        if (await api.get(f"{connectors}/v1/connections/{cid}")).json()["status"] == "active":
            return cid
        await api.post(f"{connectors}/v1/connections/{cid}/health")
        await asyncio.sleep(0.2)
    raise RuntimeError("the connection did not become active")


async def _stages(dsn: str, deliveries: list[str]) -> dict[str, list[float]]:
    """Where the time goes: the server-side timestamps of each hop (P50, P99 of each gap)."""
    conn = await asyncpg.connect(dsn)
    try:
        inbound = dict(
            await conn.fetch(
                "SELECT delivery_id, received_at FROM webhooks.webhook_inbound"
                " WHERE delivery_id = ANY($1::text[])",
                deliveries,
            )
        )
        fired = dict(
            await conn.fetch(
                "SELECT event_id, fired_at FROM connectors.trigger_firings WHERE event_id = ANY($1::text[])",
                deliveries,
            )
        )
        queued = {
            r["event_id"]: (r["created_at"], r["pushed_at"])
            for r in await conn.fetch(
                "SELECT d.payload->>'event_id' AS event_id, d.created_at, (SELECT min(a.started_at)"
                " FROM webhooks.integrations_webhook_delivery_attempts a"
                " WHERE a.delivery_id = d.id) AS pushed_at"
                " FROM webhooks.integrations_webhook_deliveries d"
            )
        }
    finally:
        await conn.close()

    def gap(pairs: list[tuple[Any, Any]]) -> list[float]:
        ms = [(b - a).total_seconds() * 1000 for a, b in pairs if a and b]
        return [round(percentile(ms, 0.5), 1), round(percentile(ms, 0.99), 1)] if ms else []

    ids = [d for d in deliveries if d in inbound and d in fired and d in queued]
    return {
        "intake_to_trigger": gap([(inbound[d], fired[d]) for d in ids]),
        "trigger_to_queued": gap([(fired[d], queued[d][0]) for d in ids]),
        "queued_to_push": gap([(queued[d][0], queued[d][1]) for d in ids]),
    }


async def measure(args: argparse.Namespace, dsn: str, sim: ProviderSim) -> dict[str, Any]:
    with WebhookReceiver() as capture:
        sim.send_webhook("issues", capture.url, action="opened", secret="x", title="template")
        (got,) = capture.wait_for(1)
    template = json.loads(got.body)
    base_headers = {k: v for k, v in got.headers.items() if k.startswith("x-github-") or k == "content-type"}

    arrived: dict[str, float] = {}

    async def hook(request: Request) -> Response:
        body = await request.body()
        arrived.setdefault(json.loads(body)["data"]["event_id"], time.perf_counter())
        return Response(status_code=204)

    sub_port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            Starlette(routes=[Route("/hook", hook, methods=["POST"])]), port=sub_port, log_config=None
        )
    )
    server_task = asyncio.create_task(server.serve())
    vault, connectors = ServiceProcess("vault", {}), ServiceProcess("connectors", {})
    gateway, webhooks = ServiceProcess("gateway", {}), ServiceProcess("webhooks", {})
    env = {
        "HUB_POSTGRES_DSN": dsn,
        "HUB_KAFKA_BOOTSTRAP": args.kafka,
        "HUB_REDIS_URL": args.redis,
        "HUB_OUTBOUND_ALLOWLIST": "127.0.0.1",
        "HUB_GITHUB_ENTERPRISE_HOSTS": "127.0.0.1",
        "HUB_VAULT_URL": vault.url,
        "HUB_CONNECTORS_URL": connectors.url,
        "HUB_GATEWAY_URL": gateway.url,
        "HUB_WEBHOOKS_URL": webhooks.url,
        "HUB_OAUTH_URL": "http://127.0.0.1:9",
        "HUB_CONNECTORS_CONSUMER_OFFSET_RESET": "latest",
        "HUB_WEBHOOKS_DELIVERY_OFFSET_RESET": "latest",
        "HUB_LOG_LEVEL": "WARNING",
    }
    procs = [vault, connectors, gateway, webhooks]
    try:
        for proc in procs:
            proc.env = env
            proc.migrate()
        for proc in procs:
            proc.start(timeout_s=60)
        async with httpx.AsyncClient(headers=_headers(), timeout=60) as api:
            cids = [await _connect(api, connectors.url, sim.url) for _ in range(args.connections)]
            regs = []
            for cid in cids:
                reg = await api.post(
                    f"{webhooks.url}/v1/webhooks/registrations",
                    json={"connection_id": cid, "trigger_ids": ["issue_opened"], "mode": "manual"},
                )
                reg.raise_for_status()
                regs.append(reg.json())
            sub = await api.post(
                f"{webhooks.url}/v1/webhooks/subscriptions",
                json={"url": f"http://127.0.0.1:{sub_port}/hook", "max_concurrency": 16},
            )
            sub.raise_for_status()
        await asyncio.sleep(5)  # consumer groups settle (faust and the fan-out join their groups)

        sent: dict[str, float] = {}
        errors = 0

        async def one(client: httpx.AsyncClient, n: int, warmup: bool) -> None:
            nonlocal errors
            reg = regs[n % len(regs)]
            payload = json.loads(json.dumps(template))
            payload["issue"].update({"number": n + 1, "id": 20_000_000 + n, "title": f"bench {n}"})
            body = json.dumps(payload).encode()
            delivery = str(uuid.uuid4())
            sig = "sha256=" + hmac.new(reg["secret"].encode(), body, hashlib.sha256).hexdigest()
            headers = {**base_headers, "x-github-delivery": delivery, "x-hub-signature-256": sig}
            t0 = time.perf_counter()
            resp = await client.post(reg["url"], content=body, headers=headers)
            if resp.status_code != 200:
                errors += 1
            elif not warmup:
                sent[delivery] = t0

        async def run_at(rate: float, seconds: float, warmup: bool, offset: int) -> None:
            async with httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=64)) as client:
                tasks = []
                start = time.perf_counter()
                total = int(rate * seconds)
                for i in range(total):
                    delay = start + i / rate - time.perf_counter()
                    if delay > 0:
                        await asyncio.sleep(delay)
                    tasks.append(asyncio.create_task(one(client, offset + i, warmup)))
                await asyncio.gather(*tasks)

        await run_at(args.rate, 3, True, 0)  # warm-up: caches, connections, JIT-less but lazy imports
        await run_at(args.rate, args.seconds, False, 1_000_000)
        deadline = time.monotonic() + 120
        while not set(sent) <= set(arrived) and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.2)
        latencies = [(arrived[d] - t0) * 1000 for d, t0 in sent.items() if d in arrived]
        stages = await _stages(dsn, list(sent))
        lost = len(set(sent) - set(arrived))
        return {
            "rate_per_s": args.rate,
            "seconds": args.seconds,
            "connections": args.connections,
            "webhooks": len(sent),
            "intake_errors": errors,
            "not_arrived": lost,
            "p50_ms": round(percentile(latencies, 0.50), 1),
            "p99_ms": round(percentile(latencies, 0.99), 1),
            "max_ms": round(max(latencies), 1),
            "target_p99_ms": TARGET_P99_MS,
            "meets_target": percentile(latencies, 0.99) <= TARGET_P99_MS and lost == 0,
            "stages_p50_p99_ms": stages,
        }
    finally:
        for proc in reversed(procs):
            proc.stop()
        server.should_exit = True
        await server_task


async def run(args: argparse.Namespace) -> dict[str, Any]:
    async with bench_database(args.postgres) as dsn:
        with ProviderSim(provider="github", pats={PAT: "pat-owner"}) as sim:
            result = await measure(args, dsn, sim)
    return {"machine": {"cpus": __import__("os").cpu_count(), "python": platform.python_version()}, **result}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rate", type=float, default=100.0, help="webhooks per second (open loop)")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--connections", type=int, default=4)
    settings = HubSettings()
    parser.add_argument("--postgres", default=settings.postgres_dsn or DEFAULT_POSTGRES_DSN)
    parser.add_argument("--kafka", default=settings.kafka_bootstrap or DEFAULT_KAFKA_BOOTSTRAP)
    parser.add_argument("--redis", default=settings.redis_url or DEFAULT_REDIS_URL)
    args = parser.parse_args()
    report = asyncio.run(run(args))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))
    verdict = "meets" if report["meets_target"] else "MISSES"
    print(f"inbound → subscriber P99 {report['p99_ms']} ms ({verdict} the {TARGET_P99_MS:g} ms target)")


if __name__ == "__main__":
    main()
