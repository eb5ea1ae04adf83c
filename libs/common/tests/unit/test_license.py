"""License tiers (docs/architecture.md §5) and the refusals that name the tier that would allow it."""

from pathlib import Path

import pytest

from hub_common.license import (
    Feature,
    GatewayAccess,
    LicenseRefused,
    policy_for,
    require_connection_slot,
    require_feature,
    tier_allowing_connections,
    tier_allowing_feature,
)
from hub_common.web.auth import Tier

pytestmark = pytest.mark.unit


DOC = Path(__file__).resolve().parents[4] / "docs" / "licensing.md"
GATEWAY = {
    "No": GatewayAccess.NONE,
    "Basic": GatewayAccess.BASIC,
    "Full": GatewayAccess.FULL,
    "Full + Custom": GatewayAccess.FULL_CUSTOM,
}


def documented_tiers() -> list[list[str]]:
    """The rows of the tier table in docs/licensing.md: the oracle, written for users."""
    lines = [line for line in DOC.read_text().splitlines() if line.startswith("| ")]
    rows = [line.strip().strip("|").split("|") for line in lines]
    cells = [[c.strip() for c in row] for row in rows]
    return [row for row in cells if row[0] not in ("Tier",)]


def test_the_documented_table_names_every_tier():
    assert [row[0].lower() for row in documented_tiers()] == [str(t) for t in Tier]


@pytest.mark.parametrize("row", documented_tiers(), ids=lambda row: row[0])
def test_the_code_holds_the_documented_tier_table(row):
    name, connections, webhooks, custom, gateway, audit = row
    p = policy_for(name.lower())
    assert p.max_connections == (None if connections == "Unlimited" else int(connections))
    assert p.webhooks is (webhooks == "Yes")
    assert p.custom_connectors is (custom == "Yes")
    assert p.gateway is GATEWAY[gateway]
    assert p.audit is (audit != "No")
    retention = {"No": None, "Unlimited": None}.get(audit, audit.removesuffix(" days"))
    assert p.audit_retention_days == (int(retention) if retention else None)


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
