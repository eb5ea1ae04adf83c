"""Admin routes: ``GET /v1/connections/{id}/rate-limit`` and ``/v1/gateway/transforms``."""

from __future__ import annotations

import math
import time
from datetime import UTC, datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Body, Depends, Request, Response, status

from hub_gateway.api.callers import CallerAuth
from hub_gateway.api.schemas import (
    ConnectionUsageOut,
    ProviderBlockOut,
    ProviderBudgetOut,
    QuotaBucketOut,
    RateLimitStatusOut,
    TokenTotalsOut,
    TransformListOut,
    TransformOut,
)
from hub_gateway.domain import tiers
from hub_gateway.domain.errors import InvalidTransform, PluginScope, TransformNotFound, UserRequired
from hub_gateway.inject import Container
from hub_gateway.repositories import rate_limits, token_usage
from hub_gateway.services.proxy import Caller

router = APIRouter(tags=["gateway"])


# ``async def`` on purpose: FastAPI runs a plain ``def`` dependency on a worker thread.
async def _container(request: Request) -> Container:
    container: Container = request.app.state.container
    return container


async def _caller(request: Request) -> Caller:
    auth: CallerAuth = request.app.state.caller_auth
    h = request.headers
    caller = auth.caller(h.get("authorization"), h.get("x-hub-tenant"), h.get("x-hub-tier"))
    if caller.connection_id is not None:
        raise PluginScope("a plugin token is good for the proxy route of its connection only")
    return caller


ContainerDep = Annotated[Container, Depends(_container)]
CallerDep = Annotated[Caller, Depends(_caller)]


def _at(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


@router.get("/v1/connections/{connection_id}/rate-limit", response_model=RateLimitStatusOut)
async def rate_limit_status(connection_id: UUID, caller: CallerDep, c: ContainerDep) -> RateLimitStatusOut:
    target = await c.resolver.describe(connection_id, caller.tenant_id)
    quotas = c.proxy.quotas_for(caller.tier)
    buckets = await c.limiter.status(target.tenant_id, str(target.id), quotas)
    now = time.time()
    gateway = [
        QuotaBucketOut(
            scope=scope,
            limit=q.burst,
            rate_per_s=q.rate,
            remaining=max(0, b.remaining),
            reset_at=_at(now + b.reset_us / 1e6),
        )
        for scope, q, b in zip(
            ("connection", "tenant"), (quotas.connection, quotas.tenant), buckets, strict=True
        )
    ]
    stored = {
        r["api_name"]: r for r in await rate_limits.for_connection(c.infra.pool, target.tenant_id, target.id)
    }
    for snap in c.snapshots.pending_for(target.id):  # newer than the last flush
        stored[snap.limit.api_name] = {
            "api_name": snap.limit.api_name,
            "requests_limit": snap.limit.limit,
            "requests_remaining": snap.limit.remaining,
            "reset_at": _at(snap.limit.reset_at) if snap.limit.reset_at else None,
            "updated_at": _at(snap.observed_at),
        }
    provider = [
        ProviderBudgetOut(
            api_name=r["api_name"],
            limit=r["requests_limit"],
            remaining=r["requests_remaining"],
            reset_at=r["reset_at"],
            updated_at=r["updated_at"],
        )
        for r in sorted(stored.values(), key=lambda r: r["api_name"])
    ]
    blocks = c.budgets.active(target.id)
    limiting = [b for b in gateway if b.remaining == 0]
    remaining_values = [b.remaining for b in gateway] + [
        p.remaining for p in provider if p.remaining is not None
    ]
    tightest = min(gateway, key=lambda b: b.remaining)
    retry = None
    if blocks:
        retry = math.ceil(max(b.until for b in blocks) - now)
    elif limiting:
        retry = max(1, math.ceil(min(b.reset_at.timestamp() for b in limiting) - now))
    return RateLimitStatusOut(
        connection_id=target.id,
        connector_id=target.connector_id,
        requests_limit=tightest.limit,
        requests_remaining=0 if blocks else min(remaining_values),
        reset_at=_at(max(b.until for b in blocks)) if blocks else tightest.reset_at,
        is_limited=bool(blocks or limiting),
        retry_after_s=retry,
        gateway=gateway,
        provider=provider,
        provider_blocks=[
            ProviderBlockOut(scope=b.scope, until=_at(b.until), path_prefix=b.path_prefix) for b in blocks
        ],
    )


@router.get("/v1/connections/{connection_id}/usage", response_model=ConnectionUsageOut)
async def usage_status(connection_id: UUID, caller: CallerDep, c: ContainerDep) -> ConnectionUsageOut:
    """Tokens the provider reported for this connection (streamed answers included) and for the
    tenant's connections of the same connector; this replica's unflushed counts are added (other
    replicas' are at most a flush interval behind)."""
    target = await c.resolver.describe(connection_id, caller.tenant_id)
    row = await token_usage.for_connection(c.infra.pool, target.tenant_id, target.id)
    tenant = await token_usage.for_tenant(c.infra.pool, target.tenant_id, target.connector_id)
    mine = {"input_tokens": 0, "output_tokens": 0, "responses": 0}
    if row is not None:
        mine.update({k: row[k] for k in mine})
    pending = c.usage.pending_for(target.id)
    if pending is not None:
        for totals in (mine, tenant):
            totals["input_tokens"] += pending.input_tokens
            totals["output_tokens"] += pending.output_tokens
            totals["responses"] += pending.responses
    return ConnectionUsageOut(
        connection_id=target.id,
        connector_id=target.connector_id,
        metered=target.usage_format is not None,
        connection=TokenTotalsOut(**mine),
        tenant=TokenTotalsOut(**{k: int(tenant[k]) for k in mine}),
        first_at=row["first_at"] if row else None,
        updated_at=row["updated_at"] if row else None,
    )


def _enterprise_user(caller: Caller) -> Caller:
    if caller.kind != "user":
        raise UserRequired("transforms are managed by the tenant's users")
    tiers.require(caller.tier, "transforms")
    return caller


def _out(row: dict[str, Any]) -> TransformOut:
    return TransformOut(**row)


@router.get("/v1/gateway/transforms", response_model=TransformListOut)
async def list_transforms(caller: CallerDep, c: ContainerDep) -> TransformListOut:
    _enterprise_user(caller)
    return TransformListOut(transforms=[_out(r) for r in await c.transforms.list(caller.tenant_id)])


@router.get("/v1/gateway/transforms/{connector_id}", response_model=TransformOut)
async def get_transform(connector_id: str, caller: CallerDep, c: ContainerDep) -> TransformOut:
    _enterprise_user(caller)
    row = await c.transforms.get(caller.tenant_id, connector_id)
    if row is None:
        raise TransformNotFound()
    return _out(row)


@router.put("/v1/gateway/transforms/{connector_id}", response_model=TransformOut)
async def put_transform(
    connector_id: str, caller: CallerDep, c: ContainerDep, spec: Annotated[dict[str, Any], Body()]
) -> TransformOut:
    """Create or replace the tenant's transform for one connector (validated before it is saved)."""
    _enterprise_user(caller)
    if not 1 <= len(connector_id) <= 63:
        raise InvalidTransform("connector ids have 1 to 63 characters")
    return _out(await c.transforms.put(caller.tenant_id, connector_id, spec, caller.subject))


@router.delete("/v1/gateway/transforms/{connector_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_transform(connector_id: str, caller: CallerDep, c: ContainerDep) -> Response:
    _enterprise_user(caller)
    if not await c.transforms.delete(caller.tenant_id, connector_id):
        raise TransformNotFound()
    return Response(status_code=status.HTTP_204_NO_CONTENT)
