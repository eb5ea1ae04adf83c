"""HTTP application of the oauth service."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.middleware import Middleware

from hub_common.web import create_app as create_base_app
from hub_common.web.body_limit import BodyLimitMiddleware
from hub_oauth.api.routes import router
from hub_oauth.api.routes_internal import router as internal_router
from hub_oauth.api.timing import ProviderTimingMiddleware
from hub_oauth.config import OAuthSettings
from hub_oauth.inject import Container


def create_app(settings: OAuthSettings | None = None, *, container: Container | None = None) -> FastAPI:
    settings = settings or (container.settings if container else OAuthSettings())
    container = container or Container(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with container:
            yield

    app = create_base_app(
        settings,
        title="Integration Hub OAuth Manager",
        lifespan=lifespan,
        readiness=container.readiness,
    )
    app.state.container = container
    app.include_router(router)
    app.include_router(internal_router)
    app.add_middleware(ProviderTimingMiddleware)
    # Appended (innermost), so the request-id middleware still wraps a 413.
    app.user_middleware.append(Middleware(BodyLimitMiddleware, max_bytes=settings.oauth_max_body_bytes))
    return app
