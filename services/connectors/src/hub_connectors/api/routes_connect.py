"""``POST /v1/connect/sessions``: a short-lived link a product gives its end user to connect an
account without a hub login (docs/adr/0029)."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from fastapi import APIRouter, Request, status
from pydantic import BaseModel, ConfigDict, Field

from hub_connectors.api.deps import CallerDep, ContainerDep

router = APIRouter(prefix="/v1/connect", tags=["connect"])


class EndUser(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str = Field(min_length=1, max_length=256)
    email: str | None = Field(default=None, max_length=320)


class ConnectSessionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    end_user: EndUser
    allowed_connectors: list[str] = Field(
        default_factory=list, max_length=50, description="empty: every connector of this hub"
    )
    return_to: str | None = Field(
        default=None, max_length=2048, pattern=r"^https?://", description="the 'Back to the app' link"
    )


class ConnectSessionOut(BaseModel):
    id: UUID
    token: str = Field(description="one-time; opening connect_url consumes it")
    connect_url: str
    expires_at: datetime


@router.post("/sessions", response_model=ConnectSessionOut, status_code=status.HTTP_201_CREATED)
async def create_connect_session(
    body: ConnectSessionIn, request: Request, caller: CallerDep, container: ContainerDep
) -> ConnectSessionOut:
    """The end user's connections are made as the caller (its tenant and tier) and tagged with
    ``end_user.id``."""
    created = await container.ui_sessions.create_connect(
        caller,
        end_user_id=body.end_user.id,
        end_user_email=body.end_user.email,
        allowed_connectors=body.allowed_connectors,
        return_to=body.return_to,
    )
    base = container.settings.connectors_public_url or str(request.base_url).rstrip("/")
    return ConnectSessionOut(
        id=created.id,
        token=created.token,
        connect_url=f"{base.rstrip('/')}/ui/connect?token={created.token}",
        expires_at=created.expires_at,
    )
