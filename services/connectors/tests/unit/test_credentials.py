"""Credential input checked against the manifest and mapped onto the vault's key names."""

import pytest

from hub_common.connection_credentials import InvalidCredentials, vault_key, vault_keys
from hub_connector_sdk import ApiKeyPlacement, AuthenticationMethod, AuthSpec, CredentialField, OAuthConfig
from hub_connectors.domain.credentials import CredentialsNotAccepted, prepare

pytestmark = pytest.mark.unit
M = AuthenticationMethod
API_KEY = AuthSpec(method=M.API_KEY, api_key=ApiKeyPlacement())


def test_defaults_per_method_map_to_the_vault_convention():
    assert prepare(API_KEY, {"api_key": "k-123"}) == {"api_key": "k-123"}
    assert prepare(AuthSpec(method=M.BASIC), {"username": "u", "password": "p"}) == {
        "basic_username": "u", "basic_password": "p",
    }  # fmt: skip
    assert prepare(AuthSpec(method=M.BEARER), {"token": "t"}) == {"bearer_token": "t"}


def test_extra_manifest_fields_go_under_api_key_dot():
    auth = AuthSpec(
        method=M.API_KEY,
        api_key=ApiKeyPlacement(),
        fields=[
            CredentialField(key="api_key", label="Key"),
            CredentialField(key="subdomain", label="Sub", secret=False),
        ],
    )
    assert vault_keys(auth) == {"api_key": "api_key", "subdomain": "api_key.subdomain"}
    assert prepare(auth, {"api_key": "k", "subdomain": "acme"}) == {
        "api_key": "k",
        "api_key.subdomain": "acme",
    }
    assert vault_key(M.BASIC, "tenant", first_secret=True) == "api_key.tenant"


def test_problems_name_fields_never_values():
    auth = AuthSpec(
        method=M.API_KEY,
        api_key=ApiKeyPlacement(),
        fields=[CredentialField(key="api_key", label="Key", pattern=r"sk-[a-z]+")],
    )
    with pytest.raises(InvalidCredentials) as err:
        prepare(auth, {"api_key": "not-a-sk-secret-value", "extra": "x"})
    assert err.value.status_code == 422
    text = str(err.value.details)
    assert "not-a-sk-secret-value" not in text
    assert err.value.details["fields"] == [
        {"field": "<unknown field>", "problem": "unknown field; known: api_key"},
        {"field": "api_key", "problem": "does not match the expected format"},
    ]
    with pytest.raises(InvalidCredentials) as err:
        prepare(auth, {})
    assert err.value.details["fields"] == [{"field": "api_key", "problem": "required"}]
    with pytest.raises(InvalidCredentials):
        prepare(auth, {"api_key": 12345})
    with pytest.raises(InvalidCredentials) as err:
        prepare(API_KEY, {"api_key": "line\nbreak"})
    assert err.value.details["fields"][0]["problem"] == "too long or contains control characters"


def test_oauth_and_none_refuse_credentials():
    oauth = AuthSpec(
        method=M.OAUTH2, oauth=OAuthConfig(authorization_url="https://a/x", token_url="https://a/t")
    )
    assert prepare(oauth, None) == {}
    with pytest.raises(CredentialsNotAccepted):
        prepare(oauth, {"access_token": "x"})
    assert prepare(AuthSpec(method=M.NONE), {}) == {}
