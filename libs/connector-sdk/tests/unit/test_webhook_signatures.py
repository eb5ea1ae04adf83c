"""Webhook signature specs: presets, declared specs, and the verifier against published examples."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

import pytest

from hub_connector_sdk import (
    PRESETS,
    BaseConnector,
    HmacSignature,
    ManifestError,
    TokenSignature,
    WebhookVerificationError,
    sign_webhook,
    verify_webhook,
    webhook_signature,
)
from hub_connector_sdk.testkit import connector_problems

pytestmark = pytest.mark.unit

# GitHub's documented example (docs.github.com, "Validating webhook deliveries").
GITHUB_SECRET = "It's a Secret to Everybody"
GITHUB_SIGNATURE = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"

# Slack's documented example (api.slack.com, "Verifying requests from Slack").
SLACK_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
SLACK_TIMESTAMP = "1531420618"
SLACK_BODY = (
    b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V"
    b"&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text="
    b"&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN"
    b"&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
)
SLACK_SIGNATURE = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"

# The Standard Webhooks specification's example (standardwebhooks.com, reference test vectors).
SW_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SW_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
SW_TIMESTAMP = 1614265330
SW_BODY = b'{"test": 2432232314}'
SW_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_github_documented_example_verifies() -> None:
    headers = {"X-Hub-Signature-256": GITHUB_SIGNATURE, "X-GitHub-Delivery": "d-1"}
    verified = verify_webhook("github-sha256", GITHUB_SECRET, headers, b"Hello, World!")
    assert verified.scheme == "hmac" and verified.delivery_id == "d-1"
    assert sign_webhook("github-sha256", GITHUB_SECRET, b"Hello, World!") == {
        "X-Hub-Signature-256": GITHUB_SIGNATURE
    }


def test_github_refuses_a_changed_body_or_wrong_secret() -> None:
    headers = {"x-hub-signature-256": GITHUB_SIGNATURE}
    with pytest.raises(WebhookVerificationError) as caught:
        verify_webhook("github-sha256", GITHUB_SECRET, headers, b"Hello, World?")
    assert caught.value.code == "signature_mismatch"
    with pytest.raises(WebhookVerificationError):
        verify_webhook("github-sha256", "another secret", headers, b"Hello, World!")


def test_slack_documented_example_verifies_within_tolerance_only() -> None:
    headers = {"X-Slack-Signature": SLACK_SIGNATURE, "X-Slack-Request-Timestamp": SLACK_TIMESTAMP}
    now = int(SLACK_TIMESTAMP) + 10
    verified = verify_webhook("slack-v0", SLACK_SECRET, headers, SLACK_BODY, now=now)
    assert verified.timestamp is not None and int(verified.timestamp.timestamp()) == int(SLACK_TIMESTAMP)
    with pytest.raises(WebhookVerificationError) as caught:
        verify_webhook("slack-v0", SLACK_SECRET, headers, SLACK_BODY, now=int(SLACK_TIMESTAMP) + 301)
    assert caught.value.code == "timestamp_out_of_tolerance"
    assert (
        sign_webhook("slack-v0", SLACK_SECRET, SLACK_BODY, timestamp=int(SLACK_TIMESTAMP))[
            "X-Slack-Signature"
        ]
        == SLACK_SIGNATURE
    )


def test_standard_webhooks_example_verifies_among_several_signatures() -> None:
    rotated = "v1,Ym9ndXM= v1a,c29tZXRoaW5nIGVsc2U= " + SW_SIGNATURE
    headers = {"webhook-id": SW_ID, "webhook-timestamp": str(SW_TIMESTAMP), "webhook-signature": rotated}
    verified = verify_webhook("standard-webhooks", SW_SECRET, headers, SW_BODY, now=SW_TIMESTAMP)
    assert verified.delivery_id == SW_ID
    signed = sign_webhook("standard-webhooks", SW_SECRET, SW_BODY, timestamp=SW_TIMESTAMP, message_id=SW_ID)
    assert signed["webhook-signature"] == SW_SIGNATURE


def test_standard_webhooks_id_is_signed() -> None:
    headers = {
        "webhook-id": "msg_other",
        "webhook-timestamp": str(SW_TIMESTAMP),
        "webhook-signature": SW_SIGNATURE,
    }
    with pytest.raises(WebhookVerificationError) as caught:
        verify_webhook("standard-webhooks", SW_SECRET, headers, SW_BODY, now=SW_TIMESTAMP)
    assert caught.value.code == "signature_mismatch"


def test_any_of_several_secrets_may_match_during_rotation() -> None:
    headers = {"X-Hub-Signature-256": GITHUB_SIGNATURE}
    verify_webhook("github-sha256", ["new secret", GITHUB_SECRET], headers, b"Hello, World!")


@pytest.mark.parametrize(
    ("headers", "secrets", "code"),
    [
        ({}, GITHUB_SECRET, "signature_missing"),
        ({"X-Hub-Signature-256": "sha1=abc"}, GITHUB_SECRET, "signature_malformed"),
        ({"X-Hub-Signature-256": "sha256=not-hex"}, GITHUB_SECRET, "signature_malformed"),
        ({"X-Hub-Signature-256": GITHUB_SIGNATURE}, "", "no_secret"),
        ({"X-Hub-Signature-256": GITHUB_SIGNATURE}, [], "no_secret"),
    ],
)
def test_fails_closed(headers: dict[str, str], secrets: Any, code: str) -> None:
    with pytest.raises(WebhookVerificationError) as caught:
        verify_webhook("github-sha256", secrets, headers, b"Hello, World!")
    assert caught.value.code == code


def test_errors_never_name_the_secret_or_expected_signature() -> None:
    with pytest.raises(WebhookVerificationError) as caught:
        verify_webhook("github-sha256", GITHUB_SECRET, {"X-Hub-Signature-256": "sha256=00"}, b"Hello, World!")
    assert GITHUB_SECRET not in str(caught.value) and "757107" not in str(caught.value)


def test_gitlab_token_is_compared_whole() -> None:
    verify_webhook("gitlab-token", "s3cret", {"X-Gitlab-Token": "s3cret"}, b"{}")
    with pytest.raises(WebhookVerificationError):
        verify_webhook("gitlab-token", "s3cret", {"X-Gitlab-Token": "s3cre"}, b"{}")


def test_linear_timestamp_comes_from_the_body_in_milliseconds() -> None:
    now = 1_700_000_000
    body = json.dumps({"action": "create", "webhookTimestamp": now * 1000 - 5_000}).encode()
    headers = sign_webhook("linear", "lin_secret", body)
    verify_webhook("linear", "lin_secret", headers, body, now=now)
    stale = json.dumps({"action": "create", "webhookTimestamp": (now - 61) * 1000}).encode()
    with pytest.raises(WebhookVerificationError) as caught:
        verify_webhook("linear", "lin_secret", sign_webhook("linear", "lin_secret", stale), stale, now=now)
    assert caught.value.code == "timestamp_out_of_tolerance"


def _jwt(claims: dict[str, Any], secret: bytes, alg: str = "HS256") -> str:
    def enc(part: bytes) -> str:
        return base64.urlsafe_b64encode(part).rstrip(b"=").decode()

    head = enc(json.dumps({"alg": alg, "typ": "JWT"}).encode())
    body = enc(json.dumps(claims).encode())
    sig = enc(hmac.new(secret, f"{head}.{body}".encode(), hashlib.sha256).digest())
    return f"{head}.{body}.{sig}"


def test_atlassian_jwt_checks_signature_algorithm_and_expiry() -> None:
    now = 1_700_000_000
    good = _jwt({"iss": "jira", "exp": now + 60}, b"app-secret")
    verified = verify_webhook(
        "atlassian-jwt", "app-secret", {"Authorization": f"Bearer {good}"}, b"{}", now=now
    )
    assert verified.claims["iss"] == "jira"
    expired = _jwt({"exp": now - 120}, b"app-secret")
    none_alg = _jwt({"exp": now + 60}, b"app-secret", alg="none")
    forged = _jwt({"exp": now + 60}, b"other")
    for token in (expired, none_alg, forged):
        with pytest.raises(WebhookVerificationError):
            verify_webhook(
                "atlassian-jwt", "app-secret", {"Authorization": f"Bearer {token}"}, b"{}", now=now
            )


def test_every_named_preset_exists() -> None:
    expected = {
        "github-sha256",
        "gitlab-token",
        "gitlab-signing",
        "slack-v0",
        "linear",
        "jira-hmac",
        "atlassian-jwt",
        "notion",
        "standard-webhooks",
    }
    assert set(PRESETS) == expected
    assert all(spec.preset == name for name, spec in PRESETS.items())


def test_declared_hmac_spec_round_trips() -> None:
    spec = HmacSignature(
        header="X-Acme-Signature",
        prefix="t=",
        separator="comma",
        encoding="base64",
        signed="{timestamp}.{body}",
        timestamp_header="X-Acme-Time",
        tolerance_s=60,
    )
    headers = sign_webhook(spec, "k", b"{}", timestamp=1000)
    verify_webhook(spec, "k", headers, b"{}", now=1000)
    assert webhook_signature(spec.model_dump(mode="json")) == spec


@pytest.mark.parametrize(
    "bad",
    [
        {"kind": "hmac", "header": "X-S", "signed": "{timestamp}:{body}"},  # no timestamp header
        {"kind": "hmac", "header": "X-S", "signed": "{payload}"},  # unknown placeholder
        {"kind": "hmac", "header": "X S"},  # not a header name
        {"kind": "hmac", "header": "X-S", "encoding": "base32"},
        {"kind": "rsa", "header": "X-S"},
    ],
)
def test_invalid_specs_are_refused(bad: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        webhook_signature(bad)


@pytest.fixture
def signed(tracker: type[BaseConnector]) -> Any:
    return lambda signature: type("Signed", (tracker,), {"webhook_signature": signature})


def test_unknown_scheme_fails_manifest_and_the_test_kit(signed: Any) -> None:
    broken = signed("no-such-scheme!!")
    with pytest.raises(ManifestError, match="unknown webhook signature preset 'no-such-scheme!!'"):
        broken.manifest()
    assert any("no-such-scheme" in p for p in connector_problems(broken))


def test_manifest_carries_the_resolved_spec(signed: Any) -> None:
    manifest = signed("slack-v0").manifest()
    dumped = manifest.model_dump(mode="json")["webhook_signature"]
    assert dumped["preset"] == "slack-v0" and dumped["timestamp_header"] == "X-Slack-Request-Timestamp"
    token = signed(TokenSignature(header="X-Token")).manifest()
    assert token.webhook_signature == TokenSignature(header="X-Token")


@pytest.mark.parametrize("stamp", ["nan", "NaN", "-nan", "inf", "-Infinity", "1e400"])
def test_a_timestamp_that_is_not_a_finite_number_is_refused_not_a_crash(stamp: str) -> None:
    # NaN compared with the tolerance is never "too far", and then cannot become a datetime:
    # before the fix the intake answered 500 to an unsigned request.
    headers = {**sign_webhook("slack-v0", SLACK_SECRET, SLACK_BODY), "X-Slack-Request-Timestamp": stamp}
    with pytest.raises(WebhookVerificationError) as refused:
        verify_webhook("slack-v0", SLACK_SECRET, headers, SLACK_BODY)
    assert refused.value.code in {"timestamp_invalid", "timestamp_out_of_tolerance"}


def test_a_body_timestamp_of_nan_is_refused_not_a_crash() -> None:
    body = b'{"action": "create", "webhookTimestamp": NaN}'
    headers = {"Linear-Signature": hmac.new(b"secret-value", body, hashlib.sha256).hexdigest()}
    with pytest.raises(WebhookVerificationError) as refused:
        verify_webhook("linear", "secret-value", headers, body)
    assert refused.value.code == "timestamp_invalid"


@pytest.mark.parametrize("claims", ['{"exp": NaN}', '{"exp": Infinity}', '{"exp": 9999999999, "nbf": NaN}'])
def test_a_jwt_whose_times_are_not_finite_is_refused(claims: str) -> None:
    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    head, body = b64(b'{"alg":"HS256","typ":"JWT"}'), b64(claims.encode())
    signature = b64(hmac.new(b"jwt-secret", f"{head}.{body}".encode(), hashlib.sha256).digest())
    headers = {"Authorization": f"Bearer {head}.{body}.{signature}"}
    with pytest.raises(WebhookVerificationError) as refused:
        verify_webhook("atlassian-jwt", "jwt-secret", headers, b"{}")
    assert refused.value.code == "signature_malformed"


def test_a_non_canonical_base64_spelling_of_a_valid_signature_is_refused() -> None:
    """``…1OE=`` and ``…1OF=`` decode to the same 32 bytes (the last character's two unused bits
    differ): only the canonical spelling verifies, so a valid signature cannot be varied."""
    varied = SW_SIGNATURE[:-2] + "F="
    assert base64.b64decode(varied.removeprefix("v1,")) == base64.b64decode(SW_SIGNATURE.removeprefix("v1,"))
    headers = {"webhook-id": SW_ID, "webhook-timestamp": str(SW_TIMESTAMP), "webhook-signature": varied}
    with pytest.raises(WebhookVerificationError) as caught:
        verify_webhook("standard-webhooks", SW_SECRET, headers, SW_BODY, now=SW_TIMESTAMP)
    assert caught.value.code == "signature_malformed"  # no readable signature left
