"""Base-URL checks: declared hosts only, and no internal addresses without an operator allow-list."""

import pytest

from hub_connectors.domain.hosts import (
    HostNotAllowed,
    check_declared,
    check_not_internal,
    effective_allowed_hosts,
    is_internal,
)

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("https://api.example.com/v1", True),
        ("https://eu.example.com:8443/v1", True),
        ("https://example.com/v1", False),  # *.example.com: subdomains only
        ("https://api.example.com.evil.test", False),
    ],
)
def test_declared_patterns(url, ok):
    """The pattern table is hub_connector_sdk's (tests/unit/test_hosts.py); this is the wiring."""
    allowed = ["api.example.com", "*.example.com"]
    if ok:
        check_declared(url, allowed)
    else:
        with pytest.raises(HostNotAllowed):
            check_declared(url, allowed)


@pytest.mark.parametrize(
    ("url", "entry"),
    [
        ("http://localhost/", "*.localhost"),  # the allow-list's *.domain includes the domain
        ("http://10.0.0.8/", "10.0.0.0/8"),  # networks cover IP literals
        ("https://localhost/", "localhost:443"),  # effective port
        ("http://[::1]:8080/", "::1"),
    ],
)
def test_internal_hosts_read_the_allow_list_as_the_ssrf_check_does(url, entry):
    """HUB_OUTBOUND_ALLOWLIST means one thing (README; hub_common.ssrf). These were refused here
    before ADR 0028 although the SSRF check admitted them."""
    check_not_internal(url, [entry])
    with pytest.raises(HostNotAllowed):
        check_not_internal(url, ["*.other.test", "192.168.0.0/16", "localhost:8443"])


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
