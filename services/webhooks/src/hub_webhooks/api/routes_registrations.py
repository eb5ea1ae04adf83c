"""``/v1/webhooks/registrations`` (CONTRACT): create, list, read, store a secret, delete. Called
by the tenant's users, or by the connectors service for a tenant it names (its UI and
automations; ``api/deps.py``)."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Response

from hub_webhooks.api.deps import ContainerDep, RegistrationIdDep
from hub_webhooks.api.deps import RegistrationCallerDep as CallerDep
from hub_webhooks.api.schemas import (
    CreatedOut,
    CreateRegistration,
    GapFillOut,
    PutSecret,
    RegistrationList,
    RegistrationOut,
)

router = APIRouter(prefix="/v1/webhooks/registrations", tags=["webhook registrations"])


@router.post("", status_code=201, response_model=CreatedOut)
async def create_registration(
    body: CreateRegistration, caller: CallerDep, container: ContainerDep
) -> CreatedOut:
    service = container.registrations
    created = await service.create(caller, body.connection_id, body.trigger_ids, body.filter, body.mode)
    out = RegistrationOut.of(created.registration, service.url_of(created.registration), created.app_secret)
    return CreatedOut(**out.model_dump(), secret=created.secret, steps=created.steps)


@router.get("", response_model=RegistrationList)
async def list_registrations(
    caller: CallerDep,
    container: ContainerDep,
    connection_id: Annotated[UUID | None, Query()] = None,
    cursor: Annotated[str | None, Query(description="`next_cursor` of the previous page")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> RegistrationList:
    """The tenant's registrations, newest first, a page at a time."""
    service = container.registrations
    page = await service.list(caller, connection_id, limit=limit, cursor=cursor)
    found = [RegistrationOut.of(r, service.url_of(r)) for r in page.items]
    return RegistrationList(registrations=found, next_cursor=page.next_cursor)


@router.get("/{registration_id}", response_model=RegistrationOut)
async def get_registration(
    registration_id: RegistrationIdDep, caller: CallerDep, container: ContainerDep
) -> RegistrationOut:
    service = container.registrations
    found = await service.get(caller, registration_id)
    return RegistrationOut.of(found, service.url_of(found), await service.app_secret_of(found))


@router.put("/{registration_id}/secret", response_model=RegistrationOut)
async def put_secret(
    registration_id: RegistrationIdDep, body: PutSecret, caller: CallerDep, container: ContainerDep
) -> RegistrationOut:
    service = container.registrations
    updated = await service.put_secret(caller, registration_id, body.secret.get_secret_value())
    return RegistrationOut.of(updated, service.url_of(updated))


@router.delete("/{registration_id}", status_code=204)
async def delete_registration(
    registration_id: RegistrationIdDep, caller: CallerDep, container: ContainerDep
) -> Response:
    await container.registrations.delete(caller, registration_id)
    return Response(status_code=204)


@router.post("/{registration_id}/fill-gaps", response_model=GapFillOut)
async def fill_gaps(
    registration_id: RegistrationIdDep, caller: CallerDep, container: ContainerDep
) -> GapFillOut:
    """GitHub: ask for redelivery of what never reached the hub (failed deliveries of the hook)."""
    found = await container.registrations.get(caller, registration_id)
    report = await container.gap_filler.fill(found, str(caller.tier))
    return GapFillOut(listed=report.listed, missing=report.missing, requested=report.requested)
