"""api/callers.py: users, services and plugins as the gateway verifies them."""

from __future__ import annotations

import pytest

from hub_common.errors import Unauthorized
from hub_common.settings import HubSettings
from hub_common.testing.service_keys import service_key_settings, service_minter
from hub_common.web.auth import Authenticator, Tier, mint_user_token
from hub_gateway.api.callers import CallerAuth
from hub_gateway.domain.errors import FeatureNotInTier, ServiceNotAllowed, TenantRequired

pytestmark = pytest.mark.unit
SETTINGS = HubSettings(environment="test", **service_key_settings("gateway"))


def auth() -> CallerAuth:
    return CallerAuth(
        Authenticator(SETTINGS), trusted_services=frozenset({"connectors"}), service_default_tier=Tier.TEAMS
    )


def service(name: str) -> str:
    return "Bearer " + service_minter(name).token_for("gateway")


def test_callers():
    a = auth()
    user = "Bearer " + mint_user_token(SETTINGS, tenant="t1", user="u1", tier="enterprise")
    caller = a.caller(user, "ignored-for-users", None)
    assert (caller.kind, caller.tenant_id, caller.tier) == ("user", "t1", Tier.ENTERPRISE)
    verified = 0
    verify_any = a._auth.verify_any

    def counted(*args, **kwargs):
        nonlocal verified
        verified += 1
        return verify_any(*args, **kwargs)

    a._auth.verify_any = counted  # type: ignore[method-assign]
    for _ in range(1000):
        assert a.caller(user, None, None).tenant_id == "t1"
    assert verified == 0  # verified once, when first seen, then answered from the cache
    svc = a.caller(service("connectors"), "t2", "writerpro")
    assert (svc.kind, svc.tenant_id, svc.tier) == ("service", "t2", Tier.WRITERPRO)
    assert a.caller(service("connectors"), "t2", "bogus").tier is Tier.TEAMS
    with pytest.raises(TenantRequired):
        a.caller(service("connectors"), None, None)
    with pytest.raises(ServiceNotAllowed):
        a.caller(service("webhooks"), "t2", None)
    with pytest.raises(FeatureNotInTier):
        a.caller("Bearer " + mint_user_token(SETTINGS, tenant="t1", user="u", tier="core"), None, None)
    with pytest.raises(Unauthorized):
        a.caller(None, None, None)
    with pytest.raises(Unauthorized):
        a.caller("Basic abc", None, None)
