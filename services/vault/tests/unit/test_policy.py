from importlib import resources

import pytest

from hub_vault.domain.operations import Operation
from hub_vault.domain.policy import PolicyError, parse_policy

pytestmark = pytest.mark.unit
Op = Operation


@pytest.fixture(scope="module")
def policy():
    return parse_policy(resources.files("hub_vault").joinpath("policies.toml").read_text())


@pytest.mark.parametrize(
    "service, operation, key, allowed",
    [
        ("gateway", Op.CREDENTIAL_READ, "access_token", True),
        ("gateway", Op.CREDENTIAL_READ, "api_key.secondary", True),
        ("gateway", Op.CREDENTIAL_READ, "refresh_token", False),
        ("gateway", Op.CREDENTIAL_STORE, "access_token", False),
        ("gateway", Op.CREDENTIAL_LIST, None, False),
        ("webhooks", Op.HMAC_VERIFY, "webhook_secret", True),
        ("webhooks", Op.HMAC_SIGN, "webhook_secret.next", True),
        ("webhooks", Op.SECRET_GENERATE, "webhook_secret", True),
        ("webhooks", Op.CREDENTIAL_READ, "webhook_secret.reg-0a1b", True),  # ADR 0019: verifies in process
        ("webhooks", Op.CREDENTIAL_STORE, "webhook_secret.reg-0a1b-v2", True),
        ("webhooks", Op.CREDENTIAL_READ, "access_token", False),
        ("webhooks", Op.CREDENTIAL_READ, "api_key", False),
        ("webhooks", Op.CREDENTIAL_STORE, "api_key", False),
        ("gateway", Op.CREDENTIAL_READ, "webhook_secret", False),
        ("webhooks", Op.HMAC_SIGN, "access_token", False),
        ("oauth", Op.CREDENTIAL_STORE, "refresh_token", True),
        ("oauth", Op.CREDENTIAL_READ, "client_secret", True),
        ("oauth", Op.CREDENTIAL_READ, "webhook_secret", False),
        ("oauth", Op.CREDENTIAL_STORE, "access_token.user", True),
        ("oauth", Op.CREDENTIAL_DELETE, "refresh_token.user", True),
        ("gateway", Op.CREDENTIAL_READ, "access_token.user", True),
        ("connectors", Op.CREDENTIAL_STORE, "api_key.region", True),
        ("connectors", Op.CREDENTIAL_STORE, "api_key", True),
        ("connectors", Op.CREDENTIAL_LIST, None, True),
        ("connectors", Op.CREDENTIAL_DELETE_ALL, None, True),
        ("connectors", Op.CREDENTIAL_READ, "api_key", False),
        ("hubctl", Op.KEYS_ROTATE, None, True),
        ("hubctl", Op.REWRAP_START, None, True),
        ("hubctl", Op.CREDENTIAL_READ, "access_token", False),
        ("gateway", Op.KEYS_ROTATE, None, False),
        ("stranger", Op.CREDENTIAL_READ, "access_token", False),
    ],
)
def test_shipped_policy(policy, service, operation, key, allowed):
    assert policy.allows(service, operation, key) is allowed


def test_keyed_operation_without_key_is_denied(policy):
    assert not policy.allows("gateway", Op.CREDENTIAL_READ, None)


def test_globs_are_case_sensitive():
    policy = parse_policy('[[services.x.rules]]\noperations = ["credential.*"]\nkeys = ["api_*"]\n')
    assert policy.allows("x", Op.CREDENTIAL_READ, "api_key")
    assert not policy.allows("x", Op.CREDENTIAL_READ, "API_KEY")
    assert not policy.allows("x", Op.HMAC_SIGN, "api_key")


@pytest.mark.parametrize(
    "text",
    [
        "not toml [",
        "[other]\n",
        '[[services.x.rules]]\noperations = ["export.kek"]\n',
        '[[services.x.rules]]\noperations = "credential.read"\n',
        '[[services.x.rules]]\noperations = ["credential.read"]\nkeys = [1]\n',
    ],
)
def test_bad_policies_are_refused(text):
    with pytest.raises(PolicyError):
        parse_policy(text)
