"""HTTP application of the connectors service."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.middleware import Middleware

from hub_common.web import create_app as create_base_app
from hub_common.web.body_limit import BodyLimitMiddleware
from hub_connectors.api import (
    routes_audit,
    routes_automations,
    routes_connect,
    routes_connections,
    routes_connectors,
    routes_exports,
    routes_internal,
    routes_license,
    ui,
)
from hub_connectors.config import ConnectorsSettings
from hub_connectors.inject import Container


def create_app(settings: ConnectorsSettings | None = None, *, container: Container | None = None) -> FastAPI:
    settings = settings or (container.settings if container else ConnectorsSettings())
    container = container or Container(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with container:
            yield

    app = create_base_app(
        settings, title="Integration Hub connectors", lifespan=lifespan, readiness=container.readiness
    )
    app.state.container = container
    for router in (
        routes_connectors,
        routes_connections,
        routes_exports,
        routes_license,
        routes_audit,
        routes_automations,
        routes_connect,
        routes_internal,
    ):
        app.include_router(router.router)
    ui.install(app)
    # Appended (innermost), so the request-id middleware still wraps a 413.
    app.user_middleware.append(Middleware(BodyLimitMiddleware, max_bytes=settings.connectors_max_body_bytes))
    return app
