"""What the gateway can say about one connection without calling anybody: its rate-limit
status (the hub's two buckets, the provider's last reported budgets, active provider blocks)
and its metered token usage. The admin routes are one call each into here."""

from __future__ import annotations

import math
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from hub_common.db import Database
from hub_common.web.auth import Tier
from hub_gateway.domain.tiers import TierQuotas
from hub_gateway.repositories import rate_limits, token_usage
from hub_gateway.repositories.rate_limits import RateLimitRow
from hub_gateway.repositories.token_usage import TokenTotals
from hub_gateway.services.limiter import QuotaLimiter
from hub_gateway.services.provider_budget import ProviderBudgets, SnapshotWriter
from hub_gateway.services.resolver import Resolver
from hub_gateway.services.usage import UsageMeter


@dataclass(frozen=True, slots=True)
class QuotaBucket:
    scope: str
    limit: int
    rate_per_s: float
    remaining: int
    reset_at: datetime


@dataclass(frozen=True, slots=True)
class ProviderBudget:
    api_name: str
    limit: int | None
    remaining: int | None
    reset_at: datetime | None
    updated_at: datetime | None


@dataclass(frozen=True, slots=True)
class ProviderBlock:
    scope: str
    until: datetime
    path_prefix: str | None


@dataclass(frozen=True, slots=True)
class RateLimitReport:
    connection_id: uuid.UUID
    connector_id: str
    requests_limit: int | None
    requests_remaining: int | None
    reset_at: datetime | None
    is_limited: bool
    retry_after_s: int | None
    gateway: list[QuotaBucket]
    provider: list[ProviderBudget]
    provider_blocks: list[ProviderBlock] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class UsageReport:
    connection_id: uuid.UUID
    connector_id: str
    metered: bool
    connection: TokenTotals
    tenant: TokenTotals
    first_at: datetime | None
    updated_at: datetime | None


def _at(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def _plus(totals: TokenTotals, input_tokens: int, output_tokens: int, responses: int) -> TokenTotals:
    return TokenTotals(
        totals.input_tokens + input_tokens, totals.output_tokens + output_tokens, totals.responses + responses
    )


class ConnectionStatus:
    def __init__(
        self,
        db: Database,
        *,
        resolver: Resolver,
        quotas_for: Callable[[Tier], TierQuotas],
        limiter: QuotaLimiter,
        snapshots: SnapshotWriter,
        budgets: ProviderBudgets,
        usage: UsageMeter,
    ) -> None:
        self._db = db
        self._resolver = resolver
        self._quotas_for = quotas_for
        self._limiter = limiter
        self._snapshots = snapshots
        self._budgets = budgets
        self._usage = usage

    async def rate_limit(self, connection_id: uuid.UUID, tenant_id: str, tier: Tier) -> RateLimitReport:
        target = await self._resolver.describe(connection_id, tenant_id)
        quotas = self._quotas_for(tier)
        buckets = await self._limiter.status(target.tenant_id, str(target.id), quotas)
        now = time.time()
        gateway = [
            QuotaBucket(scope, q.burst, q.rate, max(0, b.remaining), _at(now + b.reset_us / 1e6))
            for scope, q, b in zip(
                ("connection", "tenant"), (quotas.connection, quotas.tenant), buckets, strict=True
            )
        ]
        async with self._db.connection() as conn:
            rows = await rate_limits.for_connection(conn, target.tenant_id, target.id)
        stored: dict[str, RateLimitRow] = {r.api_name: r for r in rows}
        for snap in self._snapshots.pending_for(target.id):  # newer than the last flush
            stored[snap.limit.api_name] = RateLimitRow(
                api_name=snap.limit.api_name,
                requests_limit=snap.limit.limit,
                requests_remaining=snap.limit.remaining,
                reset_at=_at(snap.limit.reset_at) if snap.limit.reset_at else None,
                updated_at=_at(snap.observed_at),
            )
        provider = [
            ProviderBudget(r.api_name, r.requests_limit, r.requests_remaining, r.reset_at, r.updated_at)
            for r in sorted(stored.values(), key=lambda r: r.api_name)
        ]
        blocks = self._budgets.active(target.id)
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
        return RateLimitReport(
            connection_id=target.id,
            connector_id=target.connector_id,
            requests_limit=tightest.limit,
            requests_remaining=0 if blocks else min(remaining_values),
            reset_at=_at(max(b.until for b in blocks)) if blocks else tightest.reset_at,
            is_limited=bool(blocks or limiting),
            retry_after_s=retry,
            gateway=gateway,
            provider=provider,
            provider_blocks=[ProviderBlock(b.scope, _at(b.until), b.path_prefix) for b in blocks],
        )

    async def usage(self, connection_id: uuid.UUID, tenant_id: str) -> UsageReport:
        """Tokens the provider reported for this connection (streamed answers included) and for
        the tenant's connections of the same connector; this replica's unflushed counts are added
        (other replicas' are at most a flush interval behind)."""
        target = await self._resolver.describe(connection_id, tenant_id)
        async with self._db.connection() as conn:
            row = await token_usage.for_connection(conn, target.tenant_id, target.id)
            tenant = await token_usage.for_tenant(conn, target.tenant_id, target.connector_id)
        mine = row.totals if row is not None else TokenTotals()
        pending = self._usage.pending_for(target.id)
        if pending is not None:
            mine = _plus(mine, pending.input_tokens, pending.output_tokens, pending.responses)
            tenant = _plus(tenant, pending.input_tokens, pending.output_tokens, pending.responses)
        return UsageReport(
            connection_id=target.id,
            connector_id=target.connector_id,
            metered=target.usage_format is not None,
            connection=mine,
            tenant=tenant,
            first_at=row.first_at if row else None,
            updated_at=row.updated_at if row else None,
        )
