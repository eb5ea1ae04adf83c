"""``/healthz`` (the process is alive), ``/readyz`` (it can serve requests), ``/status`` (how each
dependency is doing), ``/metrics``.

Readiness is "can serve requests", not "every dependency answers": events go through the outbox
(a Kafka outage delays them, loses nothing) and Redis-backed limits fail open, so on Kubernetes a
broker restart must not take every pod out of rotation. Only a check marked ``required`` (the
service's own database) decides readiness; the others are reported by ``/status`` and the
``hub_dependency_up`` gauge.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, Gauge, generate_latest

from hub_common.web.responses import JsonResponse

DEPENDENCY_UP = Gauge(
    "hub_dependency_up",
    "1 when the dependency answered the last readiness or status probe, else 0",
    ["dependency"],
    multiprocess_mode="liveall",
)


@dataclass(frozen=True)
class ReadinessCheck:
    name: str
    check: Callable[[], Awaitable[bool]]
    required: bool = True  # False: reported, but the service serves without it


def health_router(checks: Callable[[], list[ReadinessCheck]]) -> APIRouter:
    router = APIRouter(tags=["health"])

    @router.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    async def probe() -> tuple[bool, dict[str, dict[str, object]]]:
        current = checks()

        async def run(c: ReadinessCheck) -> bool:
            try:
                return await asyncio.wait_for(c.check(), 3.0)
            except Exception:
                return False

        results = await asyncio.gather(*(run(c) for c in current))
        report: dict[str, dict[str, object]] = {}
        for c, ok in zip(current, results, strict=True):
            DEPENDENCY_UP.labels(c.name).set(1 if ok else 0)
            report[c.name] = {"status": "ok" if ok else "failing", "required": c.required}
        ready = all(ok for c, ok in zip(current, results, strict=True) if c.required)
        return ready, report

    @router.get("/readyz", include_in_schema=False)
    async def readyz() -> JsonResponse:
        ready, report = await probe()
        checks_ = {name: entry["status"] for name, entry in report.items()}
        body = {"status": "ready" if ready else "not_ready", "checks": checks_}
        return JsonResponse(body, status_code=200 if ready else 503)

    @router.get("/status", include_in_schema=False)
    async def status() -> JsonResponse:
        ready, report = await probe()
        degraded = any(entry["status"] != "ok" for entry in report.values())
        overall = "not_ready" if not ready else ("degraded" if degraded else "ok")
        return JsonResponse({"status": overall, "ready": ready, "dependencies": report})

    @router.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        return Response(_render_metrics(), media_type=CONTENT_TYPE_LATEST)

    return router


def _render_metrics() -> bytes:
    # With several uvicorn workers each process writes its samples to PROMETHEUS_MULTIPROC_DIR
    # (set by `serve --workers N`); any worker then answers for all of them.
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import CollectorRegistry, multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry)
    return generate_latest()


def postgres_check(pool_getter: Callable[[], object]) -> ReadinessCheck:
    async def check() -> bool:
        pool = pool_getter()
        value = await pool.fetchval("SELECT 1")  # type: ignore[attr-defined]
        return bool(value == 1)

    return ReadinessCheck("postgres", check)


def redis_check(client_getter: Callable[[], object]) -> ReadinessCheck:
    async def check() -> bool:
        return bool(await client_getter().ping())  # type: ignore[attr-defined]

    return ReadinessCheck("redis", check, required=False)


def kafka_check(producer_getter: Callable[[], object]) -> ReadinessCheck:
    async def check() -> bool:
        return bool(await producer_getter().ping())  # type: ignore[attr-defined]

    return ReadinessCheck("kafka", check, required=False)
