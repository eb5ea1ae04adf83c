"""The manifest's GitLab specifics (OAuth, PRIVATE-TOKEN, the self-managed base URL and who may
allow its host), GitLab's rate-limit headers and the waits they imply."""

from __future__ import annotations

import re

import pytest

from hub_connector_gitlab import GitLabConnector, GitLabTokenConnector
from hub_connector_gitlab.connector import BASE_URL, HOSTS_ENV, _api_spec, self_managed_hosts
from hub_connector_gitlab.rate_limit import DEFAULT_WAIT_S, is_rate_limited, parse_rate_limit, wait_seconds
from hub_connector_sdk import InvalidParameters

pytestmark = pytest.mark.unit
SPENT = {
    "RateLimit-Limit": "600",
    "RateLimit-Observed": "600",
    "RateLimit-Remaining": "0",
    "RateLimit-Reset": "1000",
    "RateLimit-ResetTime": "Thu, 01 Jan 1970 00:16:40 GMT",
}


def test_oauth_and_private_token_variants():
    oauth = GitLabConnector.manifest().auth
    assert oauth.oauth is not None and oauth.oauth.profile == "gitlab" and oauth.oauth.refresh == "rotating"
    assert oauth.oauth.token_url == "https://gitlab.com/oauth/token" and "api" in oauth.oauth.default_scopes
    assert oauth.oauth.identity_url == "https://gitlab.com/api/v4/user"
    token = GitLabTokenConnector.manifest()
    assert token.auth.api_key is not None and token.auth.api_key.name == "PRIVATE-TOKEN"
    assert token.auth.api_key.prefix == "" and [f.key for f in token.auth.fields] == ["token"]
    assert "oauth_token_url" not in token.api.config_schema["properties"]
    assert GitLabConnector.manifest().webhook_signature.preset == "gitlab-token"


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("https://gitlab.example.com/api/v4", True),
        ("http://127.0.0.1:9310/api/v4/", True),
        ("https://user:pw@gitlab.example.com/api/v4", False),  # credentials in the URL
        ("https://gitlab.example.com/api/v4?x=https://evil.test", False),
        ("https://gitlab.example.com/api/v3", False),
        ("https://gitlab.example.com@evil.test/api/v4", False),
        ("file:///etc/passwd", False),
    ],
)
def test_the_base_url_is_an_origin_plus_api_v4(url, ok):
    assert (re.fullmatch(BASE_URL, url) is not None) is ok


def test_self_managed_hosts_come_from_the_operator(monkeypatch):
    monkeypatch.setenv(HOSTS_ENV, " GitLab.Example.com , git.corp:8443,, ")
    assert self_managed_hosts() == ["gitlab.example.com", "git.corp:8443"]
    assert _api_spec(oauth=True).allowed_hosts == ["gitlab.com", "gitlab.example.com", "git.corp:8443"]
    monkeypatch.delenv(HOSTS_ENV)
    assert _api_spec(oauth=False).allowed_hosts == ["gitlab.com"]


def test_a_label_with_a_comma_is_refused():
    with pytest.raises(InvalidParameters):
        GitLabConnector.validate_parameters("create_issue", {"project": "1", "title": "x", "labels": ["a,b"]})


def test_headers_are_parsed_case_insensitively():
    limit = parse_rate_limit(SPENT)
    assert (limit.limit, limit.observed, limit.remaining, limit.reset_epoch) == (600, 600, 0, 1000)
    only_time = parse_rate_limit(
        {
            "ratelimit-limit": "10",
            "ratelimit-observed": "4",
            "ratelimit-resettime": "Thu, 01 Jan 1970 00:16:40 GMT",
        }
    )
    assert (only_time.remaining, only_time.reset_epoch) == (6, 1000)
    assert parse_rate_limit({"RateLimit-Remaining": "lots"}).remaining is None


def test_waits():
    assert wait_seconds(parse_rate_limit(SPENT), {**SPENT, "Retry-After": "7"}) == 7.0
    assert wait_seconds(parse_rate_limit(SPENT), SPENT, now=940.0) == 60.0
    assert wait_seconds(parse_rate_limit({}), {}) == DEFAULT_WAIT_S


@pytest.mark.parametrize(
    ("status", "headers", "limited"),
    [(429, {}, True), (403, SPENT, True), (403, {"RateLimit-Remaining": "5"}, False), (404, SPENT, False)],
)
def test_which_answers_are_rate_limits(status, headers, limited):
    assert is_rate_limited(status, headers) is limited


def test_a_connection_may_choose_the_signing_token():
    manifest = GitLabConnector.manifest()
    assert [s.preset for s in manifest.webhook_signature_alternatives] == ["gitlab-signing"]
    assert manifest.api.config_schema["properties"]["webhook_signature"]["enum"] == [
        "gitlab-token",
        "gitlab-signing",
    ]
