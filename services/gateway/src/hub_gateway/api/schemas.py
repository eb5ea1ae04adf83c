"""Response bodies of the admin routes."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, Field


class QuotaBucketOut(BaseModel):
    scope: Literal["connection", "tenant"]
    limit: int = Field(description="burst: requests allowed at once")
    rate_per_s: float
    remaining: int
    reset_at: datetime = Field(description="when the bucket is full again")


class ProviderBudgetOut(BaseModel):
    api_name: str
    limit: int | None
    remaining: int | None
    reset_at: datetime | None
    updated_at: datetime | None


class ProviderBlockOut(BaseModel):
    scope: str
    until: datetime
    path_prefix: str | None


class RateLimitStatusOut(BaseModel):
    """The ``RateLimitStatus`` (services/gateway/README.md): a summary, then the hub's and the provider's."""

    connection_id: UUID
    connector_id: str
    requests_limit: int | None
    requests_remaining: int | None
    reset_at: datetime | None
    is_limited: bool
    retry_after_s: int | None
    gateway: list[QuotaBucketOut]
    provider: list[ProviderBudgetOut]
    provider_blocks: list[ProviderBlockOut]


class TransformOut(BaseModel):
    connector_id: str
    spec: dict[str, Any]
    version: int
    updated_by: str
    created_at: datetime
    updated_at: datetime


class TransformListOut(BaseModel):
    transforms: list[TransformOut]


class TokenTotalsOut(BaseModel):
    input_tokens: int
    output_tokens: int
    responses: int = Field(description="answers whose usage was metered")


class ConnectionUsageOut(BaseModel):
    """Token usage metered from the provider's answers (connectors with ``api.usage_format``)."""

    connection_id: UUID
    connector_id: str
    metered: bool = Field(description="whether this connection's connector reports token usage")
    connection: TokenTotalsOut
    tenant: TokenTotalsOut = Field(description="the tenant's connections of the same connector")
    first_at: datetime | None = None
    updated_at: datetime | None = None
