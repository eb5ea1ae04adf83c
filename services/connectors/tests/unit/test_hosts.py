"""Base-URL checks: declared hosts only, and no internal addresses without an operator allow-list."""

import pytest

from hub_connectors.domain.hosts import (
    HostNotAllowed,
    check_declared,
    check_not_internal,
    effective_allowed_hosts,
    is_internal,
    matches,
)

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("host", "port", "pattern", "ok"),
    [
        ("api.example.com", None, "api.example.com", True),
        ("API.example.com".lower(), None, "api.example.com", True),
        ("eu.example.com", None, "*.example.com", True),
        ("a.b.example.com", None, "*.example.com", True),
        ("example.com", None, "*.example.com", False),
        ("evilexample.com", None, "*.example.com", False),
        ("api.example.com", 8443, "api.example.com:8443", True),
        ("api.example.com", 9443, "api.example.com:8443", False),
        ("api.example.com.evil.test", None, "api.example.com", False),
    ],
)
def test_host_patterns(host, port, pattern, ok):
    assert matches(host, port, pattern) is ok


def test_only_declared_hosts_pass():
    allowed = ["api.example.com", "*.example.com"]
    assert check_declared("https://eu.example.com/v2", allowed) == "https://eu.example.com/v2"
    with pytest.raises(HostNotAllowed) as err:
        check_declared("https://evil.test", allowed)
    assert err.value.code == "host_not_allowed"
    assert err.value.details["allowed_hosts"] == allowed


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1/", "http://localhost:8080", "http://10.0.0.8", "http://169.254.169.254/latest"],
)
def test_internal_addresses_need_the_operator(url):
    allowed = ["127.0.0.1", "localhost:8080", "10.0.0.8", "169.254.169.254"]
    with pytest.raises(HostNotAllowed, match="internal address"):
        check_not_internal(url, [])
    check_not_internal(url, allowed)


def test_ipv6_loopback_is_internal():
    assert is_internal("::1") and is_internal("[::1]") and not is_internal("2001:4860:4860::8888")


@pytest.mark.parametrize(
    "url", ["ftp://api.example.com", "api.example.com", "https://user:pw@api.example.com"]
)
def test_malformed_or_credentialed_urls_are_refused(url):
    with pytest.raises(HostNotAllowed):
        check_declared(url, ["api.example.com"])


def test_without_a_list_the_default_host_is_the_only_one():
    assert effective_allowed_hosts("https://api.x.test/v1", []) == ["api.x.test"]
    assert effective_allowed_hosts("https://api.x.test:8443", []) == ["api.x.test:8443"]
    assert effective_allowed_hosts("https://api.x.test", ["*.x.test"]) == ["*.x.test"]
