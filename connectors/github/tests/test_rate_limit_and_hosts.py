"""GitHub's rate-limit headers, the wait they imply, and the operator's GHES host list."""

from __future__ import annotations

import pytest

from hub_connector_github.connector import ENTERPRISE_HOSTS_ENV, _api_spec, enterprise_hosts
from hub_connector_github.rate_limit import SECONDARY_WAIT_S, is_rate_limited, parse_rate_limit, wait_seconds

pytestmark = pytest.mark.unit
SPENT = {"X-RateLimit-Limit": "5000", "X-RateLimit-Remaining": "0", "X-RateLimit-Used": "5000",
         "X-RateLimit-Reset": "1000", "X-RateLimit-Resource": "core"}  # fmt: skip


def test_headers_are_parsed_case_insensitively_and_bad_values_are_none():
    limit = parse_rate_limit(SPENT)
    assert (limit.limit, limit.remaining, limit.used, limit.reset_epoch, limit.resource) == (
        5000, 0, 5000, 1000, "core",
    )  # fmt: skip
    assert parse_rate_limit({"x-ratelimit-remaining": "many"}).remaining is None


def test_primary_limit_waits_until_reset():
    assert wait_seconds(parse_rate_limit(SPENT), SPENT, now=940.0) == 60.0
    assert wait_seconds(parse_rate_limit(SPENT), SPENT, now=2000.0) == 0.0


def test_retry_after_wins_and_a_secondary_limit_without_it_waits_a_minute():
    assert wait_seconds(parse_rate_limit(SPENT), {**SPENT, "Retry-After": "7"}) == 7.0
    assert wait_seconds(parse_rate_limit({}), {}) == SECONDARY_WAIT_S


@pytest.mark.parametrize(
    ("status", "headers", "message", "limited"),
    [
        (403, SPENT, "API rate limit exceeded", True),
        (403, {}, "You have exceeded a secondary rate limit", True),
        (429, {}, "Too many requests", True),
        (403, {"x-ratelimit-remaining": "4000"}, "Resource not accessible by integration", False),
        (404, SPENT, "Not Found", False),
    ],
)
def test_which_answers_are_rate_limits(status, headers, message, limited):
    assert is_rate_limited(status, headers, message) is limited


def test_enterprise_hosts_come_from_the_operator(monkeypatch):
    monkeypatch.setenv(ENTERPRISE_HOSTS_ENV, " GHE.Example.com , ghe2.example.com:8443,, ")
    assert enterprise_hosts() == ["ghe.example.com", "ghe2.example.com:8443"]
    assert _api_spec(oauth=True).allowed_hosts == [
        "api.github.com", "github.com", "ghe.example.com", "ghe2.example.com:8443",
    ]  # fmt: skip
    monkeypatch.delenv(ENTERPRISE_HOSTS_ENV)
    assert _api_spec(oauth=False).allowed_hosts == ["api.github.com", "github.com"]
    assert "oauth_token_url" not in _api_spec(oauth=False).config_schema["properties"]
