"""Webhook intake benchmark: the real ``hub-webhooks serve`` process, against the local stack.

Every request is a GitHub ``issues`` delivery (~4 KB) with its own ``X-GitHub-Delivery``, signed
``X-Hub-Signature-256`` with the registration's secret (held by a real ``hub-vault``): the
intake verifies it and answers only after the dedupe row and the ``webhook.received`` outbox row
committed. Measured, and written to bench/results/webhooks.json:

* verified, durably acknowledged webhooks/s of one process, closed loop (``--concurrency``);
* acknowledgement latency P50/P99 at a fixed rate (``--rate``), open loop;
* beside them, in the same run, the floor: the smallest ASGI app awaiting one acks=all produce
  per request (bench/webhooks_floor.py), driven by the same client the same way; and, for the
  tail, HTTP plus one Postgres commit of the same body (bench/asgi_floor.py);
* afterwards: every 200 has its dedupe row (durability check), nothing refused.

Targets (docs/architecture.md §8): >= 2,000 webhooks/s per process, P99 ack <= 20 ms. It uses its own
database (created, migrated, dropped) and keyring, so it neither needs nor disturbs a running hub.
The outbound half (fan-out, dispatcher) is switched off: this measures the intake.

    uv run python bench/webhooks_bench.py [--rate 1000] [--seconds 10] [--concurrency 32]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import sys
import tempfile
import time
import uuid
from pathlib import Path

import asyncpg

from hub_common.clients.vault import VaultClient
from hub_common.settings import DEFAULT_KAFKA_BOOTSTRAP, DEFAULT_POSTGRES_DSN
from hub_common.testing.service_keys import service_env, service_minter
from hub_connector_sdk import sign_webhook
from hub_connector_sdk.webhook_signatures import webhook_signature
from hub_vault.adapters.keyring_source import write_keyring_file
from hub_vault.domain.keyring import new_keyring

sys.path.insert(0, str(Path(__file__).parent))
from vault_bench import Pool, bench_database, closed_loop, free_port, open_loop, wait_ready

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "webhooks.json"
TARGET_PER_S = 2000
TARGET_P99_MS = 20.0
TENANT = "bench-webhooks"
SECRET = "bench-webhook-secret-" + "s" * 24


def _payload(i: int) -> bytes:
    issue = {"number": i, "title": f"Bench issue {i}", "body": "x" * 3000, "state": "open"}
    return json.dumps(
        {"action": "opened", "issue": issue, "repository": {"full_name": "bench/repo"}}
    ).encode()


def delivery_request(path: str, i: int, run: str) -> bytes:
    body = _payload(i)
    headers = {
        **sign_webhook("github-sha256", SECRET, body),
        "X-GitHub-Delivery": f"{run}-{i}",
        "X-GitHub-Event": "issues",
        "Content-Type": "application/json",
    }
    head = f"POST {path} HTTP/1.1\r\nhost: webhooks\r\ncontent-length: {len(body)}\r\n"
    head += "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    return (head + "\r\n").encode() + body


def hub(service: str, *args: str) -> list[str]:
    return ["uv", "run", "--no-sync", f"hub-{service}", *args]


async def _spawn(service: str, port: int, env: dict[str, str], log: Path) -> asyncio.subprocess.Process:
    out = await asyncio.to_thread(log.open, "wb")
    return await asyncio.create_subprocess_exec(
        *hub(service, "serve", "--port", str(port)),
        env={**env, **service_env(service)},  # each service its own identity (docs/adr/0010)
        cwd=ROOT,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=out,
    )


async def _stop(proc: asyncio.subprocess.Process) -> None:
    if proc.returncode is None:
        proc.terminate()
        try:
            await asyncio.wait_for(proc.wait(), 15)
        except TimeoutError:
            proc.kill()


async def _register(dsn: str, vault_url: str) -> tuple[uuid.UUID, uuid.UUID]:
    """A registration written straight into the bench database, its secret in the real vault."""
    registration, connection = uuid.uuid4(), uuid.uuid4()
    key = f"webhook_secret.reg-{registration.hex}"
    minter = service_minter("webhooks")
    vault = VaultClient(vault_url, minter)
    try:
        await vault.store(TENANT, connection, key, SECRET)
    finally:
        await vault.aclose()
    conn = await asyncpg.connect(dsn, server_settings={"search_path": "webhooks"})
    try:
        await conn.execute("INSERT INTO tenants (tenant_id, tier) VALUES ($1, 'teams')", TENANT)
        await conn.execute(
            "INSERT INTO webhook_registrations (id, tenant_id, user_id, connection_id, connector_id, mode, "
            "status, trigger_ids, signature_spec, secret_key) "
            "VALUES ($1, $2, 'bench', $3, 'github', 'manual', 'active', '{issue_opened}', $4::jsonb, $5)",
            registration,
            TENANT,
            connection,
            json.dumps(webhook_signature("github-sha256").model_dump(mode="json")),
            key,
        )
    finally:
        await conn.close()
    return registration, connection


async def _measure(port: int, path: str, args: argparse.Namespace, ok: tuple[int, ...]) -> dict[str, object]:
    run = uuid.uuid4().hex[:8]
    pool = Pool(port)
    # Warm-up: connections, prepared statements, the secret cache.
    await open_loop(pool, lambda i: delivery_request(path, i, f"w{run}"), min(args.rate, 500), 2, ok)
    results: dict[str, object] = {
        "open_loop": await open_loop(
            pool, lambda i: delivery_request(path, i, f"o{run}"), args.rate, args.seconds, ok
        ),
    }
    pool.close()
    results["closed_loop"] = await closed_loop(
        port, lambda i: delivery_request(path, i, f"c{run}"), args.concurrency, args.max_seconds, ok
    )
    return results


async def floor(args: argparse.Namespace, kafka: str) -> dict[str, object]:
    port = free_port()
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "uvicorn", "--app-dir", str(ROOT / "bench"), "webhooks_floor:app",
        "--port", str(port), "--log-level", "warning", "--no-access-log",
        "--loop", "uvloop", "--http", "httptools",
        env={**os.environ, "FLOOR_KAFKA_BOOTSTRAP": kafka},
        cwd=ROOT, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    try:
        await wait_ready(port, proc, name="webhooks_floor")
        return await _measure(port, "/floor", args, (200,))
    finally:
        await _stop(proc)


async def floor_db(args: argparse.Namespace, dsn: str) -> dict[str, object]:
    """HTTP plus one durable Postgres write of the same body (bench/asgi_floor.py's PUT): the
    tail the database's commits alone put on an acknowledgement on this machine, now."""
    port = free_port()
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "uvicorn", "--app-dir", str(ROOT / "bench"), "asgi_floor:app",
        "--port", str(port), "--log-level", "warning", "--no-access-log",
        "--loop", "uvloop", "--http", "httptools",
        env={**os.environ, "FLOOR_POSTGRES_DSN": dsn},
        cwd=ROOT, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    try:
        await wait_ready(port, proc, name="asgi_floor")

        def put(i: int) -> bytes:
            return delivery_request("/floor", i, "db").replace(b"POST ", b"PUT ", 1)

        pool = Pool(port)
        await open_loop(pool, put, min(args.rate, 500), 2, (200,))
        result = await open_loop(pool, put, args.rate, args.seconds, (200,))
        pool.close()
        return {"open_loop": result}
    finally:
        await _stop(proc)


async def run(args: argparse.Namespace) -> dict[str, object]:
    base_dsn = os.environ.get("HUB_POSTGRES_DSN", DEFAULT_POSTGRES_DSN)
    kafka = os.environ.get("HUB_KAFKA_BOOTSTRAP", DEFAULT_KAFKA_BOOTSTRAP)
    async with bench_database(base_dsn) as dsn:
        tmp = Path(tempfile.mkdtemp(prefix="webhooks-bench-"))
        keyring = tmp / "keyring.json"
        await asyncio.to_thread(write_keyring_file, keyring, new_keyring())
        vault_port, webhooks_port = free_port(), free_port()
        env = {
            **os.environ,
            "HUB_POSTGRES_DSN": dsn,
            "HUB_KAFKA_BOOTSTRAP": kafka,
            "HUB_VAULT_KEYRING_FILE": str(keyring),
            "HUB_VAULT_URL": f"http://127.0.0.1:{vault_port}",
            "HUB_LOG_LEVEL": "WARNING",
            "HUB_ENVIRONMENT": "dev",
            "HUB_WEBHOOKS_BACKGROUND": "false",
            "HUB_WEBHOOKS_DELIVERY": "false",
        }
        for service in ("vault", "webhooks"):
            migrate = await asyncio.create_subprocess_exec(
                *hub(service, "migrate"), env=env, cwd=ROOT, stdout=asyncio.subprocess.DEVNULL
            )
            if await migrate.wait() != 0:
                raise RuntimeError(f"hub-{service} migrate failed")
        vault = await _spawn("vault", vault_port, env, tmp / "vault.log")
        webhooks = await _spawn("webhooks", webhooks_port, env, tmp / "webhooks.log")
        try:
            await wait_ready(vault_port, vault, name="hub-vault")
            await wait_ready(webhooks_port, webhooks, name="hub-webhooks")
            registration, _ = await _register(dsn, env["HUB_VAULT_URL"])
            results: dict[str, object] = {
                "intake": await _measure(webhooks_port, f"/webhooks/github/{registration}", args, (200,))
            }
            conn = await asyncpg.connect(dsn, server_settings={"search_path": "webhooks"})
            try:
                rows = await conn.fetchval(
                    "SELECT count(*) FROM webhook_inbound WHERE registration_id = $1", registration
                )
            finally:
                await conn.close()
            results["durable_rows"] = int(rows)
        finally:
            await _stop(webhooks)
            await _stop(vault)
        results["floor"] = await floor(args, kafka)
        results["floor_db"] = await floor_db(args, dsn)
        return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rate", type=float, default=1000, help="open-loop rate for the latency run")
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--max-seconds", type=float, default=8, help="closed-loop (throughput) run length")
    args = parser.parse_args()
    with contextlib.suppress(ImportError):
        import uvloop

        uvloop.install()
    results = asyncio.run(run(args))
    intake, base = results["intake"], results["floor"]
    assert isinstance(intake, dict) and isinstance(base, dict)
    accepted = sum(int(intake[k]["requests"]) for k in ("open_loop", "closed_loop"))
    per_s = intake["closed_loop"]["ops_per_s"]
    p99 = intake["open_loop"]["p99_ms"]
    report = {
        "benchmark": "webhooks",
        "timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "rate": args.rate,
        "seconds": args.seconds,
        "concurrency": args.concurrency,
        **results,
        "target": {
            "webhooks_per_s": per_s,
            "floor_per_s": base["closed_loop"]["ops_per_s"],
            "p99_ack_ms": p99,
            "floor_p99_ms": base["open_loop"]["p99_ms"],
            "floor_db_p99_ms": results["floor_db"]["open_loop"]["p99_ms"],  # type: ignore[index]
            "durable": results["durable_rows"] >= accepted,
            "met": per_s >= TARGET_PER_S and p99 <= TARGET_P99_MS,
        },
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    print(
        f"\nwebhook intake (open loop {args.rate}/s for {args.seconds} s; closed loop c={args.concurrency})"
    )
    print(f"{'run':<22}{'ops/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'max ms':>10}{'errors':>8}")
    for name, block in (("hub-webhooks", intake), ("floor (acks=all)", base)):
        for kind in ("open_loop", "closed_loop"):
            row = block[kind]
            label = f"{name} {kind[:6]}"
            print(
                f"{label:<22}{row['ops_per_s']:>10}{row['p50_ms']:>10}{row['p99_ms']:>10}"
                f"{row['max_ms']:>10}{row['errors']:>8}"
            )
    target = report["target"]
    print(
        f"\n{per_s}/s per process (floor {target['floor_per_s']}/s), P99 ack {p99} ms "
        f"(floor {target['floor_p99_ms']} ms); {results['durable_rows']} dedupe rows for {accepted} 2xx"
    )
    db = results["floor_db"]["open_loop"]  # type: ignore[index]
    print(f"HTTP + one Postgres commit (asgi_floor PUT): p50 {db['p50_ms']} ms, p99 {db['p99_ms']} ms")
    print(f"target >= {TARGET_PER_S}/s and P99 <= {TARGET_P99_MS} ms: {'met' if target['met'] else 'MISSED'}")


if __name__ == "__main__":
    main()
