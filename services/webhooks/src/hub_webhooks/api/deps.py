"""Request dependencies: the container, the calling tenant/user/tier, path ids."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import Depends, Request

from hub_common.web.auth import UserPrincipal
from hub_webhooks.domain.registration import RegistrationNotFound
from hub_webhooks.inject import Container
from hub_webhooks.services.registrations import Caller


async def _container(request: Request) -> Container:
    container: Container = request.app.state.container
    return container


ContainerDep = Annotated[Container, Depends(_container)]


async def _caller(principal: UserPrincipal) -> Caller:
    assert principal.tenant_id and principal.user_id and principal.tier
    return Caller(principal.tenant_id, principal.user_id, principal.tier)


CallerDep = Annotated[Caller, Depends(_caller)]


async def _registration_id(registration_id: str) -> UUID:
    # A malformed id is just another id that does not exist here: 404, not 422.
    try:
        return UUID(registration_id)
    except ValueError:
        raise RegistrationNotFound() from None


RegistrationIdDep = Annotated[UUID, Depends(_registration_id)]
