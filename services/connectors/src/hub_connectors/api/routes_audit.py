"""``GET /v1/audit``: the tenant's audit log, newest first, keyset-paginated."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from fastapi import APIRouter, Query

from hub_connectors.api.deps import CallerDep, ContainerDep
from hub_connectors.api.schemas import AuditEntryOut, AuditPageOut
from hub_connectors.domain.errors import ConnectionNotFound

router = APIRouter(prefix="/v1/audit", tags=["audit"])


@router.get("", response_model=AuditPageOut)
async def list_audit(
    caller: CallerDep,
    container: ContainerDep,
    connection_id: str | None = None,
    event_type: str | None = Query(None, max_length=100, pattern=r"^[A-Za-z0-9._\-]+$"),
    since: datetime | None = None,
    limit: int = Query(50, ge=1, le=200),
    cursor: str | None = Query(None, max_length=200),
) -> AuditPageOut:
    try:
        connection = UUID(connection_id) if connection_id else None
    except ValueError:
        raise ConnectionNotFound() from None
    page = await container.audit.query(
        caller, connection_id=connection, event_type=event_type, since=since, cursor=cursor, limit=limit
    )
    return AuditPageOut(
        entries=[AuditEntryOut.model_validate(e) for e in page.entries], next_cursor=page.next_cursor
    )
