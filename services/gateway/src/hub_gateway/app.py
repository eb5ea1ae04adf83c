"""HTTP application of the gateway service.

Two entry points behind one ASGI callable: ``/v1/proxy/...`` goes straight to the raw-ASGI
:class:`ProxyEndpoint` (the hot path skips FastAPI's routing, dependency injection and the shared
middleware — it does its own request id, span and metrics); everything else (health, metrics,
rate-limit status, transforms, lifespan) is a regular FastAPI app.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.datastructures import State
from starlette.middleware import Middleware
from starlette.types import Receive, Scope, Send

from hub_common.web import create_app as create_base_app
from hub_common.web.body_limit import BodyLimitMiddleware
from hub_common.web.openapi import document_errors
from hub_gateway.api import metrics, routes
from hub_gateway.api.callers import CallerAuth
from hub_gateway.api.proxy import ProxyEndpoint
from hub_gateway.api.proxy_openapi import proxy_paths
from hub_gateway.config import GatewaySettings
from hub_gateway.domain.paths import PROXY_PREFIX
from hub_gateway.inject import Container

log = logging.getLogger(__name__)
YOUNG_GC_THRESHOLD = 5_000
_NOT_READY = b'{"error":{"code":"not_ready","message":"the gateway is starting","details":{}}}'


class GatewayApp:
    def __init__(self, api: FastAPI) -> None:
        self.api = api
        self.proxy: ProxyEndpoint | None = None

    @property
    def state(self) -> State:
        return self.api.state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(PROXY_PREFIX):
            proxy = self.proxy
            if proxy is not None:
                await proxy(scope, receive, send)
                return
            await send(
                {
                    "type": "http.response.start",
                    "status": 503,
                    "headers": [(b"content-type", b"application/json"), (b"retry-after", b"1")],
                }
            )
            await send({"type": "http.response.body", "body": _NOT_READY})
            return
        if scope["type"] == "http" and scope["path"] == "/metrics":
            metrics.flush()  # this process's latest calls are in the scrape
        await self.api(scope, receive, send)


def create_app(settings: GatewaySettings | None = None, *, container: Container | None = None) -> GatewayApp:
    settings = settings or (container.settings if container else GatewaySettings())
    container = container or Container(settings)
    caller_auth = CallerAuth(
        container.authenticator,
        trusted_services=settings.trusted_services,
        service_default_tier=settings.gateway_service_default_tier,
    )
    gateway: GatewayApp

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with container:
            gateway.proxy = ProxyEndpoint(
                container.proxy,
                caller_auth,
                container.events,
                max_body_bytes=settings.gateway_max_body_bytes,
                replay_buffer_bytes=settings.gateway_replay_buffer_bytes,
                body_idle_timeout_s=settings.gateway_body_idle_timeout_s,
                tracing=settings.tracing_enabled,
            )
            # create_base_app freezes what exists once this startup is done (P99). Calls free almost
            # everything by reference counting, but with 64 in flight the young generation's counter
            # still reached the default 700 about 150 times a second: ~5% of a worker's CPU in
            # collections (measured with gc.callbacks under bench/gateway_bench.py's load). At 5,000:
            # 15 young collections in 25 s of full load, ~3 ms each.
            gc.set_threshold(YOUNG_GC_THRESHOLD, *gc.get_threshold()[1:])
            flusher = asyncio.create_task(metrics.flush_every(), name="gateway-metrics")
            # The lines uvicorn writes for the other services: operators (and tests/e2e) look for them.
            log.info("Application startup complete")
            try:
                yield
            finally:
                gateway.proxy = None
                flusher.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await flusher
        log.info("Application shutdown complete")

    api = create_base_app(
        settings, title="Integration Hub gateway", lifespan=lifespan, readiness=container.readiness
    )
    api.state.container = container
    api.state.caller_auth = caller_auth
    api.include_router(routes.router)
    document_errors(api, extra_paths=proxy_paths)
    # The API routes' bodies (a transform spec) are small; the proxy has its own limit. Appended
    # (innermost), so the request-id middleware still wraps a 413.
    api.user_middleware.append(Middleware(BodyLimitMiddleware, max_bytes=settings.gateway_api_max_body_bytes))
    gateway = GatewayApp(api)
    return gateway
