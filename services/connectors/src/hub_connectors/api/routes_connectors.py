"""``/v1/connectors``: the catalogue of connectors this hub hosts."""

from __future__ import annotations

from fastapi import APIRouter, Query

from hub_connectors.api.deps import CallerDep, ContainerDep
from hub_connectors.api.schemas import ConnectorList, ConnectorOut, LoadProblemOut
from hub_connectors.domain.errors import ConnectorNotFound

router = APIRouter(prefix="/v1/connectors", tags=["connectors"])


@router.get("", response_model=ConnectorList)
async def list_connectors(
    caller: CallerDep,
    container: ContainerDep,
    include_errors: bool = Query(False, description="also list connectors that failed to load"),
) -> ConnectorList:
    registry = container.registry
    return ConnectorList(
        connectors=[ConnectorOut.of(r, caller) for r in registry.all()],
        load_errors=[LoadProblemOut.of(p) for p in registry.problems] if include_errors else None,
    )


@router.get("/{connector_id}", response_model=ConnectorOut)
async def get_connector(connector_id: str, caller: CallerDep, container: ContainerDep) -> ConnectorOut:
    registered = container.registry.get(connector_id)
    if registered is None:
        raise ConnectorNotFound(f"no connector {connector_id!r}")
    return ConnectorOut.of(registered, caller)
