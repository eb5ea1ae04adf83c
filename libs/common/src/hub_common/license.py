"""License tiers (docs/architecture.md §5) as data, and the questions asked of them.

Shared by every service that gates on the tier: connectors (connections, custom connectors,
audit) and the gateway (custom connectors at ``/v1/proxy``), so that one rule holds everywhere.

| tier       | connections | webhooks | custom connectors | gateway       | audit log |
|------------|-------------|----------|-------------------|---------------|-----------|
| core       | 2           | no       | no                | none          | none      |
| writerpro  | 5           | yes      | no                | basic         | 30 days   |
| teams      | unlimited   | yes      | no                | full          | 90 days   |
| enterprise | unlimited   | yes      | yes               | full + custom | unlimited |
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from hub_common.errors import Forbidden
from hub_common.web.auth import Tier


class GatewayAccess(StrEnum):
    NONE = "none"
    BASIC = "basic"
    FULL = "full"
    FULL_CUSTOM = "full_custom"


class Feature(StrEnum):
    WEBHOOKS = "webhooks"
    CUSTOM_CONNECTORS = "custom_connectors"
    GATEWAY = "gateway"
    AUDIT_LOG = "audit_log"


@dataclass(frozen=True)
class TierPolicy:
    tier: Tier
    max_connections: int | None  # None: unlimited
    webhooks: bool
    custom_connectors: bool
    gateway: GatewayAccess
    audit: bool
    audit_retention_days: int | None  # None: kept forever (when audit is on)

    def has(self, feature: Feature) -> bool:
        return {
            Feature.WEBHOOKS: self.webhooks,
            Feature.CUSTOM_CONNECTORS: self.custom_connectors,
            Feature.GATEWAY: self.gateway is not GatewayAccess.NONE,
            Feature.AUDIT_LOG: self.audit,
        }[feature]

    def features(self) -> list[str]:
        return [str(f) for f in Feature if self.has(f)]

    def remaining(self, used: int) -> int | None:
        return None if self.max_connections is None else max(0, self.max_connections - used)


# Ordered from the smallest tier up: "which tier would allow it" is the first that does.
TIERS: tuple[TierPolicy, ...] = (
    TierPolicy(Tier.CORE, 2, False, False, GatewayAccess.NONE, False, None),
    TierPolicy(Tier.WRITERPRO, 5, True, False, GatewayAccess.BASIC, True, 30),
    TierPolicy(Tier.TEAMS, None, True, False, GatewayAccess.FULL, True, 90),
    TierPolicy(Tier.ENTERPRISE, None, True, True, GatewayAccess.FULL_CUSTOM, True, None),
)
_BY_TIER = {p.tier: p for p in TIERS}


def policy_for(tier: Tier | str) -> TierPolicy:
    return _BY_TIER[Tier(tier)]


def tier_allowing_feature(feature: Feature) -> Tier:
    return next(p.tier for p in TIERS if p.has(feature))


def tier_allowing_connections(count: int) -> Tier | None:
    """The smallest tier that allows ``count`` connections at once."""
    return next((p.tier for p in TIERS if p.max_connections is None or p.max_connections >= count), None)


class LicenseRefused(Forbidden):
    """A refused request says which tier would allow it."""

    def __init__(self, message: str, *, code: str, current: Tier, required: Tier | None, **extra: Any):
        details: dict[str, Any] = {
            "current_tier": str(current),
            "required_tier": str(required) if required else None,
            **extra,
        }
        super().__init__(message, code=code, details=details)


def require_feature(tier: Tier | str, feature: Feature) -> None:
    policy = policy_for(tier)
    if not policy.has(feature):
        required = tier_allowing_feature(feature)
        raise LicenseRefused(
            f"{feature} is not part of the {policy.tier} tier; it needs {required}",
            code="feature_not_in_tier",
            current=policy.tier,
            required=required,
            feature=str(feature),
        )


def require_connection_slot(tier: Tier | str, used: int) -> None:
    """Raise when one more connection would exceed the tier's limit."""
    policy = policy_for(tier)
    if policy.max_connections is not None and used >= policy.max_connections:
        required = tier_allowing_connections(used + 1)
        raise LicenseRefused(
            f"the {policy.tier} tier allows {policy.max_connections} connections; {required} allows more",
            code="license_limit",
            current=policy.tier,
            required=required,
            limit=policy.max_connections,
            used=used,
        )
