"""Dependencies: the container and the tenant a call acts for."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, Request

from hub_common.errors import BadRequest, Forbidden
from hub_common.web.auth import Principal

if TYPE_CHECKING:
    from hub_oauth.inject import Container


async def _container(request: Request) -> Container:
    # async on purpose: FastAPI runs a plain ``def`` dependency on a worker thread, a hop that
    # cost milliseconds per request on a busy two-core machine (bench/oauth_bench.py).
    c: Container = request.app.state.container
    return c


ContainerDep = Annotated["Container", Depends(_container)]

# Services allowed to act on any tenant's connections here (they name the tenant in the body).
TRUSTED_SERVICES = frozenset({"gateway", "connectors"})


def acting_tenant(principal: Principal, body_tenant: str | None) -> str:
    if principal.is_service:
        if principal.service_id not in TRUSTED_SERVICES:
            raise Forbidden(f"service {principal.service_id} may not call this", code="service_not_allowed")
        if not body_tenant:
            raise BadRequest("tenant_id is required when a service calls", code="tenant_required")
        return body_tenant
    assert principal.tenant_id is not None
    return principal.tenant_id
