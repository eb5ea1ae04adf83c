# ruff: noqa: S603, S607 - a benchmark drives local tools (wrk, nginx, the hub's own CLIs)
"""Gateway benchmark: the real ``hub-gateway serve`` against an nginx upstream, next to nginx's own
``proxy_pass``, in one run on one machine (docs/architecture.md §8).

Measured, and written to bench/results/gateway.json:
* max req/s with wrk (-t1 -c64, keep-alive, 10 s each): nginx upstream direct, nginx proxy_pass,
  gateway full path with 1 and 2 workers, and the two bare proxies of ADR 0006 (aiohttp client
  vs httpx default transport);
* latency at a fixed 1,000 req/s, open loop (a Python client that sends on a schedule and counts
  latency from the *scheduled* time, so stalls are not hidden by coordinated omission): upstream
  direct, nginx proxy_pass, gateway. "Added" latency = gateway minus direct (the same client, so
  its own cost cancels out); the same figure against nginx proxy_pass is reported too.

The gateway's full path: a user JWT verified, the connection resolved (cached; a stand-in for
the connectors service's lookup serves it), the API key injected from the REAL vault (its own
database and keyring), the shared quota taken in Redis (leases; quota set high so nothing is
refused), provider rate-limit headers parsed, Prometheus histograms and one
``integration.api-request`` event per call published to Kafka. The 1-worker gateway runs twice:
tracing off (no OTLP endpoint: the trace context is carried, no span recorded), then tracing on
(server and provider CLIENT spans exported over OTLP/HTTP to a sink in this process);
``tracing_on_vs_off_1_worker`` is the ratio of their req/s (ADR 0015).

nginx runs from Debian's package with its own prefix under .stack/bench/nginx (ports above 1024,
its own pid/temp/log files); wrk is Debian's. Both are installed with apt-get if missing.
Targets: gateway/nginx-proxy ratio >= 0.20, added P99 <= 5 ms at 1,000 req/s.

    uv run python bench/gateway_bench.py [--seconds 10] [--rate 1000] [--connections 64]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import httpx
from aiohttp import web

from hub_common.clients.vault import VaultClient
from hub_common.settings import DEFAULT_KAFKA_BOOTSTRAP, DEFAULT_POSTGRES_DSN, DEFAULT_REDIS_URL, HubSettings
from hub_common.testing import databases
from hub_common.testing.service_keys import service_env, service_minter
from hub_common.web.auth import mint_user_token

sys.path.insert(0, str(Path(__file__).parent))
from loadgen import quiet_collector

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "gateway.json"
NGINX_DIR = ROOT / ".stack" / "bench" / "nginx"
TARGET_RATIO = 0.20
TARGET_ADDED_P99_MS = 5.0
BODY = '{"id":1,"login":"octocat","site_admin":false,"items":[1,2,3]}'
SETTINGS = HubSettings(environment="dev")


class OtlpSink:
    """An OTLP/HTTP endpoint that reads every export and drops it (counting exports and bytes),
    so that the traced gateway pays for making, encoding and sending its spans, as in production."""

    def __init__(self) -> None:
        self.payloads = 0
        self._bytes = 0
        sink = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                sink.take(body)
                self.send_response(200)
                self.send_header("content-type", "application/x-protobuf")
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *_: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def take(self, body: bytes) -> None:
        # Counted, not decoded: parsing would take CPU from the gateway on the same cores.
        self.payloads += 1
        self._bytes += len(body)

    def received(self) -> dict[str, int]:
        return {"exports": self.payloads, "bytes": self._bytes}

    def __enter__(self) -> OtlpSink:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._server.shutdown()
        self._server.server_close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def ensure_tools() -> None:
    """wrk and nginx from Debian's packages (idempotent: nothing happens when both are there)."""
    if shutil.which("wrk") and (shutil.which("nginx") or Path("/usr/sbin/nginx").exists()):
        return
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "--no-install-recommends", "wrk", "nginx-light"]
    if subprocess.run(install, env=env, check=False).returncode != 0:
        subprocess.run(["apt-get", "update"], env=env, check=True)
        subprocess.run(install, env=env, check=True)


def nginx_binary() -> str:
    return shutil.which("nginx") or "/usr/sbin/nginx"


