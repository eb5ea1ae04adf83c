"""``/v1/webhooks/deliveries`` (docs/adr/0020): the log of every attempt, replay of one delivery
or of a time range, and redrive of dead letters."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Query

from hub_webhooks.api.deps import CallerDep, ContainerDep
from hub_webhooks.api.schemas_delivery import DeliveryList, Redrive, Replayed, ReplayRange
from hub_webhooks.services.delivery_log import DeliveryNotFound

router = APIRouter(prefix="/v1/webhooks/deliveries", tags=["webhook deliveries"])


async def _delivery_id(delivery_id: str) -> UUID:
    try:
        return UUID(delivery_id)
    except ValueError:
        raise DeliveryNotFound() from None


DeliveryIdDep = Annotated[UUID, Depends(_delivery_id)]


@router.get("", response_model=DeliveryList)
async def list_deliveries(
    caller: CallerDep,
    container: ContainerDep,
    subscription_id: UUID | None = None,
    connection_id: UUID | None = None,
    status: Annotated[str | None, Query(description="pending | delivered | dead | cancelled")] = None,
    since: datetime | None = None,
    until: datetime | None = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> dict[str, Any]:
    return await container.delivery_log.search(
        caller,
        subscription_id=subscription_id,
        connection_id=connection_id,
        status=status,
        since=since,
        until=until,
        cursor=cursor,
        limit=limit,
    )


@router.post("/replay", response_model=Replayed)
async def replay_range(body: ReplayRange, caller: CallerDep, container: ContainerDep) -> dict[str, Any]:
    return await container.delivery_log.replay_range(
        caller, subscription_id=body.subscription_id, since=body.since, until=body.until, dead_only=False
    )


@router.post("/redrive", response_model=Replayed)
async def redrive(body: Redrive, caller: CallerDep, container: ContainerDep) -> dict[str, Any]:
    return await container.delivery_log.replay_range(
        caller,
        subscription_id=body.subscription_id,
        since=body.since or datetime(1970, 1, 1).astimezone(),
        until=body.until,
        dead_only=True,
    )


@router.get("/{delivery_id}")
async def get_delivery(
    delivery_id: DeliveryIdDep, caller: CallerDep, container: ContainerDep
) -> dict[str, Any]:
    return await container.delivery_log.get(caller, delivery_id)


@router.post("/{delivery_id}/replay", response_model=Replayed)
async def replay(delivery_id: DeliveryIdDep, caller: CallerDep, container: ContainerDep) -> dict[str, Any]:
    return await container.delivery_log.replay(caller, delivery_id)
