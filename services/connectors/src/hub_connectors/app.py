"""HTTP application of the connectors service."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from hub_common.web import create_app as create_base_app
from hub_connectors.config import ConnectorsSettings
from hub_connectors.inject import Container


def create_app(settings: ConnectorsSettings | None = None) -> FastAPI:
    settings = settings or ConnectorsSettings()
    container = Container(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await container.start()
        app.state.container = container
        yield
        await container.stop()

    return create_base_app(
        settings, title="Integration Hub connectors", lifespan=lifespan, readiness=container.infra.readiness
    )
