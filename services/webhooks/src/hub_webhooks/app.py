"""HTTP application of the webhooks service."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from hub_common.web import create_app as create_base_app
from hub_webhooks.config import WebhooksSettings
from hub_webhooks.inject import Container


def create_app(settings: WebhooksSettings | None = None) -> FastAPI:
    settings = settings or WebhooksSettings()
    container = Container(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await container.start()
        app.state.container = container
        yield
        await container.stop()

    return create_base_app(
        settings, title="Integration Hub webhooks", lifespan=lifespan, readiness=container.infra.readiness
    )
