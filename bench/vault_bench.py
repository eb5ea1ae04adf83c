"""Vault benchmark: the real ``hub-vault serve`` process over HTTP, against the local stack.

Measures, and writes to bench/results/vault.json:
* get / put latency P50/P99/P99.9 at a fixed 500 ops/s, open loop, ~10 s each (latency counted
  from the *scheduled* send time, so a stall is not hidden by coordinated omission);
* maximum ops/s over HTTP, closed loop, 32 concurrent requests;
* raw AES-256-GCM cost per operation (bench/vault_crypto.py);
* two floors: the same client at the same rate against the smallest ASGI app under the same
  uvicorn settings (bench/asgi_floor.py) — HTTP alone, and HTTP plus one upsert into the same
  database — so the vault's tail reads against the machine's own at that moment.

It uses its own database (created, migrated, dropped) and its own keyring, so it neither needs
nor disturbs a running hub. Target (docs/architecture.md §8): P99 <= 2 ms at 500 ops/s.

    uv run python bench/vault_bench.py [--rate 500] [--seconds 10] [--concurrency 32]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import random
import socket
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import orjson

from hub_common.settings import DEFAULT_KAFKA_BOOTSTRAP, DEFAULT_POSTGRES_DSN
from hub_common.testing.service_keys import service_env, service_minter
from hub_vault.adapters.keyring_source import write_keyring_file
from hub_vault.domain.keyring import new_keyring

sys.path.insert(0, str(Path(__file__).parent))
import vault_crypto
from loadgen import quiet_collector

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "vault.json"
TARGET_P99_MS = 2.0
TENANT = "bench"
KEYS = 1000


class HttpConnection:
    """A minimal keep-alive HTTP/1.1 client: the load generator must cost less than the server."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, port: int) -> HttpConnection:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return cls(reader, writer)

    async def request(self, raw: bytes) -> tuple[int, bytes]:
        self.writer.write(raw)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.lower() == b"content-length":
                length = int(value)
        body = await self.reader.readexactly(length) if length else b""
        return status, body

    def close(self) -> None:
        self.writer.close()


def build_request(method: str, path: str, token: str, body: dict[str, object] | None = None) -> bytes:
    payload = orjson.dumps(body) if body is not None else b""
    head = (
        f"{method} {path} HTTP/1.1\r\nhost: vault\r\nauthorization: Bearer {token}\r\n"
        f"content-type: application/json\r\ncontent-length: {len(payload)}\r\n\r\n"
    )
    return head.encode() + payload


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def summary(latencies_s: list[float], errors: int, seconds: float) -> dict[str, float]:
    ms = [s * 1e3 for s in latencies_s]
    return {
        "requests": len(ms),
        "errors": errors,
        "ops_per_s": round(len(ms) / seconds, 1),
        "p50_ms": round(percentile(ms, 0.50), 3),
        "p99_ms": round(percentile(ms, 0.99), 3),
        "p999_ms": round(percentile(ms, 0.999), 3),
        "max_ms": round(max(ms), 3),
        "mean_ms": round(statistics.fmean(ms), 3),
    }


