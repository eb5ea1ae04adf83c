import base64
import hashlib
import uuid
from urllib.parse import parse_qs, urlsplit

import pytest

from hub_common.connection_credentials import InvalidCredentials, validate
from hub_connector_sdk import ApiKeyPlacement, AuthenticationMethod, AuthSpec, CredentialField, OAuthConfig
from hub_oauth.adapters.provider_http import metadata_urls
from hub_oauth.domain import endpoints, pkce
from hub_oauth.domain.apps import check_redirect_uri, parse_default_apps, return_to_allowed, with_query
from hub_oauth.domain.authorize import authorization_url
from hub_oauth.domain.token_response import OAuthProviderError, decode_body, parse

pytestmark = pytest.mark.unit

ATLASSIAN = OAuthConfig(
    authorization_url="https://auth.atlassian.com/authorize",
    token_url="https://auth.atlassian.com/oauth/token",
    scope_separator=" ",
    extra_authorize_params={"audience": "api.atlassian.com", "prompt": "consent"},
    profile="atlassian",
    use_pkce=False,
)


def test_pkce_s256_matches_rfc7636_appendix_b():
    verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
    assert pkce.challenge(verifier) == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


def test_state_and_verifier_have_enough_entropy():
    states = {pkce.new_state() for _ in range(200)}
    assert len(states) == 200
    assert all(len(base64.urlsafe_b64decode(s + "=")) >= 16 for s in states)  # >= 128 bits
    assert 43 <= len(pkce.new_verifier()) <= 128
    assert pkce.state_hash("x") == hashlib.sha256(b"x").digest()


def test_authorization_url_carries_everything_and_keeps_reserved_params():
    slack = OAuthConfig(
        authorization_url="https://slack.com/oauth/v2/authorize?team=T1",
        token_url="https://slack.com/api/oauth.v2.access",
        scope_separator=",",
        profile="slack",
    )
    url = authorization_url(
        slack.authorization_url,
        oauth=slack,
        client_id="cid",
        redirect_uri="https://hub/cb",
        scopes=["chat:write", "channels:read"],
        state="st",
        code_challenge="ch",
        additional={"user_scope": "search:read", "state": "evil", "redirect_uri": "https://evil"},
    )
    q = parse_qs(urlsplit(url).query)
    assert q["team"] == ["T1"]
    assert q["scope"] == ["chat:write,channels:read"]
    assert q["user_scope"] == ["search:read"]
    assert q["state"] == ["st"] and q["redirect_uri"] == ["https://hub/cb"]
    assert q["code_challenge_method"] == ["S256"] and q["response_type"] == ["code"]


def test_atlassian_extras_and_no_pkce():
    url = authorization_url(
        ATLASSIAN.authorization_url,
        oauth=ATLASSIAN,
        client_id="c",
        redirect_uri="https://h/cb",
        scopes=["read:jira-work", "offline_access"],
        state="s",
        code_challenge=None,
    )
    q = parse_qs(urlsplit(url).query)
    assert q["audience"] == ["api.atlassian.com"] and q["prompt"] == ["consent"]
    assert "code_challenge" not in q and q["scope"] == ["read:jira-work offline_access"]


def test_endpoint_overrides_and_discovery():
    e, overridden = endpoints.from_config(ATLASSIAN, {"oauth_token_url": "https://sim.local/token"})
    assert e.token_url == "https://sim.local/token" and overridden == ["https://sim.local/token"]
    found = endpoints.from_metadata(
        e,
        "https://issuer",
        {
            "authorization_endpoint": "https://issuer/a",
            "token_endpoint": "https://issuer/t",
            "revocation_endpoint": "https://issuer/r",
            "code_challenge_methods_supported": ["S256"],
            "authorization_response_iss_parameter_supported": True,
        },
    )
    assert (found.token_url, found.pkce, found.iss_required) == ("https://issuer/t", True, True)
    # what discovery must SSRF-check: every endpoint URL the document names, nothing else
    assert endpoints.metadata_endpoints(
        {"token_endpoint": "https://i/t", "revocation_endpoint": 7, "userinfo_endpoint": "https://i/u"}
    ) == {"token_endpoint": "https://i/t"}


@pytest.mark.parametrize(
    "body,ctype",
    [
        (b"access_token=gho_x&scope=repo%2Cuser&token_type=bearer", "application/x-www-form-urlencoded"),
        (b'{"access_token":"gho_x","scope":"repo,user","token_type":"bearer"}', "application/json"),
    ],
)
def test_github_answers_in_either_format(body, ctype):
    ts = parse("github", 200, decode_body(body, ctype))
    assert ts.access_token == "gho_x" and ts.scopes == ["repo", "user"] and ts.refresh_token is None


def test_github_errors_with_http_200_are_errors():
    with pytest.raises(OAuthProviderError) as info:
        parse(
            "github",
            200,
            decode_body(b"error=bad_verification_code&error_description=The+code", "text/plain"),
        )
    assert info.value.error == "bad_verification_code" and not info.value.retryable


