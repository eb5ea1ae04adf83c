"""``POST /webhooks/{connector_id}[/{registration_id}]``: where providers deliver.

The raw body is read (the body-limit middleware has already refused more than 1 MiB) and handed
to the intake untouched: verification runs on the exact bytes, before anything parses them.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from hub_webhooks.api.deps import ContainerDep

router = APIRouter(tags=["webhook intake"])


def _remote(request: Request) -> str | None:
    return request.client.host if request.client else None


@router.post("/webhooks/{connector_id}/{registration_id}")
async def receive(connector_id: str, registration_id: str, request: Request, container: ContainerDep) -> Any:
    body = await request.body()
    return await container.intake.receive(
        connector_id, registration_id, request.scope["headers"], body, _remote(request)
    )


@router.post("/webhooks/{connector_id}")
async def receive_per_app(connector_id: str, request: Request, container: ContainerDep) -> Any:
    """One URL per app (Slack): the payload's workspace/account id picks the registration."""
    body = await request.body()
    return await container.intake.receive(
        connector_id, None, request.scope["headers"], body, _remote(request)
    )
