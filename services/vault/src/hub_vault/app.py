"""HTTP application of the vault service.

One ASGI callable in front of two paths: GET/PUT of one credential go straight to the raw-ASGI
:class:`CredentialFastPath` (the hub's hot calls, without FastAPI's machinery); everything else,
and whatever that path hands back, is the regular FastAPI app.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.datastructures import State
from starlette.middleware import Middleware
from starlette.types import Receive, Scope, Send

from hub_common.db import Database
from hub_common.web import create_app as create_base_app
from hub_common.web.body_limit import BodyLimitMiddleware
from hub_vault.api import fast_credentials, rejected_audit, routes_admin, routes_credentials
from hub_vault.api.body_limit import body_limit_for
from hub_vault.api.deps import VerifiedTokens, verified_service_id
from hub_vault.config import VaultSettings
from hub_vault.inject import Container


class VaultApp:
    def __init__(
        self,
        api: FastAPI,
        fast: fast_credentials.CredentialFastPath,
        database: Callable[[], Database],
        caller_of: Callable[[str | None], str],
    ) -> None:
        self.api = api
        self.fast = fast
        # Outermost: both paths' 401s and 422s reach the audit (api/rejected_audit.py).
        self._audited = rejected_audit.RejectedCallAudit(self._dispatch, database, caller_of)

    @property
    def state(self) -> State:
        return self.api.state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._audited(scope, receive, send)

    async def _dispatch(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            target = fast_credentials.match(scope)
            if target is not None:
                await self.fast(target, scope, receive, send)
                return
        await self.api(scope, receive, send)


def create_app(settings: VaultSettings | None = None, *, container: Container | None = None) -> VaultApp:
    settings = settings or (container.settings if container else VaultSettings())
    # Keyring and policy load here: a bad configuration stops the process before it listens.
    container = container or Container(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with container:  # then create_base_app freezes what was built (P99)
            yield

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
            limit_for=body_limit_for(settings.vault_max_body_bytes, settings.vault_max_hmac_body_bytes),
        )
    )
    fast = fast_credentials.CredentialFastPath(
        app,
        lambda: container,
        lambda authorization: verified_service_id(app.state, authorization),
        service_name=settings.service_name,
        max_body_bytes=settings.vault_max_body_bytes,
        tracing=bool(settings.otlp_endpoint),
    )
    return VaultApp(
        app,
        fast,
        lambda: container.db,
        lambda authorization: verified_service_id(app.state, authorization),
    )