def test_slack_bot_and_user_tokens_and_ok_false():
    ts = parse(
        "slack",
        200,
        {
            "ok": True,
            "access_token": "xoxb-1",
            "token_type": "bot",
            "scope": "chat:write,im:read",
            "bot_user_id": "U0B",
            "team": {"id": "T1", "name": "Acme"},
            "authed_user": {"id": "U1", "access_token": "xoxp-1", "scope": "search:read"},
        },
    )
    assert ts.access_token == "xoxb-1" and ts.external_account_id == "T1"
    assert ts.extra_secrets == {"user_access_token": "xoxp-1"}
    assert ts.metadata["authed_user_id"] == "U1" and ts.scopes == ["chat:write", "im:read"]
    with pytest.raises(OAuthProviderError, match="invalid_code"):
        parse("slack", 200, {"ok": False, "error": "invalid_code"})


def test_notion_workspace_and_5xx_retryable():
    ts = parse(
        "notion",
        200,
        {
            "access_token": "secret_x",
            "token_type": "bearer",
            "bot_id": "b1",
            "workspace_id": "w1",
            "workspace_name": "Acme",
            "owner": {"type": "user"},
        },
    )
    assert ts.external_account_id == "w1" and ts.metadata == {
        "workspace_id": "w1",
        "workspace_name": "Acme",
        "bot_id": "b1",
    }
    with pytest.raises(OAuthProviderError) as info:
        parse("generic", 503, {})
    assert info.value.retryable


def test_credentials_validation_and_vault_keys():
    basic = AuthSpec(method=AuthenticationMethod.BASIC)
    assert validate(basic, {"username": "u", "password": "p"}) == {
        "basic_username": "u",
        "basic_password": "p",
    }
    api = AuthSpec(
        method=AuthenticationMethod.API_KEY,
        api_key=ApiKeyPlacement(),
        fields=[
            CredentialField(key="api_key", label="Key", pattern=r"sk-[a-z0-9]+"),
            CredentialField(key="org", label="Org", secret=False, required=False),
        ],
    )
    assert validate(api, {"api_key": "sk-abc", "org": "o1"}) == {"api_key": "sk-abc", "api_key.org": "o1"}
    with pytest.raises(InvalidCredentials) as info:
        validate(api, {"api_key": "nope", "extra": "x"})
    assert info.value.details["fields"] == [
        {"field": "<unknown field>", "problem": "unknown field; known: api_key, org"},
        {"field": "api_key", "problem": "does not match the expected format"},
    ]
    assert "nope" not in str(info.value.details)


def test_return_to_allowlist_and_default_apps():
    prefixes = ["https://app.example.com/integrations", "http://127.0.0.1:8081"]
    assert return_to_allowed("https://app.example.com/integrations/done?x=1", prefixes)
    assert not return_to_allowed("https://app.example.com.evil.com/integrations", prefixes)
    assert not return_to_allowed("https://app.example.com/other", prefixes)
    assert not return_to_allowed("javascript:alert(1)", prefixes)
    # A path prefix ends at a segment boundary, and dot segments are read as a browser reads them.
    assert return_to_allowed("https://app.example.com/integrations", prefixes)
    assert not return_to_allowed("https://app.example.com/integrationsevil", prefixes)
    assert not return_to_allowed("https://app.example.com/integrations/../admin", prefixes)
    assert not return_to_allowed("https://app.example.com/integrations/%2e%2e/admin", prefixes)
    assert not return_to_allowed("\x00http://127.0.0.1:8081/x", prefixes)  # Python drops it, browsers don't
    assert not return_to_allowed("http://user@127.0.0.1:8081/x", prefixes)
    assert with_query("http://127.0.0.1:8081/ui#/connections", {"status": "connected"}) == (
        "http://127.0.0.1:8081/ui?status=connected#/connections"
    )
    assert (
        parse_default_apps('{"github": {"client_id": "c", "client_secret": "s"}}')["github"].client_id == "c"
    )
    with pytest.raises(ValueError):
        parse_default_apps('{"github": {}}')


@pytest.mark.parametrize(
    "profile,body",
    [
        ("github", b"error=bad_refresh_token&error_description=The+refresh+token+passed+is+incorrect"),
        ("slack", b'{"ok":false,"error":"invalid_refresh_token"}'),
        ("generic", b'{"error":"invalid_grant"}'),
    ],
)
def test_a_dead_refresh_token_reads_as_invalid_grant_in_every_vocabulary(profile, body):
    ctype = "application/json" if body.startswith(b"{") else "application/x-www-form-urlencoded"
    with pytest.raises(OAuthProviderError) as info:
        parse(profile, 200 if profile != "generic" else 400, decode_body(body, ctype))
    assert info.value.error == "invalid_grant" and not info.value.retryable
    if profile != "generic":
        assert info.value.description.startswith(("bad_refresh_token", "invalid_refresh_token"))


