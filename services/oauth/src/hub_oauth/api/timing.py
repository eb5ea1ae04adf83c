"""``Server-Timing: app;dur=<ms>, provider;dur=<ms>`` on every response: the time the service
took to produce the response head, and the part of it spent waiting on the provider."""

from __future__ import annotations

import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hub_oauth.adapters.provider_http import provider_seconds


class ProviderTimingMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        spent = [0.0]
        token = provider_seconds.set(spent)
        started = time.perf_counter()

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                app_ms = (time.perf_counter() - started) * 1000
                value = f"app;dur={app_ms:.2f}, provider;dur={spent[0] * 1000:.2f}".encode()
                message["headers"] = [*message.get("headers", []), (b"server-timing", value)]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            provider_seconds.reset(token)
