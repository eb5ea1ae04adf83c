"""Request-scoped dependencies: the container and the calling service's context.

Every dependency here is ``async def`` on purpose: FastAPI runs plain ``def`` dependencies in a
thread pool, and that hop cost more than the whole vault operation. Authentication is the same
as ``hub_common.web.auth.ServicePrincipal`` (the app's ``Authenticator`` verifies the EdDSA
service token for audience ``vault``) plus a small cache of already-verified tokens, which stay
valid until their ``exp``.
"""

from __future__ import annotations

import time
from typing import Annotated
from uuid import UUID

from fastapi import Depends, Path, Request
from starlette.datastructures import State

from hub_common.errors import Unauthorized
from hub_common.logging import request_id_var
from hub_common.web.auth import Authenticator
from hub_vault.domain.names import CREDENTIAL_KEY_PATTERN, TENANT_ID_PATTERN
from hub_vault.inject import Container
from hub_vault.services.call_context import CallContext

_VERIFIED_CACHE_SIZE = 4096


class VerifiedTokens(dict[str, tuple[float, str]]):
    """Per app: token -> (exp, service id) of tokens this app's Authenticator already verified."""


def _bearer(authorization: str | None) -> str:
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized(
            "missing bearer token", code="missing_token", headers={"WWW-Authenticate": "Bearer"}
        )
    return token.strip()


def verified_service_id(state: State, authorization: str | None) -> str:
    """The calling service, from its ``Authorization`` header (raises ``Unauthorized``)."""
    token = _bearer(authorization)
    verified: VerifiedTokens = state.verified_tokens
    cached = verified.get(token)
    if cached is not None and cached[0] > time.time():
        return cached[1]
    authenticator: Authenticator = state.authenticator
    principal = authenticator.verify_service(token, state.service_name)
    assert principal.service_id is not None  # a service principal always has one
    if len(verified) >= _VERIFIED_CACHE_SIZE:
        verified.clear()  # tokens are short-lived; a full reset is simpler than LRU bookkeeping
    verified[token] = (float(principal.claims.get("exp", 0)), principal.service_id)
    return principal.service_id


async def _container(request: Request) -> Container:
    container: Container = request.app.state.container
    return container


async def _context(request: Request) -> CallContext:
    return CallContext(
        caller=verified_service_id(request.app.state, request.headers.get("authorization")),
        request_id=request_id_var.get(),
    )


ContainerDep = Annotated[Container, Depends(_container)]
CallContextDep = Annotated[CallContext, Depends(_context)]
TenantId = Annotated[str, Path(pattern=TENANT_ID_PATTERN, description="the owning tenant")]
ConnectionId = Annotated[UUID, Path(description="the connection (or registration) owning the value")]
CredentialKeyPath = Annotated[str, Path(pattern=CREDENTIAL_KEY_PATTERN, description="e.g. access_token")]
