"""The intake's pure rules, and the property the intake relies on: no mutation of a signed
request verifies (with the headers read the way the intake reads them)."""

from __future__ import annotations

import hashlib
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hub_connector_sdk import WebhookVerificationError, sign_webhook, verify_webhook
from hub_connector_sdk.webhook_signatures import webhook_signature
from hub_webhooks.domain import inbound

pytestmark = pytest.mark.unit
NOW = 1_760_000_000
BODY_SIGNED = ["github-sha256", "slack-v0", "jira-hmac", "notion", "standard-webhooks", "linear"]
SECRETS = {"standard-webhooks": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}


def _signed(preset: str, body: bytes) -> dict[str, str]:
    secret = SECRETS.get(preset, "s3cret-for-" + preset)
    headers = sign_webhook(preset, secret, body, timestamp=NOW, message_id="msg_1")
    spec = webhook_signature(preset)
    if spec.delivery_id_header and spec.delivery_id_header not in headers:
        headers[spec.delivery_id_header] = "delivery-1"
    return headers


def _verifies(preset: str, raw: list[tuple[bytes, bytes]], body: bytes) -> bool:
    spec = webhook_signature(preset)
    try:
        headers = inbound.single_headers(raw, spec)
        verify_webhook(spec, SECRETS.get(preset, "s3cret-for-" + preset), headers, body, now=NOW)
    except WebhookVerificationError:
        return False
    return True


def _raw(headers: dict[str, str]) -> list[tuple[bytes, bytes]]:
    return [(k.lower().encode(), v.encode()) for k, v in headers.items()]


def _body(payload: bytes) -> bytes:
    # Linear's timestamp is in the body; the rest sign any bytes.
    return json.dumps({"webhookTimestamp": NOW * 1000, "data": payload.hex()}).encode()


@settings(max_examples=60, deadline=None)
@given(
    preset=st.sampled_from(BODY_SIGNED),
    payload=st.binary(min_size=1, max_size=200),
    position=st.integers(min_value=0),
    flip=st.integers(min_value=1, max_value=255),
)
def test_no_body_mutation_verifies(preset: str, payload: bytes, position: int, flip: int) -> None:
    body = _body(payload)
    raw = _raw(_signed(preset, body))
    assert _verifies(preset, raw, body)
    i = position % len(body)
    mutated = body[:i] + bytes([body[i] ^ flip]) + body[i + 1 :]
    assert not _verifies(preset, raw, mutated)


@settings(max_examples=60, deadline=None)
@given(
    preset=st.sampled_from([*BODY_SIGNED, "gitlab-token"]),
    payload=st.binary(min_size=1, max_size=100),
    which=st.integers(min_value=0),
    position=st.integers(min_value=0),
    flip=st.integers(min_value=1, max_value=127),
    action=st.sampled_from(["change", "drop", "duplicate"]),
)
def test_no_mutation_of_a_signed_header_verifies(
    preset: str, payload: bytes, which: int, position: int, flip: int, action: str
) -> None:
    body = _body(payload)
    headers = _signed(preset, body)
    spec = webhook_signature(preset)
    signed = [h for h in inbound.signed_header_names(spec) if h != (spec.delivery_id_header or "").lower()]
    target = signed[which % len(signed)]
    raw = _raw(headers)
    index = next(i for i, (k, _) in enumerate(raw) if k.decode() == target)
    name, value = raw[index]
    if action == "drop":
        raw = raw[:index] + raw[index + 1 :]
    elif action == "duplicate":
        raw = [*raw, (name, value)]
    else:
        j = position % len(value)
        changed = value[:j] + bytes([(value[j] ^ flip) or 1]) + value[j + 1 :]
        if changed.lower() == value.lower() or changed.strip() == value.strip():
            return  # case or whitespace only: the same header to any HTTP stack
        raw[index] = (name, changed)
    assert not _verifies(preset, raw, body)


def test_a_duplicated_signature_header_is_refused_even_if_one_copy_is_right() -> None:
    body = b'{"a": 1}'
    headers = _signed("github-sha256", body)
    raw = [*_raw(headers), (b"x-hub-signature-256", b"sha256=" + b"0" * 64)]
    with pytest.raises(WebhookVerificationError) as err:
        inbound.single_headers(raw, webhook_signature("github-sha256"))
    assert err.value.code == "header_duplicated"


def test_unrelated_headers_may_repeat() -> None:
    raw = [(b"accept", b"a"), (b"accept", b"b")]
    assert inbound.single_headers(raw, webhook_signature("github-sha256")) == {"accept": "a, b"}


def test_delivery_ids_from_headers_body_or_content() -> None:
    gh = webhook_signature("github-sha256")
    assert inbound.delivery_id(gh, {"x-github-delivery": "abc"}, None, b"{}") == "abc"
    slack = webhook_signature("slack-v0")
    assert inbound.delivery_id(slack, {}, {"event_id": "Ev1"}, b"{}") == "Ev1"
    notion = webhook_signature("notion")
    assert inbound.delivery_id(notion, {}, {"id": "n-1"}, b"{}") == "n-1"
    fallback = inbound.delivery_id(gh, {}, None, b"body")
    assert fallback == "sha256:" + hashlib.sha256(b"body").hexdigest()


def test_headers_that_carry_secrets_are_not_kept() -> None:
    headers = {
        "x-gitlab-token": "tok",
        "authorization": "Bearer x",
        "x-gitlab-event": "Issue Hook",
        "cookie": "c",
    }
    assert inbound.kept_headers(headers, webhook_signature("gitlab-token")) == {
        "x-gitlab-event": "Issue Hook"
    }
    hmac_headers = {"x-hub-signature-256": "sha256=ab", "x-github-event": "issues"}
    assert inbound.kept_headers(hmac_headers, webhook_signature("github-sha256")) == hmac_headers
    # A GitLab hook with a token and a signing token, verified by the signing token: the token
    # header is a secret all the same.
    both = {"x-gitlab-token": "the-secret", "webhook-signature": "v1,abc", "x-gitlab-event": "Issue Hook"}
    assert inbound.kept_headers(both, webhook_signature("gitlab-signing")) == {
        "webhook-signature": "v1,abc",
        "x-gitlab-event": "Issue Hook",
    }


def test_routing_challenge_and_handshake() -> None:
    assert inbound.routing_key({"team_id": "T1"}) == "T1"
    assert inbound.routing_key({"authorizations": [{"team_id": "T2"}]}) == "T2"
    assert inbound.routing_key({"nothing": 1}) is None
    assert inbound.slack_challenge({"type": "url_verification", "challenge": "c"}) == "c"
    assert inbound.slack_challenge({"type": "event_callback", "challenge": "c"}) is None
    token = "secret_" + "x" * 20
    assert inbound.notion_verification_token(json.dumps({"verification_token": token}).encode()) == token
    assert (
        inbound.notion_verification_token(json.dumps({"verification_token": token, "x": 1}).encode()) is None
    )
    assert inbound.notion_verification_token(b"not json") is None


def test_event_names() -> None:
    assert inbound.event_name({"x-github-event": "issues"}, None) == "issues"
    assert inbound.event_name({}, {"event": {"type": "message"}, "type": "event_callback"}) == "message"
    assert inbound.event_name({}, {"webhookEvent": "jira:issue_created"}) == "jira:issue_created"


def test_bodies_that_are_not_utf8_travel_as_base64() -> None:
    assert inbound.encode_body(b"\xff\xfe").encoding == "base64"
    assert inbound.encode_body("é".encode()).text == "é"
