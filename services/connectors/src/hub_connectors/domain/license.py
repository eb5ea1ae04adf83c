"""License tiers: the rules live in :mod:`hub_common.license` (the gateway applies them too)."""

from hub_common.license import (
    TIERS,
    Feature,
    GatewayAccess,
    LicenseRefused,
    TierPolicy,
    policy_for,
    require_connection_slot,
    require_feature,
    tier_allowing_connections,
    tier_allowing_feature,
)

__all__ = [
    "TIERS",
    "Feature",
    "GatewayAccess",
    "LicenseRefused",
    "TierPolicy",
    "policy_for",
    "require_connection_slot",
    "require_feature",
    "tier_allowing_connections",
    "tier_allowing_feature",
]
