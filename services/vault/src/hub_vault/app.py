"""HTTP application of the vault service."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.middleware import Middleware

from hub_common.web import create_app as create_base_app
from hub_vault.api import routes_admin, routes_credentials
from hub_vault.api.body_limit import BodyLimitMiddleware
from hub_vault.api.deps import VerifiedTokens
from hub_vault.config import VaultSettings
from hub_vault.inject import Container


def create_app(settings: VaultSettings | None = None) -> FastAPI:
    settings = settings or VaultSettings()
    # Keyring and policy load here: a bad configuration stops the process before it listens.
    container = Container(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await container.start()
        # Everything built so far (routes, pydantic validators, the container) lives forever:
        # moving it out of the collector's generations keeps full collections short (P99).
        gc.collect()
        gc.freeze()
        yield
        await container.stop()

    app = create_base_app(
        settings, title="Integration Hub vault", lifespan=lifespan, readiness=container.readiness
    )
    app.state.container = container
    app.state.verified_tokens = VerifiedTokens()
    app.include_router(routes_credentials.router)
    app.include_router(routes_admin.router)
    # Appended (innermost), so the request-id middleware still wraps a 413.
    app.user_middleware.append(
        Middleware(
            BodyLimitMiddleware,
            max_bytes=settings.vault_max_body_bytes,
            max_hmac_bytes=settings.vault_max_hmac_body_bytes,
        )
    )
    return app
