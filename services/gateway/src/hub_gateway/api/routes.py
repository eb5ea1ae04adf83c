"""Admin routes: ``GET /v1/connections/{id}/rate-limit`` and ``/v1/gateway/transforms``."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Body, Depends, Request, Response, status

from hub_gateway.api.callers import CallerAuth
from hub_gateway.api.schemas import (
    ConnectionUsageOut,
    RateLimitStatusOut,
    TransformListOut,
    TransformOut,
)
from hub_gateway.domain import tiers
from hub_gateway.domain.caller import GatewayCaller
from hub_gateway.domain.errors import InvalidTransform, PluginScope, TransformNotFound, UserRequired
from hub_gateway.inject import Container
from hub_gateway.services.transforms import TransformRow

router = APIRouter(tags=["gateway"])


# ``async def`` on purpose: FastAPI runs a plain ``def`` dependency on a worker thread.
async def _container(request: Request) -> Container:
    container: Container = request.app.state.container
    return container


async def _caller(request: Request) -> GatewayCaller:
    auth: CallerAuth = request.app.state.caller_auth
    h = request.headers
    caller = auth.caller(h.get("authorization"), h.get("x-hub-tenant"), h.get("x-hub-tier"))
    if caller.connection_id is not None:
        raise PluginScope("a plugin token is good for the proxy route of its connection only")
    return caller


ContainerDep = Annotated[Container, Depends(_container)]
GatewayCallerDep = Annotated[GatewayCaller, Depends(_caller)]


@router.get("/v1/connections/{connection_id}/rate-limit", response_model=RateLimitStatusOut)
async def rate_limit_status(
    connection_id: UUID, caller: GatewayCallerDep, c: ContainerDep
) -> RateLimitStatusOut:
    report = await c.connection_status.rate_limit(connection_id, caller.tenant_id, caller.tier)
    return RateLimitStatusOut.model_validate(report, from_attributes=True)


@router.get("/v1/connections/{connection_id}/usage", response_model=ConnectionUsageOut)
async def usage_status(connection_id: UUID, caller: GatewayCallerDep, c: ContainerDep) -> ConnectionUsageOut:
    """Tokens the provider reported for this connection (streamed answers included) and for the
    tenant's connections of the same connector; this replica's unflushed counts are added (other
    replicas' are at most a flush interval behind)."""
    report = await c.connection_status.usage(connection_id, caller.tenant_id)
    return ConnectionUsageOut.model_validate(report, from_attributes=True)


def _enterprise_user(caller: GatewayCaller) -> GatewayCaller:
    if caller.kind != "user":
        raise UserRequired("transforms are managed by the tenant's users")
    tiers.require(caller.tier, "transforms")
    return caller


def _out(row: TransformRow) -> TransformOut:
    return TransformOut.model_validate(row, from_attributes=True)


@router.get("/v1/gateway/transforms", response_model=TransformListOut)
async def list_transforms(caller: GatewayCallerDep, c: ContainerDep) -> TransformListOut:
    _enterprise_user(caller)
    return TransformListOut(transforms=[_out(r) for r in await c.transforms.list(caller.tenant_id)])


@router.get("/v1/gateway/transforms/{connector_id}", response_model=TransformOut)
async def get_transform(connector_id: str, caller: GatewayCallerDep, c: ContainerDep) -> TransformOut:
    _enterprise_user(caller)
    row = await c.transforms.get(caller.tenant_id, connector_id)
    if row is None:
        raise TransformNotFound()
    return _out(row)


@router.put("/v1/gateway/transforms/{connector_id}", response_model=TransformOut)
async def put_transform(
    connector_id: str, caller: GatewayCallerDep, c: ContainerDep, spec: Annotated[dict[str, Any], Body()]
) -> TransformOut:
    """Create or replace the tenant's transform for one connector (validated before it is saved)."""
    _enterprise_user(caller)
    if not 1 <= len(connector_id) <= 63:
        raise InvalidTransform("connector ids have 1 to 63 characters")
    return _out(await c.transforms.put(caller.tenant_id, connector_id, spec, caller.subject))


@router.delete("/v1/gateway/transforms/{connector_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_transform(connector_id: str, caller: GatewayCallerDep, c: ContainerDep) -> Response:
    _enterprise_user(caller)
    if not await c.transforms.delete(caller.tenant_id, connector_id):
        raise TransformNotFound()
    return Response(status_code=status.HTTP_204_NO_CONTENT)
