"""``/healthz`` (the process is alive), ``/readyz`` (its dependencies answer), ``/metrics``."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from hub_common.web.responses import JsonResponse


@dataclass(frozen=True)
class ReadinessCheck:
    name: str
    check: Callable[[], Awaitable[bool]]


def health_router(checks: Callable[[], list[ReadinessCheck]]) -> APIRouter:
    router = APIRouter(tags=["health"])

    @router.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @router.get("/readyz", include_in_schema=False)
    async def readyz() -> JsonResponse:
        current = checks()

        async def run(c: ReadinessCheck) -> bool:
            try:
                return await asyncio.wait_for(c.check(), 3.0)
            except Exception:
                return False

        results = await asyncio.gather(*(run(c) for c in current))
        status = {c.name: ("ok" if ok else "failing") for c, ok in zip(current, results, strict=True)}
        ready = all(results)
        return JsonResponse(
            {"status": "ready" if ready else "not_ready", "checks": status}, status_code=200 if ready else 503
        )

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

    return ReadinessCheck("redis", check)


def kafka_check(producer_getter: Callable[[], object]) -> ReadinessCheck:
    async def check() -> bool:
        return bool(await producer_getter().ping())  # type: ignore[attr-defined]

    return ReadinessCheck("kafka", check)
