"""HTTP application of the oauth service."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from hub_common.web import create_app as create_base_app
from hub_oauth.config import OauthSettings
from hub_oauth.inject import Container


def create_app(settings: OauthSettings | None = None) -> FastAPI:
    settings = settings or OauthSettings()
    container = Container(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await container.start()
        app.state.container = container
        yield
        await container.stop()

    return create_base_app(
        settings, title="Integration Hub oauth", lifespan=lifespan, readiness=container.infra.readiness
    )
