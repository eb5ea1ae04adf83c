"""``/v1/connections/{id}/exports``: content exports onto ``integration.content`` (ADR 0016)."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, Query, status

from hub_connectors.api.deps import CallerDep, ConnectionIdDep, ContainerDep
from hub_connectors.api.schemas import ExportList, ExportOut, StartExport

router = APIRouter(prefix="/v1/connections", tags=["exports"])


@router.post("/{connection_id}/exports", response_model=ExportOut, status_code=status.HTTP_202_ACCEPTED)
async def start_export(
    connection_id: ConnectionIdDep, body: StartExport, caller: CallerDep, container: ContainerDep
) -> ExportOut:
    """Start exporting the connection's content (``full``, or ``incremental`` from where the last
    completed export ended). 202: a background task runs it; poll the export for progress."""
    export = await container.exports.start(caller, connection_id, body.mode)
    return ExportOut.of(export)


@router.get("/{connection_id}/exports", response_model=ExportList)
async def list_exports(
    connection_id: ConnectionIdDep,
    caller: CallerDep,
    container: ContainerDep,
    limit: int = Query(20, ge=1, le=100),
) -> ExportList:
    found = await container.exports.list(caller, connection_id, limit)
    return ExportList(exports=[ExportOut.of(e) for e in found])


@router.get("/{connection_id}/exports/{export_id}", response_model=ExportOut)
async def get_export(
    connection_id: ConnectionIdDep, export_id: UUID, caller: CallerDep, container: ContainerDep
) -> ExportOut:
    """Progress (pages, documents), the checkpointed cursor, and how it ended."""
    return ExportOut.of(await container.exports.get(caller, connection_id, export_id))


@router.delete("/{connection_id}/exports/{export_id}", response_model=ExportOut)
async def cancel_export(
    connection_id: ConnectionIdDep, export_id: UUID, caller: CallerDep, container: ContainerDep
) -> ExportOut:
    """Cancel a running export (a page being fetched is not committed); harmless when it ended."""
    return ExportOut.of(await container.exports.cancel(caller, connection_id, export_id))
