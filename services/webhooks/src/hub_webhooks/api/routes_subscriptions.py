"""``/v1/webhooks/subscriptions`` (CONTRACT, docs/adr/0020): create, list, read, change, delete,
rotate the secret."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Response

from hub_webhooks.api.deps import CallerDep, ContainerDep
from hub_webhooks.api.schemas_delivery import (
    CreateSubscription,
    PatchSubscription,
    SubscriptionList,
    SubscriptionOut,
    SubscriptionWithSecret,
)
from hub_webhooks.services.subscriptions import SubscriptionNotFound

router = APIRouter(prefix="/v1/webhooks/subscriptions", tags=["webhook subscriptions"])


async def _subscription_id(subscription_id: str) -> UUID:
    try:
        return UUID(subscription_id)
    except ValueError:
        raise SubscriptionNotFound() from None


SubscriptionIdDep = Annotated[UUID, Depends(_subscription_id)]


@router.post("", status_code=201, response_model=SubscriptionWithSecret)
async def create_subscription(
    body: CreateSubscription, caller: CallerDep, container: ContainerDep
) -> SubscriptionWithSecret:
    created = await container.subscriptions.create(
        caller,
        url=body.url,
        event_types=body.event_types,
        trigger_ids=body.trigger_ids,
        connection_ids=body.connection_ids,
        rate_limit=body.rate_limit,
        max_concurrency=body.max_concurrency,
    )
    return SubscriptionWithSecret(
        **SubscriptionOut.of(created.subscription).model_dump(), secret=created.secret
    )


@router.get("", response_model=SubscriptionList)
async def list_subscriptions(
    caller: CallerDep,
    container: ContainerDep,
    cursor: Annotated[str | None, Query(description="`next_cursor` of the previous page")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> SubscriptionList:
    """The tenant's subscriptions, newest first, a page at a time."""
    page = await container.subscriptions.list(caller, limit=limit, cursor=cursor)
    found = [SubscriptionOut.of(s) for s in page.items]
    return SubscriptionList(subscriptions=found, next_cursor=page.next_cursor)


@router.get("/{subscription_id}", response_model=SubscriptionOut)
async def get_subscription(
    subscription_id: SubscriptionIdDep, caller: CallerDep, container: ContainerDep
) -> SubscriptionOut:
    return SubscriptionOut.of(await container.subscriptions.get(caller, subscription_id))


@router.patch("/{subscription_id}", response_model=SubscriptionOut)
async def patch_subscription(
    subscription_id: SubscriptionIdDep, body: PatchSubscription, caller: CallerDep, container: ContainerDep
) -> SubscriptionOut:
    changes = body.model_dump(exclude_unset=True)
    updated = await container.subscriptions.update(caller, subscription_id, changes)
    if changes.get("status") == "active":
        container.dispatcher.wake()
    return SubscriptionOut.of(updated)


@router.delete("/{subscription_id}", status_code=204)
async def delete_subscription(
    subscription_id: SubscriptionIdDep, caller: CallerDep, container: ContainerDep
) -> Response:
    await container.subscriptions.delete(caller, subscription_id)
    return Response(status_code=204)


@router.post("/{subscription_id}/rotate-secret", response_model=SubscriptionWithSecret)
async def rotate_secret(
    subscription_id: SubscriptionIdDep, caller: CallerDep, container: ContainerDep
) -> SubscriptionWithSecret:
    rotated = await container.subscriptions.rotate_secret(caller, subscription_id)
    return SubscriptionWithSecret(
        **SubscriptionOut.of(rotated.subscription).model_dump(), secret=rotated.secret
    )
