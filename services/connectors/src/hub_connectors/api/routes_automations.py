"""``/v1/automations`` (CRUD, preview) and ``/v1/automations/{id}/runs`` (CONTRACT, docs/adr/0029)."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Response, status

from hub_common.pagination import Cursor
from hub_connectors.api.deps import CallerDep, ContainerDep
from hub_connectors.api.schemas_automations import (
    AutomationIn,
    AutomationList,
    AutomationOut,
    EnabledIn,
    PreviewIn,
    PreviewOut,
    RunList,
    RunOut,
)
from hub_connectors.domain.errors import AutomationNotFound

router = APIRouter(prefix="/v1/automations", tags=["automations"])


async def _automation_id(automation_id: str) -> UUID:
    try:
        return UUID(automation_id)
    except ValueError:
        raise AutomationNotFound() from None


AutomationIdDep = Annotated[UUID, Depends(_automation_id)]


@router.post("", response_model=AutomationOut, status_code=status.HTTP_201_CREATED)
async def create_automation(body: AutomationIn, caller: CallerDep, container: ContainerDep) -> AutomationOut:
    """Checked before it is saved (422 ``invalid_automation`` with ``details.errors``). A webhook
    trigger gets a registration at the webhooks service if none covers it (``webhook_registration``;
    a manual one made now carries its secret, shown once, and the steps)."""
    created = await container.automations.create(caller, body.spec(), sample_payload=body.sample_payload)
    return AutomationOut.of(created.automation, created.webhook)


@router.get("", response_model=AutomationList)
async def list_automations(caller: CallerDep, container: ContainerDep) -> AutomationList:
    found = await container.automations.list_all(caller)
    return AutomationList(automations=[AutomationOut.of(a) for a in found])


@router.post("/preview", response_model=PreviewOut)
async def preview(body: PreviewIn, caller: CallerDep, container: ContainerDep) -> PreviewOut:
    """The parameters an automation would send for ``sample_payload``, and what is wrong."""
    shown = await container.automations.preview(caller, body.spec(), body.sample_payload)
    return PreviewOut(valid=not shown.errors, parameters=shown.parameters, errors=shown.errors)


@router.get("/{automation_id}", response_model=AutomationOut)
async def get_automation(
    automation_id: AutomationIdDep, caller: CallerDep, container: ContainerDep
) -> AutomationOut:
    return AutomationOut.of(await container.automations.get(caller, automation_id))


@router.put("/{automation_id}", response_model=AutomationOut)
async def replace_automation(
    automation_id: AutomationIdDep, body: AutomationIn, caller: CallerDep, container: ContainerDep
) -> AutomationOut:
    changed = await container.automations.replace(
        caller, automation_id, body.spec(), sample_payload=body.sample_payload
    )
    return AutomationOut.of(changed.automation, changed.webhook)


@router.patch("/{automation_id}", response_model=AutomationOut)
async def enable_automation(
    automation_id: AutomationIdDep, body: EnabledIn, caller: CallerDep, container: ContainerDep
) -> AutomationOut:
    return AutomationOut.of(await container.automations.set_enabled(caller, automation_id, body.enabled))


@router.delete("/{automation_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_automation(
    automation_id: AutomationIdDep, caller: CallerDep, container: ContainerDep
) -> Response:
    await container.automations.delete(caller, automation_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/{automation_id}/runs", response_model=RunList)
async def list_runs(
    automation_id: AutomationIdDep,
    caller: CallerDep,
    container: ContainerDep,
    limit: int = Query(50, ge=1, le=200),
    cursor: str | None = Query(None, max_length=200),
) -> RunList:
    """Newest first, with each run's rendered parameters and result; ``next_cursor`` pages on."""
    before = Cursor.decode(cursor) if cursor else None
    runs = await container.automations.runs(
        caller, automation_id, limit=limit, before=(before.created_at, before.id) if before else None
    )
    next_cursor = Cursor(runs[-1].started_at, runs[-1].id).encode() if len(runs) == limit else None
    return RunList(runs=[RunOut.of(r) for r in runs], next_cursor=next_cursor)
