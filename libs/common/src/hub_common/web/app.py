"""``create_app``: a FastAPI app with the hub's middleware, errors, health and auth wired in."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

from fastapi import FastAPI
from fastapi.telemetry import TelemetryConfig

from hub_common.settings import HubSettings
from hub_common.web.auth import Authenticator
from hub_common.web.errors import install_error_handlers
from hub_common.web.health import ReadinessCheck, health_router
from hub_common.web.middleware import RequestContextMiddleware

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
) -> FastAPI:
    # FastAPI's own telemetry would add a second server span (plus per-operation spans, OTel
    # metrics and log records) to every request: RequestContextMiddleware already makes the
    # server span and the Prometheus histogram, and errors are logged by the handlers below.
    app = FastAPI(title=title, version=version, lifespan=lifespan, telemetry=NO_FRAMEWORK_TELEMETRY)
    app.state.settings = settings
    app.state.service_name = settings.service_name
    app.state.authenticator = Authenticator(settings)
    install_error_handlers(app)
    app.include_router(health_router(readiness))
    app.add_middleware(RequestContextMiddleware, service=settings.service_name)
    return app