@contextlib.contextmanager
def nginx(upstream_port: int, proxy_port: int) -> Iterator[None]:
    """One nginx: a static upstream and a proxy_pass in front of it (keep-alive both sides)."""
    for sub in ("logs", "tmp/client", "tmp/proxy", "tmp/fastcgi", "tmp/uwsgi", "tmp/scgi"):
        (NGINX_DIR / sub).mkdir(parents=True, exist_ok=True)
    conf = NGINX_DIR / "nginx.conf"
    t = NGINX_DIR / "tmp"
    conf.write_text(f"""
worker_processes auto;
pid {NGINX_DIR}/nginx.pid;
error_log {NGINX_DIR}/logs/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {t}/client; proxy_temp_path {t}/proxy; fastcgi_temp_path {t}/fastcgi;
    uwsgi_temp_path {t}/uwsgi; scgi_temp_path {t}/scgi;
    keepalive_requests 1000000;
    upstream provider {{ server 127.0.0.1:{upstream_port}; keepalive 128; }}
    server {{
        listen 127.0.0.1:{upstream_port};
        location / {{
            default_type application/json;
            add_header X-RateLimit-Limit 5000;
            add_header X-RateLimit-Remaining 4999;
            add_header X-RateLimit-Reset 4102444800;
            return 200 '{BODY}';
        }}
    }}
    server {{
        listen 127.0.0.1:{proxy_port};
        location / {{
            proxy_pass http://provider;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }}
    }}
}}
""")
    cmd = [nginx_binary(), "-p", str(NGINX_DIR), "-c", str(conf), "-g", "daemon off;"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_port(upstream_port)
        wait_port(proxy_port)
        yield
    finally:
        proc.terminate()
        proc.wait(10)


def wait_port(port: int, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return
        time.sleep(0.05)
    raise TimeoutError(f"port {port} did not open")


def wait_ready(url: str, timeout_s: float = 90) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                return
        time.sleep(0.2)
    raise TimeoutError(f"{url} not ready")


class Process:
    def __init__(self, args: list[str], env: dict[str, str], name: str) -> None:
        self.log = Path(tempfile.mkstemp(prefix=f"bench-{name}-", suffix=".log")[1])
        self.proc = subprocess.Popen(
            args,
            env={**os.environ, **env},
            stdout=self.log.open("ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, 15)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, 9)


def service(name: str, *args: str) -> list[str]:
    return [sys.executable, "-c", f"from hub_{name}.cli import main; main()", *args]


# ---------------------------------------------------------------- load generators


_WRK_RPS = re.compile(r"Requests/sec:\s+([\d.]+)")
_WRK_LAT = re.compile(r"^\s+(50|99)(?:\.000)?%\s+([\d.]+)(us|ms|s)\s*$", re.M)


def wrk(
    url: str, *, seconds: int, connections: int, headers: dict[str, str] | None = None
) -> dict[str, float]:
    cmd = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", url]
    for k, v in (headers or {}).items():
        cmd += ["-H", f"{k}: {v}"]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    scale = {"us": 1e-3, "ms": 1.0, "s": 1e3}
    lat = {p: float(v) * scale[u] for p, v, u in _WRK_LAT.findall(out)}
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    return {
        "rps": float(_WRK_RPS.search(out).group(1)),  # type: ignore[union-attr]
        "p50_ms": lat.get("50", float("nan")),
        "p99_ms": lat.get("99", float("nan")),
        "non_2xx": int(non2xx.group(1)) if non2xx else 0,
    }


class Conn:
    """A minimal keep-alive HTTP/1.1 client: the load generator must cost less than the server."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, port: int) -> Conn:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return cls(reader, writer)

    async def request(self, raw: bytes) -> int:
        self.writer.write(raw)
        head = await self.reader.readuntil(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.lower() == b"content-length":
                length = int(value)
        if length:
            await self.reader.readexactly(length)
        return int(head[9:12])


async def open_loop(
    url: str, *, rate: int, seconds: float, headers: dict[str, str] | None = None, pool: int = 64
) -> dict[str, float]:
    parts = urlsplit(url)
    port = parts.port or 80
    lines = [
        f"GET {parts.path}{'?' + parts.query if parts.query else ''} HTTP/1.1",
        f"Host: 127.0.0.1:{port}",
    ] + [f"{k}: {v}" for k, v in (headers or {}).items()]
    raw = ("\r\n".join(lines) + "\r\n\r\n").encode()
    idle: asyncio.Queue[Conn] = asyncio.Queue()
    for _ in range(pool):
        idle.put_nowait(await Conn.open(port))
    for _ in range(min(pool, 200)):  # warm
        c = await idle.get()
        await c.request(raw)
        idle.put_nowait(c)
    latencies: list[float] = []
    errors = 0
    loop = asyncio.get_running_loop()
    start = loop.time() + 0.05
    total = int(rate * seconds)

    async def one(at: float) -> None:
        nonlocal errors
        c = await idle.get()
        try:
            status = await c.request(raw)
            if status >= 400:
                errors += 1
        finally:
            idle.put_nowait(c)
        latencies.append((loop.time() - at) * 1000)

    tasks: set[asyncio.Task[None]] = set()
    with quiet_collector():
        for i in range(total):
            at = start + i / rate
            delay = at - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            task = asyncio.create_task(one(at))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        await asyncio.gather(*tasks)
    while not idle.empty():
        idle.get_nowait().writer.close()
    latencies.sort()

    def pct(p: float) -> float:
        return round(latencies[min(len(latencies) - 1, int(p * len(latencies)))], 3)

    return {
        "requests": total,
        "errors": errors,
        "p50_ms": pct(0.50),
        "p99_ms": pct(0.99),
        "p999_ms": pct(0.999),
        "max_ms": round(latencies[-1], 3),
    }


# ---------------------------------------------------------------- the hub side


class LookupStandIn:
    """Stands in for the connectors service's connection lookup (GET /internal/v1/connections/{id})."""

    def __init__(self, connection: dict[str, object]) -> None:
        self.connection = connection
        self.port = free_port()
        self.loop = asyncio.new_event_loop()
        threading.Thread(target=self.loop.run_forever, daemon=True).start()
        asyncio.run_coroutine_threadsafe(self._start(), self.loop).result(10)

    async def _start(self) -> None:
        async def lookup(request: web.Request) -> web.Response:
            if request.match_info["id"] != self.connection["id"]:
                return web.json_response({}, status=404)
            return web.json_response(self.connection)

        app = web.Application()
        app.router.add_get("/internal/v1/connections/{id}", lookup)
        runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", self.port).start()


async def create_database() -> str:
    return await databases.create_database(
        os.environ.get("HUB_POSTGRES_DSN", DEFAULT_POSTGRES_DSN), "bench_gateway"
    )


async def drop_database(dsn: str) -> None:
    await databases.drop_database(os.environ.get("HUB_POSTGRES_DSN", DEFAULT_POSTGRES_DSN), dsn)


async def store_key(vault_url: str, tenant: str, cid: str) -> None:
    vault = VaultClient(vault_url, service_minter("connectors"))
    try:
        await vault.store(tenant, cid, "api_key", "sk-bench-secret-value-000000000000")
    finally:
        await vault.aclose()


def fmt(v: float) -> str:
    return f"{v:,.0f}" if v >= 100 else f"{v:.2f}"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--rate", type=int, default=1000)
    parser.add_argument("--connections", type=int, default=64)
    args = parser.parse_args()
    ensure_tools()

    upstream_port, proxy_port = free_port(), free_port()
    tenant, cid = "bench", str(uuid.uuid4())
    dsn = asyncio.run(create_database())
    stack = {
        "HUB_ENVIRONMENT": "dev",
        "HUB_POSTGRES_DSN": dsn,
        "HUB_KAFKA_BOOTSTRAP": os.environ.get("HUB_KAFKA_BOOTSTRAP", DEFAULT_KAFKA_BOOTSTRAP),
        "HUB_REDIS_URL": os.environ.get("HUB_REDIS_URL", DEFAULT_REDIS_URL),
        "HUB_LOG_LEVEL": "WARNING",
    }
    procs: list[Process] = []
    results: dict[str, object] = {}
    try:
        with nginx(upstream_port, proxy_port):
            upstream = f"http://127.0.0.1:{upstream_port}"
            keyring = Path(tempfile.mkdtemp(prefix="bench-vault-")) / "keyring.json"
            vault_port = free_port()
            venv = {**service_env("vault"), **stack, "HUB_VAULT_DEV_KEYRING_PATH": str(keyring)}
            subprocess.run(
                service("vault", "migrate"),
                env={**os.environ, **venv},
                check=True,
                capture_output=True,
            )
            procs.append(Process(service("vault", "serve", "--port", str(vault_port)), venv, "vault"))
            vault_url = f"http://127.0.0.1:{vault_port}"
            wait_ready(vault_url)
            asyncio.run(store_key(vault_url, tenant, cid))
            lookup = LookupStandIn(
                {
                    "id": cid,
                    "tenant_id": tenant,
                    "user_id": "u",
                    "connector_id": "benchapi",
                    "status": "active",
                    "auth_method": "api_key",
                    "config": {},
                    "manifest": {
                        "id": "benchapi",
                        "name": "bench",
                        "version": "1.0.0",
                        "category": "custom",
                        "description": "nginx",
                        "builtin": True,
                        "auth": {
                            "method": "api_key",
                            "api_key": {"location": "header", "name": "Authorization", "prefix": "Bearer "},
                        },
                        "api": {"base_url": upstream, "default_headers": {"Accept": "application/json"}},
                    },
                }
            )
            genv = {
                **service_env("gateway"),
                **stack,
                "HUB_VAULT_URL": vault_url,
                "HUB_CONNECTORS_URL": f"http://127.0.0.1:{lookup.port}",
                "HUB_OUTBOUND_ALLOWLIST": "127.0.0.1",
                "HUB_GATEWAY_QUOTAS": json.dumps(
                    {
                        "teams": {
                            "connection": {"rate": 1e6, "burst": 1_000_000},
                            "tenant": {"rate": 1e6, "burst": 1_000_000},
                        }
                    }
                ),
            }
            subprocess.run(
                service("gateway", "migrate"),
                env={**os.environ, **genv},
                check=True,
                capture_output=True,
            )
            token = mint_user_token(SETTINGS, tenant=tenant, user="bench", tier="teams")
            auth = {"Authorization": f"Bearer {token}"}
            path = "/repos/octo/hello/issues?state=open"

            def gateway(workers: int, otlp: str | None = None) -> tuple[Process, str]:
                port = free_port()
                env = {**genv, "HUB_OTLP_ENDPOINT": otlp} if otlp else genv
                p = Process(
                    service("gateway", "serve", "--port", str(port), "--workers", str(workers)),
                    env,
                    f"gateway{workers}{'-traced' if otlp else ''}",
                )
                url = f"http://127.0.0.1:{port}"
                wait_ready(url)
                for _ in range(50 * workers):  # caches warm in every worker
                    r = httpx.get(f"{url}/v1/proxy/{cid}{path}", headers=auth, timeout=10)
                    r.raise_for_status()
                return p, url

            def bare(client: str) -> dict[str, float]:
                port = free_port()
                p = Process(
                    [
                        sys.executable,
                        "-m",
                        "uvicorn",
                        "gateway_bare_proxy:app",
                        "--app-dir",
                        str(ROOT / "bench"),
                        "--port",
                        str(port),
                        "--log-level",
                        "warning",
                        "--no-access-log",
                    ],
                    {"BARE_CLIENT": client, "BARE_UPSTREAM": upstream},
                    f"bare-{client}",
                )
                try:
                    wait_port(port)
                    wrk(f"http://127.0.0.1:{port}/x", seconds=2, connections=args.connections)
                    return wrk(
                        f"http://127.0.0.1:{port}/x", seconds=args.seconds, connections=args.connections
                    )
                finally:
                    p.stop()

            s, c = args.seconds, args.connections
            print(f"measuring ({s} s per run, wrk -t1 -c{c}) ...", flush=True)
            throughput: dict[str, dict[str, float]] = {}
            throughput["nginx_direct"] = wrk(upstream + path, seconds=s, connections=c)
            throughput["nginx_proxy_pass"] = wrk(
                f"http://127.0.0.1:{proxy_port}{path}", seconds=s, connections=c
            )
            throughput["bare_proxy_hub_http1"] = bare("hub")
            throughput["bare_proxy_aiohttp"] = bare("aiohttp")
            throughput["bare_proxy_httpx"] = bare("httpx")
            latency: dict[str, dict[str, float]] = {}
            latency["nginx_direct"] = asyncio.run(open_loop(upstream + path, rate=args.rate, seconds=s))
            latency["nginx_proxy_pass"] = asyncio.run(
                open_loop(f"http://127.0.0.1:{proxy_port}{path}", rate=args.rate, seconds=s)
            )
            for workers in (1, 2):
                proc, url = gateway(workers)
                try:
                    target = f"{url}/v1/proxy/{cid}{path}"
                    wrk(target, seconds=2, connections=c, headers=auth)
                    throughput[f"gateway_{workers}_worker"] = wrk(
                        target, seconds=s, connections=c, headers=auth
                    )
                    if workers == 1:
                        latency["gateway_1_worker"] = asyncio.run(
                            open_loop(target, rate=args.rate, seconds=s, headers=auth)
                        )
                    metrics = httpx.get(f"{url}/metrics", timeout=10).text
                    results[f"gateway_{workers}_worker_events_dropped"] = _metric(
                        metrics, 'hub_gateway_events_total{outcome="dropped"}'
                    )
                finally:
                    proc.stop()
            # Tracing on (spans exported over OTLP/HTTP to a sink that reads and drops them),
            # right after the same gateway with tracing off: the cost of tracing, same run.
            with OtlpSink() as sink:
                proc, url = gateway(1, otlp=sink.endpoint)
                try:
                    target = f"{url}/v1/proxy/{cid}{path}"
                    wrk(target, seconds=2, connections=c, headers=auth)
                    throughput["gateway_1_worker_tracing"] = wrk(
                        target, seconds=s, connections=c, headers=auth
                    )
                finally:
                    proc.stop()
                results["gateway_1_worker_tracing_otlp_received"] = sink.received()
    finally:
        for p in procs:
            p.stop()
        asyncio.run(drop_database(dsn))

    proxy_rps = throughput["nginx_proxy_pass"]["rps"]
    best = max(throughput["gateway_1_worker"]["rps"], throughput["gateway_2_worker"]["rps"])
    direct, gw, ngx = latency["nginx_direct"], latency["gateway_1_worker"], latency["nginx_proxy_pass"]
    summary = {
        "ratio_gateway_to_nginx_proxy": round(best / proxy_rps, 3),
        "ratio_1_worker": round(throughput["gateway_1_worker"]["rps"] / proxy_rps, 3),
        "ratio_2_workers": round(throughput["gateway_2_worker"]["rps"] / proxy_rps, 3),
        "scaling_2_vs_1_workers": round(
            throughput["gateway_2_worker"]["rps"] / throughput["gateway_1_worker"]["rps"], 2
        ),
        "added_p50_ms_vs_direct": round(gw["p50_ms"] - direct["p50_ms"], 3),
        "added_p99_ms_vs_direct": round(gw["p99_ms"] - direct["p99_ms"], 3),
        "added_p50_ms_vs_nginx_proxy": round(gw["p50_ms"] - ngx["p50_ms"], 3),
        "added_p99_ms_vs_nginx_proxy": round(gw["p99_ms"] - ngx["p99_ms"], 3),
        "tracing_on_vs_off_1_worker": round(
            throughput["gateway_1_worker_tracing"]["rps"] / throughput["gateway_1_worker"]["rps"], 3
        ),
        "aiohttp_vs_httpx_bare_proxy": round(
            throughput["bare_proxy_aiohttp"]["rps"] / max(1.0, throughput["bare_proxy_httpx"]["rps"]), 1
        ),
    }
    summary["targets_met"] = {
        "ratio_ge_0_20": summary["ratio_gateway_to_nginx_proxy"] >= TARGET_RATIO,
        "added_p99_le_5ms": summary["added_p99_ms_vs_direct"] <= TARGET_ADDED_P99_MS,
    }
    results.update(
        {
            "benchmark": "gateway",
            "timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "machine": {
                "cpus": os.cpu_count(),
                "python": platform.python_version(),
                "platform": platform.platform(),
            },
            "method": {
                "throughput": f"wrk -t1 -c{c} -d{s}s, keep-alive, GET with a query string, "
                f"{len(BODY)}-byte JSON answer",
                "latency": f"open loop at {args.rate} req/s for {s} s over 64 keep-alive connections, "
                "latency from the scheduled send time (no coordinated omission)",
                "nginx": "Debian nginx, worker_processes auto, upstream keepalive 128",
            },
            "throughput": throughput,
            "latency_at_fixed_rate": latency,
            "summary": summary,
        }
    )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")

    print(f"\n{'run':<28}{'req/s':>10}{'P50 ms':>10}{'P99 ms':>10}{'non-2xx':>9}")
    for name, r in throughput.items():
        print(f"{name:<28}{fmt(r['rps']):>10}{r['p50_ms']:>10.2f}{r['p99_ms']:>10.2f}{int(r['non_2xx']):>9}")
    print(f"\nat a fixed {args.rate} req/s (open loop)")
    print(f"{'run':<28}{'P50 ms':>10}{'P99 ms':>10}{'P99.9 ms':>10}{'errors':>9}")
    for name, r in latency.items():
        print(f"{name:<28}{r['p50_ms']:>10.3f}{r['p99_ms']:>10.3f}{r['p999_ms']:>10.3f}{int(r['errors']):>9}")
    print()
    for k, v in summary.items():
        print(f"{k:<34}{v}")
    print(f"\nwrote {RESULTS.relative_to(ROOT)}")
    return 0


def _metric(text: str, name: str) -> float:
    for line in text.splitlines():
        if line.startswith(name):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


if __name__ == "__main__":
    sys.exit(main())
