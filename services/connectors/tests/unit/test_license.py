"""License tiers (docs/architecture.md §5) and the refusals that name the tier that would allow it."""

import pytest

from hub_common.web.auth import Tier
from hub_connectors.domain.license import (
    Feature,
    GatewayAccess,
    LicenseRefused,
    policy_for,
    require_connection_slot,
    require_feature,
    tier_allowing_connections,
    tier_allowing_feature,
)

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("tier", "connections", "webhooks", "custom", "gateway", "audit", "retention"),
    [
        (Tier.CORE, 2, False, False, GatewayAccess.NONE, False, None),
        (Tier.WRITERPRO, 5, True, False, GatewayAccess.BASIC, True, 30),
        (Tier.TEAMS, None, True, False, GatewayAccess.FULL, True, 90),
        (Tier.ENTERPRISE, None, True, True, GatewayAccess.FULL_CUSTOM, True, None),
    ],
)
def test_the_tier_table(tier, connections, webhooks, custom, gateway, audit, retention):
    p = policy_for(tier)
    got = (p.max_connections, p.webhooks, p.custom_connectors, p.gateway, p.audit, p.audit_retention_days)
    assert got == (connections, webhooks, custom, gateway, audit, retention)


def test_which_tier_allows_what():
    assert tier_allowing_feature(Feature.WEBHOOKS) is Tier.WRITERPRO
    assert tier_allowing_feature(Feature.AUDIT_LOG) is Tier.WRITERPRO
    assert tier_allowing_feature(Feature.GATEWAY) is Tier.WRITERPRO
    assert tier_allowing_feature(Feature.CUSTOM_CONNECTORS) is Tier.ENTERPRISE
    assert tier_allowing_connections(2) is Tier.CORE
    assert tier_allowing_connections(3) is Tier.WRITERPRO
    assert tier_allowing_connections(6) is Tier.TEAMS


def test_remaining_connections():
    assert policy_for("core").remaining(0) == 2
    assert policy_for("core").remaining(5) == 0
    assert policy_for("teams").remaining(1000) is None


def test_the_limit_refusal_names_the_next_tier():
    require_connection_slot("writerpro", 4)
    with pytest.raises(LicenseRefused) as err:
        require_connection_slot("writerpro", 5)
    assert err.value.status_code == 403
    assert err.value.code == "license_limit"
    assert err.value.details == {"current_tier": "writerpro", "required_tier": "teams", "limit": 5, "used": 5}
    with pytest.raises(LicenseRefused) as err:
        require_connection_slot("core", 2)
    assert err.value.details["required_tier"] == "writerpro"
    require_connection_slot("enterprise", 10_000)


def test_a_missing_feature_names_the_tier_that_has_it():
    require_feature("enterprise", Feature.CUSTOM_CONNECTORS)
    with pytest.raises(LicenseRefused) as err:
        require_feature("teams", Feature.CUSTOM_CONNECTORS)
    assert err.value.code == "feature_not_in_tier"
    assert err.value.details == {
        "current_tier": "teams", "required_tier": "enterprise", "feature": "custom_connectors",
    }  # fmt: skip
    with pytest.raises(LicenseRefused) as err:
        require_feature("core", Feature.AUDIT_LOG)
    assert err.value.details["required_tier"] == "writerpro"
