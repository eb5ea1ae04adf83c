"""domain/tiers.py: which tiers may use the gateway and its features; quotas."""

from __future__ import annotations

import pytest

from hub_common.settings import HubSettings
from hub_common.testing.service_keys import service_key_settings
from hub_common.web.auth import Tier
from hub_gateway.domain.errors import FeatureNotInTier
from hub_gateway.domain.tiers import DEFAULT_QUOTAS, merged_quotas, require

pytestmark = pytest.mark.unit
SETTINGS = HubSettings(environment="test", **service_key_settings("gateway"))


def test_tiers():
    for tier in (Tier.WRITERPRO, Tier.TEAMS, Tier.ENTERPRISE):
        require(tier, "gateway")
    with pytest.raises(FeatureNotInTier) as err:
        require(Tier.CORE, "gateway")
    assert "writerpro, teams, enterprise" in err.value.message
    with pytest.raises(FeatureNotInTier):
        require(Tier.TEAMS, "transforms")
    assert DEFAULT_QUOTAS[Tier.WRITERPRO].connection.rate < DEFAULT_QUOTAS[Tier.TEAMS].connection.rate
    merged = merged_quotas({"teams": {"connection": {"rate": 1}}})
    assert merged[Tier.TEAMS].connection.rate == 1 and merged[Tier.TEAMS].connection.burst == 100
    assert merged[Tier.TEAMS].connection.interval_us == 1_000_000
