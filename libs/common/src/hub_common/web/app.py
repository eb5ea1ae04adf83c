"""``create_app``: a FastAPI app with the hub's middleware, errors, health and auth wired in."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

from fastapi import FastAPI

from hub_common.settings import HubSettings
from hub_common.web.auth import Authenticator
from hub_common.web.errors import install_error_handlers
from hub_common.web.health import ReadinessCheck, health_router
from hub_common.web.middleware import RequestContextMiddleware


def create_app(
    settings: HubSettings,
    *,
    title: str,
    version: str = "0.1.0",
    lifespan: Callable[[FastAPI], AbstractAsyncContextManager[Any]] | None = None,
    readiness: Callable[[], list[ReadinessCheck]] = list,
) -> FastAPI:
    app = FastAPI(title=title, version=version, lifespan=lifespan)
    app.state.settings = settings
    app.state.service_name = settings.service_name
    app.state.authenticator = Authenticator(settings)
    install_error_handlers(app)
    app.include_router(health_router(readiness))
    app.add_middleware(RequestContextMiddleware, service=settings.service_name)
    return app
