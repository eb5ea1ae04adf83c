"""Request dependencies: the container, the calling tenant/user/tier, path ids."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import Depends, Request

from hub_common.errors import BadRequest, Forbidden
from hub_common.web.auth import AnyPrincipal, Tier, UserPrincipal
from hub_webhooks.domain.registration import RegistrationNotFound
from hub_webhooks.inject import Container
from hub_webhooks.services.registrations import Caller

# Services that may act here for a tenant they name (docs/security.md): the connectors service,
# whose Integration Manager UI and automations list and create a connection's registrations.
TRUSTED_SERVICES = frozenset({"connectors"})


async def _container(request: Request) -> Container:
    container: Container = request.app.state.container
    return container


ContainerDep = Annotated[Container, Depends(_container)]


async def _caller(principal: UserPrincipal) -> Caller:
    assert principal.tenant_id and principal.user_id and principal.tier
    return Caller(principal.tenant_id, principal.user_id, principal.tier)


CallerDep = Annotated[Caller, Depends(_caller)]


async def _user_or_service_caller(principal: AnyPrincipal, request: Request) -> Caller:
    """A user token's tenant, user and tier; or, for a trusted service's token, the tenant, tier
    and user it names in ``X-Hub-Tenant``, ``X-Hub-Tier`` and ``X-Hub-User`` (connections are
    then checked against that tenant like any caller's)."""
    if not principal.is_service:
        return await _caller(principal)
    if principal.service_id not in TRUSTED_SERVICES:
        raise Forbidden(f"service {principal.service_id} may not call this", code="service_not_allowed")
    h = request.headers
    tenant, tier, user = h.get("x-hub-tenant"), h.get("x-hub-tier"), h.get("x-hub-user")
    if not tenant or not tier or not user:
        raise BadRequest(
            "a service names the tenant, tier and user it acts for "
            "in X-Hub-Tenant, X-Hub-Tier and X-Hub-User",
            code="tenant_required",
        )
    try:
        tier_value = Tier(tier)
    except ValueError:
        raise BadRequest("X-Hub-Tier is not a tier", code="tenant_required") from None
    return Caller(tenant, user[:200], tier_value)


# Registrations only: subscriptions and deliveries stay the tenant's users' business.
RegistrationCallerDep = Annotated[Caller, Depends(_user_or_service_caller)]


async def _registration_id(registration_id: str) -> UUID:
    # A malformed id is just another id that does not exist here: 404, not 422.
    try:
        return UUID(registration_id)
    except ValueError:
        raise RegistrationNotFound() from None


RegistrationIdDep = Annotated[UUID, Depends(_registration_id)]