class Pool:
    """Connections handed out one request at a time (open loop may need several at once)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.idle: list[HttpConnection] = []
        self.opened = 0

    async def request(self, raw: bytes) -> tuple[int, bytes]:
        reused = bool(self.idle)
        conn = self.idle.pop() if reused else await self._open()
        try:
            result = await conn.request(raw)
        except (OSError, asyncio.IncompleteReadError):
            conn.close()
            if not reused:
                raise
            # The server closed it while idle (keep-alive timeout): what every client does.
            conn = await self._open()
            result = await conn.request(raw)
        self.idle.append(conn)
        return result

    async def _open(self) -> HttpConnection:
        self.opened += 1
        return await HttpConnection.open(self.port)

    def close(self) -> None:
        for conn in self.idle:
            conn.close()


async def open_loop(
    pool: Pool, make: Callable[[int], bytes], rate: float, seconds: float, ok: tuple[int, ...]
) -> dict[str, float]:
    """Send on a fixed schedule whatever the responses do (open loop). Latency is measured from
    the actual send; the generator's own lag behind the schedule is reported beside it, so a
    stalled generator cannot hide a slow server (coordinated omission) without it showing."""
    clock = time.perf_counter
    latencies: list[float] = []
    lags: list[float] = []
    errors = 0
    tasks: set[asyncio.Task[None]] = set()

    async def one(i: int) -> None:
        nonlocal errors
        sent = clock()
        try:
            status, _ = await pool.request(make(i))
        except (OSError, asyncio.IncompleteReadError):
            status = 0
        if status in ok:
            latencies.append(clock() - sent)
        else:
            errors += 1

    start = clock() + 0.05
    total = int(rate * seconds)
    i = 0
    with quiet_collector():
        while i < total:
            now = clock()
            # Everything due by now goes out at once; then sleep until the next send is due.
            while i < total and start + i / rate <= now:
                lags.append(now - (start + i / rate))
                task = asyncio.create_task(one(i))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
                i += 1
            if i < total:
                await asyncio.sleep(max(0.0, start + i / rate - clock()))
        await asyncio.gather(*tasks)
    result = summary(latencies, errors, seconds)
    result["send_lag_p99_ms"] = round(percentile(lags, 0.99) * 1e3, 3)
    return result


async def closed_loop(
    port: int, make: Callable[[int], bytes], concurrency: int, seconds: float, ok: tuple[int, ...]
) -> dict[str, float]:
    clock = time.perf_counter
    deadline = clock() + seconds
    latencies: list[float] = []
    errors = 0
    counter = iter(range(10**9))

    async def worker() -> None:
        nonlocal errors
        conn = await HttpConnection.open(port)
        try:
            while clock() < deadline:
                started = clock()
                status, _ = await conn.request(make(next(counter)))
                if status in ok:
                    latencies.append(clock() - started)
                else:
                    errors += 1
        finally:
            conn.close()

    started = clock()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return summary(latencies, errors, clock() - started)


@contextlib.asynccontextmanager
async def bench_database(base_dsn: str) -> AsyncIterator[str]:
    name = f"hub_vault_bench_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(base_dsn)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    try:
        yield urlunsplit(urlsplit(base_dsn)._replace(path=f"/{name}"))
    finally:
        admin = await asyncpg.connect(base_dsn)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def wait_ready(
    port: int, proc: asyncio.subprocess.Process, timeout_s: float = 60, name: str = "hub-vault"
) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.returncode is not None:
            raise RuntimeError(f"{name} exited with {proc.returncode} during startup")
        with contextlib.suppress(OSError, asyncio.IncompleteReadError, ValueError):
            conn = await HttpConnection.open(port)
            status, _ = await conn.request(b"GET /readyz HTTP/1.1\r\nhost: vault\r\n\r\n")
            conn.close()
            if status == 200:
                return
        await asyncio.sleep(0.2)
    raise RuntimeError("hub-vault did not become ready")


async def floor_open_loops(
    rate: float, seconds: float, dsn: str, put: Callable[[int], bytes]
) -> dict[str, object]:
    """The same client and rate against ``bench/asgi_floor.py``: the machine's floors, now —
    HTTP alone (GET), and HTTP plus one durable write to the same database (the vault's PUTs,
    same paths and bodies)."""
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
        pool = Pool(port)
        request = b"GET /readyz HTTP/1.1\r\nhost: floor\r\n\r\n"
        await open_loop(pool, lambda _: request, rate, 2, (200,))
        results: dict[str, object] = {
            "floor_open_loop": await open_loop(pool, lambda _: request, rate, seconds, (200,))
        }
        await open_loop(pool, put, rate, 2, (200,))
        results["floor_put_db_open_loop"] = await open_loop(pool, put, rate, seconds, (200,))
        pool.close()
        return results
    finally:
        proc.terminate()
        await proc.wait()


def hub_vault(*args: str) -> list[str]:
    return ["uv", "run", "--no-sync", "hub-vault", *args]


async def run(args: argparse.Namespace) -> dict[str, object]:
    base_dsn = os.environ.get("HUB_POSTGRES_DSN", DEFAULT_POSTGRES_DSN)
    kafka = os.environ.get("HUB_KAFKA_BOOTSTRAP", DEFAULT_KAFKA_BOOTSTRAP)
    async with bench_database(base_dsn) as dsn:
        tmp = Path(tempfile.mkdtemp(prefix="vault-bench-"))
        keyring_path = tmp / "keyring.json"
        await asyncio.to_thread(write_keyring_file, keyring_path, new_keyring())
        port = free_port()
        env = {
            **os.environ,
            **service_env("vault"),
            "HUB_POSTGRES_DSN": dsn,
            "HUB_KAFKA_BOOTSTRAP": kafka,
            "HUB_VAULT_KEYRING_FILE": str(keyring_path),
            "HUB_LOG_LEVEL": "WARNING",
            "HUB_ENVIRONMENT": "dev",
        }
        migrate = await asyncio.create_subprocess_exec(
            *hub_vault("migrate"), env=env, cwd=ROOT, stdout=asyncio.subprocess.DEVNULL
        )
        if await migrate.wait() != 0:
            raise RuntimeError("hub-vault migrate failed")
        log = await asyncio.to_thread((tmp / "vault.log").open, "wb")
        proc = await asyncio.create_subprocess_exec(
            *hub_vault("serve", "--port", str(port), "--workers", str(args.workers)),
            env=env,
            cwd=ROOT,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=log,
        )
        try:
            await wait_ready(port, proc)
            return await measure(port, args, dsn)
        finally:
            proc.terminate()
            try:
                await asyncio.wait_for(proc.wait(), 15)
            except TimeoutError:
                proc.kill()
            log.close()


async def measure(port: int, args: argparse.Namespace, dsn: str) -> dict[str, object]:
    token = service_minter("oauth").token_for("vault")
    connections = [uuid.uuid4() for _ in range(KEYS)]
    paths = [f"/v1/tenants/{TENANT}/connections/{c}/credentials/access_token" for c in connections]
    value = "gho_" + "x" * 36  # a GitHub-token-sized value

    def put(i: int) -> bytes:
        return build_request("PUT", paths[i % KEYS], token, {"value": value})

    def get(i: int) -> bytes:
        return build_request("GET", paths[random.randrange(KEYS)], token)  # noqa: S311 (load pattern)

    pool = Pool(port)
    for i in range(KEYS):  # preload
        status, body = await pool.request(put(i))
        assert status in (200, 201), body
    # Warm-up at the target rate, both paths: the server's connection pool grows to its working
    # size and every connection prepares its statements (asyncpg introspects types per
    # connection) before anything is measured.
    await open_loop(pool, put, args.rate, 3, (200, 201))
    await open_loop(pool, get, args.rate, 2, (200,))
    results: dict[str, object] = {}
    results["get_open_loop"] = await open_loop(pool, get, args.rate, args.seconds, (200,))
    results["put_open_loop"] = await open_loop(pool, put, args.rate, args.seconds, (200, 201))
    pool.close()
    results.update(await floor_open_loops(args.rate, args.seconds, dsn, put))
    results["server_side_open_loop"] = await server_side_shares(port)
    results["get_closed_loop"] = await closed_loop(port, get, args.concurrency, args.max_seconds, (200,))
    results["put_closed_loop"] = await closed_loop(port, put, args.concurrency, args.max_seconds, (200, 201))
    return results


async def server_side_shares(port: int) -> dict[str, dict[str, float]]:
    """The server's own view (hub_http_request_duration_seconds): share of requests under each
    bound, cumulative over everything so far. Tells server time apart from scheduling noise."""
    conn = await HttpConnection.open(port)
    _, body = await conn.request(b"GET /metrics HTTP/1.1\r\nhost: vault\r\n\r\n")
    conn.close()
    buckets: dict[str, dict[str, float]] = {"GET": {}, "PUT": {}}
    for line in body.decode().splitlines():
        if not line.startswith("hub_http_request_duration_seconds_bucket{") or "{key}" not in line:
            continue
        labels = dict(part.split("=", 1) for part in line[line.index("{") + 1 : line.index("}")].split(","))
        method, le = labels["method"].strip('"'), labels["le"].strip('"')
        if method in buckets:
            buckets[method][le] = buckets[method].get(le, 0.0) + float(line.rsplit(" ", 1)[1])
    shares: dict[str, dict[str, float]] = {}
    for method, counts in buckets.items():
        total = counts.get("+Inf", 0.0) or 1.0
        shares[method.lower()] = {
            f"<= {float(le) * 1e3:g} ms": round(counts[le] / total, 4)
            for le in ("0.001", "0.0025", "0.005", "0.01")
            if le in counts
        }
    return shares


def print_table(report: dict[str, object]) -> None:
    http = report["http"]
    assert isinstance(http, dict)
    print(
        f"\nvault over HTTP ({report['rate']} ops/s open loop for {report['seconds']} s; "
        f"closed loop c={report['concurrency']})"
    )
    print(
        f"{'run':<24}{'ops/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'p99.9 ms':>10}{'max ms':>10}"
        f"{'errors':>8}{'gen lag p99':>13}"
    )
    for name, row in http.items():
        if name == "server_side_open_loop":
            continue
        lag = row.get("send_lag_p99_ms", "-")
        print(
            f"{name:<24}{row['ops_per_s']:>10}{row['p50_ms']:>10}{row['p99_ms']:>10}"
            f"{row['p999_ms']:>10}{row['max_ms']:>10}{row['errors']:>8}{lag:>13}"
        )
    print("\nserver-side share of requests (its own histogram, whole run incl. warm-up):")
    for method, shares in http["server_side_open_loop"].items():
        print(f"  {method}: " + ", ".join(f"{k}: {v:.1%}" for k, v in shares.items()))
    print("\nraw AES-256-GCM, microseconds per operation")
    crypto = report["crypto"]
    assert isinstance(crypto, dict)
    print(f"{'size':<8}{'env enc':>10}{'env dec':>10}{'env rewrap':>12}{'direct enc':>12}{'direct dec':>12}")
    for size, row in crypto.items():
        print(
            f"{size:<8}{row['envelope_encrypt_us']:>10.2f}{row['envelope_decrypt_us']:>10.2f}"
            f"{row['envelope_rewrap_us']:>12.2f}{row['direct_encrypt_us']:>12.2f}{row['direct_decrypt_us']:>12.2f}"
        )
    verdict = report["target"]
    assert isinstance(verdict, dict)
    print(
        f"\nagainst the floors measured in this run (smallest ASGI app, same client and rate): "
        f"HTTP alone p99 {verdict['floor_p99_ms']} ms, get p99 x{verdict['get_p99_over_floor']}; "
        f"HTTP + one upsert p99 {verdict['floor_put_db_p99_ms']} ms, "
        f"put p99 x{verdict['put_p99_over_put_db_floor']}"
    )
    outcome = "met" if verdict["met"] else "MISSED"
    print(
        f"\ntarget p99 <= {TARGET_P99_MS} ms at {report['rate']} ops/s: {outcome} "
        f"(get {verdict['get_p99_ms']} ms, put {verdict['put_p99_ms']} ms)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rate", type=float, default=500)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--max-seconds", type=float, default=5)
    parser.add_argument("--workers", type=int, default=1, help="hub-vault serve --workers")
    args = parser.parse_args()
    with contextlib.suppress(ImportError):
        import uvloop

        uvloop.install()
    http = asyncio.run(run(args))
    get_p99 = http["get_open_loop"]["p99_ms"]  # type: ignore[index]
    put_p99 = http["put_open_loop"]["p99_ms"]  # type: ignore[index]
    floor_p99 = http["floor_open_loop"]["p99_ms"]  # type: ignore[index]
    put_db_floor_p99 = http["floor_put_db_open_loop"]["p99_ms"]  # type: ignore[index]
    report: dict[str, object] = {
        "benchmark": "vault",
        "timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "rate": args.rate,
        "seconds": args.seconds,
        "concurrency": args.concurrency,
        "workers": args.workers,
        "http": http,
        "crypto": vault_crypto.measure(0.2),
        "target": {
            "p99_ms": TARGET_P99_MS,
            "floor_p99_ms": floor_p99,
            "get_p99_over_floor": round(get_p99 / floor_p99, 2),
            "put_p99_over_floor": round(put_p99 / floor_p99, 2),
            "floor_put_db_p99_ms": put_db_floor_p99,
            "put_p99_over_put_db_floor": round(put_p99 / put_db_floor_p99, 2),
            "get_p99_ms": get_p99,
            "put_p99_ms": put_p99,
            "met": get_p99 <= TARGET_P99_MS and put_p99 <= TARGET_P99_MS,
        },
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    print_table(report)
    print(f"\nwritten to {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
