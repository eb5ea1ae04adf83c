"""The one host-pattern matcher (hub_connector_sdk.hosts): every semantics in one table.

Callers: declared hosts (connectors service base-URL checks, gateway per request, test kit) use
``matches_pattern``; the operator allow-list (``hub_common.ssrf``, the connectors service's
internal-host check) uses ``matches_pattern_or_apex``."""

import pytest

from hub_connector_sdk.hosts import (
    HostPattern,
    is_domain_or_subdomain_of,
    is_subdomain_of,
    matches_pattern,
    matches_pattern_or_apex,
    parse_pattern,
)

pytestmark = pytest.mark.unit

# host, port, pattern, matches_pattern (subdomains only), matches_pattern_or_apex (apex included)
TABLE = [
    # exact host
    ("api.example.com", None, "api.example.com", True, True),
    ("api.example.com", None, "API.Example.com", True, True),
    ("API.example.com.", None, "api.example.com", True, True),
    ("api.example.com.evil.test", None, "api.example.com", False, False),
    ("evil-api.example.com", None, "api.example.com", False, False),
    ("example.com", None, "api.example.com", False, False),
    # *.domain: subdomains only vs apex included
    ("eu.example.com", None, "*.example.com", True, True),
    ("a.b.example.com", None, "*.example.com", True, True),
    ("example.com", None, "*.example.com", False, True),
    ("evilexample.com", None, "*.example.com", False, False),
    ("example.com.evil.test", None, "*.example.com", False, False),
    # ports: none in the pattern admits any; one in the pattern admits exactly that one
    ("api.example.com", 8443, "api.example.com", True, True),
    ("api.example.com", 8443, "api.example.com:8443", True, True),
    ("api.example.com", 9443, "api.example.com:8443", False, False),
    ("api.example.com", None, "api.example.com:443", False, False),
    ("api.example.com", 443, "api.example.com:443", True, True),
    ("eu.example.com", 8443, "*.example.com:8443", True, True),
    ("eu.example.com", 443, "*.example.com:8443", False, False),
    ("example.com", 8443, "*.example.com:8443", False, True),
    # IP literals: v4 with and without port, v6 bare or bracketed
    ("127.0.0.1", 8080, "127.0.0.1", True, True),
    ("127.0.0.1", 8080, "127.0.0.1:8080", True, True),
    ("127.0.0.1", 8081, "127.0.0.1:8080", False, False),
    ("::1", 8080, "::1", True, True),
    ("::1", 8080, "[::1]", True, True),
    ("::1", 8080, "[::1]:8080", True, True),
    ("::1", 8081, "[::1]:8080", False, False),
    # what names no host never matches
    ("api.example.com", None, "", False, False),
    ("api.example.com", 443, "api.example.com:https", False, False),
    ("example.com", None, "*.", False, False),
    ("10.1.2.3", None, "10.0.0.0/8", False, False),  # networks are hub_common.ssrf's business
]


@pytest.mark.parametrize(("host", "port", "pattern", "strict", "apex"), TABLE)
def test_every_semantics(host, port, pattern, strict, apex):
    assert matches_pattern(host, port, pattern) is strict
    assert matches_pattern_or_apex(host, port, pattern) is apex


def test_parsed_parts():
    assert parse_pattern(" *.Example.com:8443 ") == HostPattern("example.com", wildcard=True, port=8443)
    assert parse_pattern("[2001:db8::1]:443") == HostPattern("2001:db8::1", wildcard=False, port=443)
    assert parse_pattern("2001:db8::1") == HostPattern("2001:db8::1", wildcard=False, port=None)
    assert parse_pattern("host:") is None and parse_pattern("[::1]x") is None


def test_domain_relations():
    assert is_subdomain_of("a.x.com", "x.com") and not is_subdomain_of("x.com", "x.com")
    assert is_domain_or_subdomain_of("x.com", "X.com.") and not is_domain_or_subdomain_of("ax.com", "x.com")
