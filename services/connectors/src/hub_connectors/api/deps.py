"""Request dependencies: the container, the calling tenant/user/tier, path ids."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import Depends, Request

from hub_common.web.auth import UserPrincipal
from hub_connectors.domain.errors import ConnectionNotFound
from hub_connectors.inject import Container
from hub_connectors.services.caller import Caller


# Both plain functions are ``async def`` on purpose: FastAPI runs a plain ``def`` dependency on a
# worker thread, a hop that costs more than the lookup itself.
async def _container(request: Request) -> Container:
    container: Container = request.app.state.container
    return container


ContainerDep = Annotated[Container, Depends(_container)]


async def _caller(principal: UserPrincipal, container: ContainerDep) -> Caller:
    caller = Caller.of(principal)
    await container.tenants.observe(caller)
    return caller


CallerDep = Annotated[Caller, Depends(_caller)]


async def _connection_id(connection_id: str) -> UUID:
    # A malformed id is just another id that does not exist here: 404, not 422.
    try:
        return UUID(connection_id)
    except ValueError:
        raise ConnectionNotFound() from None


ConnectionIdDep = Annotated[UUID, Depends(_connection_id)]
