"""License tiers (docs/architecture.md §5) as the gateway applies them, and their default quotas.

| tier       | gateway            | default quota per connection | per tenant       |
|------------|--------------------|------------------------------|------------------|
| core       | none (403)         | —                            | —                |
| writerpro  | basic              | 5 req/s, burst 20            | 10 req/s, burst 40 |
| teams      | full               | 50 req/s, burst 100          | 200 req/s, burst 400 |
| enterprise | full + transforms  | 100 req/s, burst 200         | 1000 req/s, burst 2000 |

Operators override any of these with ``HUB_GATEWAY_QUOTAS`` (JSON, merged over the defaults).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from hub_common.web.auth import Tier
from hub_gateway.domain.errors import FeatureNotInTier

GATEWAY_TIERS = (Tier.WRITERPRO, Tier.TEAMS, Tier.ENTERPRISE)
TRANSFORM_TIERS = (Tier.ENTERPRISE,)


class Quota(BaseModel):
    """A token bucket: ``burst`` requests at once, refilled at ``rate`` per second."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    rate: float = Field(gt=0, le=1_000_000)
    burst: int = Field(ge=1, le=10_000_000)

    @property
    def interval_us(self) -> int:
        """Microseconds per token (GCRA emission interval)."""
        return max(1, round(1_000_000 / self.rate))

    @property
    def window_s(self) -> float:
        """Time to refill the whole burst (the ``w`` of ``RateLimit-Policy``)."""
        return self.burst / self.rate


class TierQuotas(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    connection: Quota
    tenant: Quota


DEFAULT_QUOTAS: dict[Tier, TierQuotas] = {
    Tier.WRITERPRO: TierQuotas(connection=Quota(rate=5, burst=20), tenant=Quota(rate=10, burst=40)),
    Tier.TEAMS: TierQuotas(connection=Quota(rate=50, burst=100), tenant=Quota(rate=200, burst=400)),
    Tier.ENTERPRISE: TierQuotas(connection=Quota(rate=100, burst=200), tenant=Quota(rate=1000, burst=2000)),
}

Feature = Literal["gateway", "transforms"]


def _names(tiers: tuple[Tier, ...]) -> list[str]:
    return [str(t) for t in tiers]


def require(tier: Tier, feature: Feature) -> None:
    allowed = GATEWAY_TIERS if feature == "gateway" else TRANSFORM_TIERS
    if tier in allowed:
        return
    what = "the API gateway" if feature == "gateway" else "custom gateway transforms"
    raise FeatureNotInTier(
        f"{what} is not part of the {tier} tier; available in: {', '.join(_names(allowed))}",
        details={"tier": str(tier), "feature": feature, "available_in": _names(allowed)},
    )


def merged_quotas(overrides: dict[str, dict[str, dict[str, float]]]) -> dict[Tier, TierQuotas]:
    """Defaults with operator overrides, e.g. ``{"teams": {"connection": {"rate": 1, "burst": 5}}}``."""
    result = dict(DEFAULT_QUOTAS)
    for tier_name, scopes in overrides.items():
        tier = Tier(tier_name)
        base = result.get(tier, DEFAULT_QUOTAS[Tier.TEAMS])
        result[tier] = TierQuotas(
            connection=Quota.model_validate({**base.connection.model_dump(), **scopes.get("connection", {})}),
            tenant=Quota.model_validate({**base.tenant.model_dump(), **scopes.get("tenant", {})}),
        )
    return result
