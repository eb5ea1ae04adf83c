"""``create_app``: a FastAPI app with the hub's middleware, errors, health and auth wired in."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.telemetry import TelemetryConfig

from hub_common.settings import HubSettings
from hub_common.web.auth import Authenticator
from hub_common.web.errors import install_error_handlers
from hub_common.web.health import ReadinessCheck, health_router
from hub_common.web.middleware import RequestContextMiddleware
from hub_common.web.openapi import document_errors

NO_FRAMEWORK_TELEMETRY: TelemetryConfig = {
    "tracing": False,
    "metrics": False,
    "logs": False,
    "operation_spans": False,
}


def create_app(
    settings: HubSettings,
    *,
    title: str,
    version: str = "0.1.0",
    lifespan: Callable[[FastAPI], AbstractAsyncContextManager[Any]] | None = None,
    readiness: Callable[[], list[ReadinessCheck]] = list,
    opaque_body_paths: Sequence[str] = (),
) -> FastAPI:
    # FastAPI's own telemetry would add a second server span (plus per-operation spans, OTel
    # metrics and log records) to every request: RequestContextMiddleware already makes the
    # server span and the Prometheus histogram, and errors are logged by the handlers below.
    app = FastAPI(
        title=title, version=version, lifespan=_frozen_after(lifespan), telemetry=NO_FRAMEWORK_TELEMETRY
    )
    app.state.settings = settings
    app.state.service_name = settings.service_name
    app.state.authenticator = Authenticator(settings)
    install_error_handlers(app)
    document_errors(app)
    app.include_router(health_router(readiness))
    app.add_middleware(
        RequestContextMiddleware, service=settings.service_name, opaque_body_paths=opaque_body_paths
    )
    return app


def _frozen_after(
    lifespan: Callable[[FastAPI], AbstractAsyncContextManager[Any]] | None,
) -> Callable[[FastAPI], AbstractAsyncContextManager[Any]]:
    """The service's lifespan, then everything built so far moved out of the collector's reach.

    Routes, validators, clients and caches live as long as the process; left in the tracked
    generations, each full collection walks them all again: 60-90 ms pauses in the oauth service
    under bench/oauth_bench.py (measured with gc.callbacks), a request's worth of latency each."""

    @asynccontextmanager
    async def run(app: FastAPI) -> AsyncIterator[Any]:
        if lifespan is None:
            _freeze_heap()
            yield None
            return
        async with lifespan(app) as state:
            _freeze_heap()
            yield state

    return run


def _freeze_heap() -> None:
    gc.collect()
    gc.freeze()
