"""HTTP application of the webhooks service."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.middleware import Middleware

from hub_common.web import create_app as create_base_app
from hub_common.web.body_limit import BodyLimitMiddleware
from hub_common.web.openapi import document_errors
from hub_webhooks.api import routes_deliveries, routes_intake, routes_registrations, routes_subscriptions
from hub_webhooks.api.intake_openapi import intake_paths
from hub_webhooks.config import WebhooksSettings
from hub_webhooks.inject import Container

API_BODY_BYTES = 64 * 1024  # registration and subscription bodies are small


def create_app(settings: WebhooksSettings | None = None, *, container: Container | None = None) -> FastAPI:
    settings = settings or (container.settings if container else WebhooksSettings())
    container = container or Container(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with container:
            yield

    app = create_base_app(
        settings,
        title="Integration Hub webhooks",
        lifespan=lifespan,
        readiness=container.readiness,
        # Provider deliveries are verified byte for byte and never stored as text: a JSON body
        # with an escaped NUL is a valid delivery, not a 422 before its signature is checked.
        opaque_body_paths=("/webhooks/",),
    )
    app.state.container = container
    app.router.routes.extend(routes_intake.routes)  # Starlette routes: the hot path (see the module)
    app.include_router(routes_registrations.router)
    app.include_router(routes_subscriptions.router)
    app.include_router(routes_deliveries.router)
    document_errors(app, extra_paths=intake_paths)  # the intake's Starlette routes, described

    def limit_for(path: str) -> int:
        # Provider deliveries may be up to 1 MiB (413 above, before anything reads them).
        return settings.webhooks_max_body_bytes if path.startswith("/webhooks/") else API_BODY_BYTES

    app.user_middleware.append(
        Middleware(BodyLimitMiddleware, max_bytes=settings.webhooks_max_body_bytes, limit_for=limit_for)
    )
    return app
