from __future__ import annotations

import base64
import uuid

import pytest

from hub_gateway.domain.connection import (
    LookupInvalid,
    check_allowed_host,
    parse_lookup,
)
from hub_gateway.domain.errors import ConnectionNotActive, HostNotAllowed
from hub_gateway.domain.injection import CredentialsMissing, build_injection

pytestmark = pytest.mark.unit
CID = uuid.uuid4()


def contract(method="api_key", *, config=None, api=None, auth_extra=None, status="active", builtin=True):
    auth = {"method": method, **(auth_extra or {})}
    if method == "oauth2":
        auth.setdefault("oauth", {"authorization_url": "https://a/x", "token_url": "https://a/t"})
    if method == "api_key":
        auth.setdefault("api_key", {"location": "header", "name": "X-Api-Key", "prefix": ""})
    return {
        "id": str(CID),
        "tenant_id": "t1",
        "user_id": "u",
        "connector_id": "c",
        "status": status,
        "auth_method": method,
        "config": config or {},
        "manifest": {
            "id": "c",
            "name": "c",
            "version": "1.0.0",
            "category": "ai",
            "description": "d",
            "auth": auth,
            "api": {"base_url": "https://api.example.com/v1", **(api or {})},
            "builtin": builtin,
        },
    }


def test_contract_shape_with_override_template_and_defaults():
    t = parse_lookup(
        contract(
            config={"base_url": "https://ghe.corp.example/api/v3/"},
            api={"allowed_hosts": ["*.corp.example"], "default_headers": {"X-V": "1"}},
        ),
        CID,
    )
    assert t.base_url == "https://ghe.corp.example/api/v3"
    assert t.default_headers == (("x-v", "1"),)
    assert (t.id_text, t.host, t.port, t.origin) == (str(CID), "ghe.corp.example", None, "ghe.corp.example")
    check_allowed_host(t)
    jira = parse_lookup(
        contract(
            config={"cloud_id": "abc"},
            api={"base_url_template": "https://api.atlassian.com/ex/jira/{cloud_id}"},
        ),
        CID,
    )
    assert jira.base_url == "https://api.atlassian.com/ex/jira/abc"
    with pytest.raises(LookupInvalid):
        parse_lookup(contract(api={"base_url_template": "https://x/{cloud_id}"}), CID)


def test_resolved_fields_win_and_a_missing_manifest_is_tolerated():
    body = {
        "connection_id": str(CID),
        "tenant_id": "t1",
        "connector_id": "c",
        "status": "active",
        "custom": False,
        "auth_method": "api_key",
        "base_url": "https://api.x.com/",
        "allowed_hosts": ["api.x.com"],
        "default_headers": {"A": "b"},
        "api_key_placement": {"location": "query", "name": "key", "prefix": ""},
        "credential_keys": ["api_key"],
    }
    t = parse_lookup(body, CID)
    assert (t.base_url, t.api_key.location, t.credential_keys) == ("https://api.x.com", "query", ("api_key",))


def test_lookup_of_another_connection_or_garbage_is_refused():
    with pytest.raises(LookupInvalid):
        parse_lookup(contract(), uuid.uuid4())
    with pytest.raises(LookupInvalid):
        parse_lookup({"manifest": {}}, CID)
    with pytest.raises(LookupInvalid):
        parse_lookup([], CID)


@pytest.mark.parametrize(
    ("base_url", "allowed"),
    [
        ("https://api.x.com", ["*.x.com"]),
        ("https://h:8443", ["h:8443"]),
        ("https://h:8443", ["h"]),
    ],
)
def test_declared_hosts_admit(base_url, allowed):
    target = parse_lookup(contract(config={"base_url": base_url}, api={"allowed_hosts": allowed}), CID)
    check_allowed_host(target)


@pytest.mark.parametrize(
    ("base_url", "allowed"),
    [
        ("https://x.com", ["*.x.com"]),  # subdomains only (hub_connector_sdk.hosts.matches_pattern)
        ("https://h", ["h:8443"]),
        ("https://h:443", ["h:8443"]),
    ],
)
def test_declared_hosts_refuse(base_url, allowed):
    target = parse_lookup(contract(config={"base_url": base_url}, api={"allowed_hosts": allowed}), CID)
    with pytest.raises(HostNotAllowed):
        check_allowed_host(target)


def test_hosts():
    t = parse_lookup(contract(config={"base_url": "https://evil.example"}, builtin=False), CID)
    with pytest.raises(HostNotAllowed):
        check_allowed_host(t)  # no allowed_hosts: only the default base URL's host


@pytest.mark.parametrize("status", ["disconnected", "initializing", "token_invalid"])
def test_unusable_statuses(status):
    with pytest.raises(ConnectionNotActive):
        parse_lookup(contract(status=status), CID).ensure_usable()


def test_only_a_health_check_goes_through_an_initializing_connection():
    parse_lookup(contract(status="initializing"), CID).ensure_usable(health_check=True)
    for status in ("disconnected", "token_invalid"):
        with pytest.raises(ConnectionNotActive):
            parse_lookup(contract(status=status), CID).ensure_usable(health_check=True)


