"""domain/headers.py: what goes upstream, what comes back, X-Forwarded-*."""

from __future__ import annotations

import pytest

from hub_common.settings import HubSettings
from hub_common.testing.service_keys import service_key_settings
from hub_gateway.domain.headers import forwarded_headers, request_headers, response_headers

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