@pytest.mark.parametrize(
    "odd",
    [
        {"authed_user": "U1"},
        {"team": "T1"},
        {"team": {"id": 7, "name": ["x"]}, "bot_user_id": {"a": 1}},
        {"refresh_token": 12345, "token_type": 1},
    ],
)
def test_odd_types_in_a_slack_answer_are_dropped_not_a_crash(odd):
    ts = parse("slack", 200, {"ok": True, "access_token": "xoxb-1", **odd})
    assert ts.access_token == "xoxb-1"
    assert ts.refresh_token is None and ts.token_type == "bot"
    assert ts.external_account_id is None and ts.external_account_name is None
    assert "bot_user_id" not in ts.metadata


def test_a_non_string_refresh_token_is_not_stored():
    ts = parse("generic", 200, {"access_token": "a", "refresh_token": {"nested": 1}})
    assert ts.refresh_token is None


@pytest.mark.parametrize(
    "issuer,urls",
    [
        ("https://idp.example", ["https://idp.example/.well-known/oauth-authorization-server"]),
        ("https://idp.example/", ["https://idp.example/.well-known/oauth-authorization-server"]),
        (
            "https://idp.example/tenant1",
            [
                "https://idp.example/.well-known/oauth-authorization-server/tenant1",  # RFC 8414 §3.1
                "https://idp.example/tenant1/.well-known/oauth-authorization-server",
            ],
        ),
    ],
)
def test_metadata_is_looked_for_where_rfc_8414_puts_it_first(issuer, urls):
    assert metadata_urls(issuer) == urls


@pytest.mark.parametrize(
    "uri",
    [
        "http://evil.example/cb",
        "https://",
        "https://hub.example/cb#frag",
        "https://hub.example/cb\n",
        "https://user:pw@hub.example/cb",
        "ftp://hub.example/cb",
    ],
)
def test_bad_redirect_uris_are_refused(uri):
    with pytest.raises(ValueError):
        check_redirect_uri(uri)


@pytest.mark.parametrize(
    "uri", ["https://hub.example/v1/oauth/callback", "http://127.0.0.1:8082/v1/oauth/callback"]
)
def test_good_redirect_uris_pass(uri):
    check_redirect_uri(uri)


def test_hub_parameters_cannot_be_replaced_by_the_endpoint_extras_or_the_caller():
    config = OAuthConfig(
        authorization_url="https://p.example/authorize?prompt=consent&state=fixed&Redirect_URI=https://evil",
        token_url="https://p.example/token",
        extra_authorize_params={"redirect_uri": "https://evil", "audience": "api"},
    )
    url = authorization_url(
        config.authorization_url,
        oauth=config,
        client_id="c",
        redirect_uri="https://hub.example/cb",
        scopes=["read"],
        state="S" * 43,
        code_challenge="X" * 43,
        additional={"prompt": "none", "request_uri": "https://evil/req", " State ": "x"},
    )
    q = parse_qs(urlsplit(url).query)
    assert q["redirect_uri"] == ["https://hub.example/cb"] and q["state"] == ["S" * 43]
    assert q["prompt"] == ["none"] and q["audience"] == ["api"]  # one of each, the caller's last
    assert "request_uri" not in q and "Redirect_URI" not in q and " State " not in q


def test_a_secret_under_an_unknown_name_is_not_echoed():
    api = AuthSpec(method=AuthenticationMethod.API_KEY, api_key=ApiKeyPlacement())
    with pytest.raises(InvalidCredentials) as info:
        validate(api, {"sk_live_51HxSECRETVALUE": "x", "api_key": "k"})
    assert "sk_live_51HxSECRETVALUE" not in str(info.value.details)


def test_reserved_authorization_parameters_are_refused_in_a_flow_request():
    from pydantic import ValidationError

    from hub_oauth.api.schemas import FlowIn

    with pytest.raises(ValidationError) as info:
        FlowIn(connection_id=uuid.uuid4(), additional_parameters={"redirect_uri": "https://evil", "x": "1"})
    assert "set by the hub" in str(info.value)
    assert FlowIn(connection_id=uuid.uuid4(), additional_parameters={"login_hint": "a@b.c"})


def test_an_issuer_stands_in_for_the_endpoints_and_requires_iss_survives_discovery():
    with pytest.raises(ValueError, match="authorization_url and token_url, or an issuer"):
        OAuthConfig()
    with pytest.raises(ValueError, match="needs token_url"):
        OAuthConfig(grant_type="client_credentials")
    oauth = OAuthConfig(issuer="https://idp.example/tenant1", requires_iss=True)
    base, overridden = endpoints.from_config(oauth, {})
    assert (base.authorization_url, base.token_url, overridden) == ("", "", [])
    found = endpoints.from_metadata(
        base,
        "https://idp.example/tenant1",
        {"authorization_endpoint": "https://idp.example/a", "token_endpoint": "https://idp.example/t"},
    )
    assert (found.authorization_url, found.token_url) == ("https://idp.example/a", "https://idp.example/t")
    assert found.iss_required is True  # the metadata does not promise iss; the manifest demands it