def test_injection_per_method():
    oauth = parse_lookup(contract("oauth2"), CID)
    inj = build_injection(oauth, {"access_token": "tok"})
    assert inj.header == ("authorization", "Bearer tok") and inj.token == "tok"
    basic = parse_lookup(contract("basic"), CID)
    assert build_injection(basic, {"basic_username": "u", "basic_password": "p:w"}).header == (
        "authorization",
        "Basic " + base64.b64encode(b"u:p:w").decode(),
    )
    bearer = parse_lookup(contract("bearer", auth_extra={"fields": [{"key": "pat", "label": "PAT"}]}), CID)
    assert bearer.credential_keys == ("bearer_token",)  # the first secret field is *the* token
    assert build_injection(bearer, {"bearer_token": "x"}).header == ("authorization", "Bearer x")
    header = parse_lookup(contract(), CID)
    assert build_injection(header, {"api_key": "k"}).header == ("x-api-key", "k")
    assert build_injection(header, {"api_key": "k"}).header_name == b"x-api-key"
    query = parse_lookup(
        contract(auth_extra={"api_key": {"location": "query", "name": "api key", "prefix": ""}}), CID
    )
    inj = build_injection(query, {"api_key": "a&b"})
    assert inj.header is None
    assert inj.apply_query("x=1&api%20key=forged") == "x=1&api%20key=a%26b"
    none = parse_lookup(contract("none"), CID)
    assert build_injection(none, {}).header is None
    assert build_injection(none, {}).echo_guard == ()
    with pytest.raises(CredentialsMissing):
        build_injection(header, {"api_key": None})


def test_what_an_answer_is_scrubbed_of_per_method():
    # Header credentials are not part of the URL a provider could echo: nothing to scrub.
    oauth = build_injection(parse_lookup(contract("oauth2"), CID), {"access_token": "gho_token1"})
    assert oauth.echo_guard == ()
    basic = build_injection(
        parse_lookup(contract("basic"), CID), {"basic_username": "u", "basic_password": "pass word"}
    )
    assert basic.echo_guard == ()
    query = parse_lookup(
        contract(auth_extra={"api_key": {"location": "query", "name": "key", "prefix": "K:"}}), CID
    )
    inj = build_injection(query, {"api_key": "a/b+c=d"})
    # Raw and re-encoded (all escaped, "/" kept, lower-case hex), with and without the prefix;
    # the longest first.
    assert set(inj.echo_guard) == {
        b"a/b+c=d",
        b"a%2Fb%2Bc%3Dd",
        b"a/b%2Bc%3Dd",
        b"a%2fb%2bc%3dd",
        b"a/b%2bc%3dd",
        b"K:a/b+c=d",
        b"K%3Aa%2Fb%2Bc%3Dd",
        b"K%3Aa/b%2Bc%3Dd",
        b"K%3aa%2fb%2bc%3dd",
        b"K%3aa/b%2bc%3dd",
    }
    spaced = build_injection(query, {"api_key": "two words-1"})
    assert b"K%3Atwo+words-1" in spaced.echo_guard and b"K%3atwo+words-1" in spaced.echo_guard
    assert [len(g) for g in inj.echo_guard] == sorted((len(g) for g in inj.echo_guard), reverse=True)
    short_query = parse_lookup(
        contract(auth_extra={"api_key": {"location": "query", "name": "key", "prefix": ""}}), CID
    )
    assert build_injection(short_query, {"api_key": "k"}).echo_guard == ()  # too short to tell apart
    wide = build_injection(short_query, {"api_key": "ключ-123456"})  # outside latin-1: still injected
    assert "ключ-123456".encode() in wide.echo_guard


def test_the_connectors_services_internal_answer():
    """The shape `GET /internal/v1/connections/{id}` answers (connectors' InternalConnection)."""
    body = {
        "id": str(CID),
        "tenant_id": "t1",
        "user_id": "u1",
        "connector_id": "github",
        "connector_version": "1.0.0",
        "status": "active",
        "custom": False,
        "auth_method": "oauth2",
        "config": {"base_url": "https://ghe.example.com/api/v3"},
        "base_url": "https://ghe.example.com/api/v3",
        "external_account_id": "42",
        "manifest": contract(
            "oauth2",
            api={
                "allowed_hosts": ["*.example.com"],
                "default_headers": {"X-GitHub-Api-Version": "2022-11-28"},
            },
        )["manifest"],
        "allowed_hosts": ["*.example.com"],
        "default_headers": {"X-GitHub-Api-Version": "2022-11-28"},
        "api_key_placement": None,
        "credential_keys": ["access_token"],
    }
    t = parse_lookup(body, CID)
    assert (t.base_url, t.custom, t.credential_keys) == (
        "https://ghe.example.com/api/v3",
        False,
        ("access_token",),
    )
    assert t.default_headers == (("x-github-api-version", "2022-11-28"),)
    check_allowed_host(t)
