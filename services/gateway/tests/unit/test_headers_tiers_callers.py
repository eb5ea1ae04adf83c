from __future__ import annotations

import pytest

from hub_common.errors import Unauthorized
from hub_common.settings import HubSettings
from hub_common.testing.service_keys import service_key_settings, service_minter
from hub_common.web.auth import Authenticator, Tier, mint_user_token
from hub_gateway.api.callers import CallerAuth
from hub_gateway.domain.errors import FeatureNotInTier, ServiceNotAllowed, TenantRequired
from hub_gateway.domain.headers import forwarded_headers, request_headers, response_headers
from hub_gateway.domain.tiers import DEFAULT_QUOTAS, merged_quotas, require

pytestmark = pytest.mark.unit
SETTINGS = HubSettings(environment="test", **service_key_settings("gateway"))


def test_request_headers():
    raw = [
        (b"host", b"gw"),
        (b"authorization", b"Bearer user"),
        (b"connection", b"keep-alive, x-a"),
        (b"x-a", b"1"),
        (b"te", b"trailers"),
        (b"x-hub-tenant", b"t"),
        (b"cookie", b"c"),
        (b"x-forwarded-for", b"1.2.3.4"),
        (b"x-forwarded-prefix", b"/admin"),
        (b"x-forwarded-ssl", b"on"),
        (b"x-original-url", b"/admin"),
        (b"true-client-ip", b"10.0.0.1"),
        (b"cf-connecting-ip", b"10.0.0.1"),
        (b"via", b"1.1 somewhere"),
        (b"content-length", b"3"),
        (b"accept", b"*/*"),
        (b"x-api-key", b"caller"),
        (b"traceparent", b"00-x"),
        (b"x-keep", b"yes"),
    ]
    assert request_headers(raw, also_drop=[b"x-api-key"]) == [("accept", "*/*"), ("x-keep", "yes")]


def test_response_headers_keep_length_drop_hops():
    raw = [
        (b"Content-Length", b"2"),
        (b"Connection", b"close, X-Hop"),
        (b"X-Hop", b"1"),
        (b"Transfer-Encoding", b"chunked"),
        (b"X-RateLimit-Remaining", b"1"),
    ]
    assert response_headers(raw) == [(b"content-length", b"2"), (b"x-ratelimit-remaining", b"1")]
    plain = [(b"Connection", b"keep-alive"), (b"Server", b"nginx"), (b"Keep-Alive", b"timeout=5")]
    assert response_headers(plain) == [(b"server", b"nginx")]


def test_provider_cookies_never_reach_the_caller():
    raw = [(b"Set-Cookie", b"JSESSIONID=abc; HttpOnly"), (b"set-cookie2", b"x=1"), (b"ETag", b'"1"')]
    assert response_headers(raw) == [(b"etag", b'"1"')]


def test_an_echoed_secret_is_scrubbed_from_every_header():
    raw = [
        (b"Location", b"https://api.x.com/v2/items?key=sk_live_123456&page=2"),
        (b"Link", b'<https://api.x.com/items?key=sk_live_123456&page=3>; rel="next"'),
        (b"X-Other", b"sk%2Flive"),
    ]
    scrub = (b"sk_live_123456", b"sk%2Flive")
    assert response_headers(raw, scrub) == [
        (b"location", b"https://api.x.com/v2/items?key=[redacted]&page=2"),
        (b"link", b'<https://api.x.com/items?key=[redacted]&page=3>; rel="next"'),
        (b"x-other", b"[redacted]"),
    ]


def test_forwarded():
    assert forwarded_headers("10.0.0.1", "https", "gw:8080") == [
        ("x-forwarded-proto", "https"),
        ("x-forwarded-for", "10.0.0.1"),
        ("x-forwarded-host", "gw:8080"),
    ]
    assert forwarded_headers(None, "http", None) == [("x-forwarded-proto", "http")]


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
