"""GitLab's two ways of proving a delivery, through the hub's verifier (``verify_webhook``):

- ``gitlab-token``: ``X-Gitlab-Token`` carries the hook's secret itself (compared in constant time);
- ``gitlab-signing``: the newer signing token (``whsec_<base64 32-byte key>``): ``webhook-id``
  (= the delivery's ``Idempotency-Key``), ``webhook-timestamp`` and ``webhook-signature:
  v1,<base64 HMAC-SHA256 of "{webhook-id}.{webhook-timestamp}.{body}">`` (Standard Webhooks).

Signatures here are computed by hand and by ``standardwebhooks`` (the reference implementation,
no code shared with the hub), and by the GitLab simulator's hooks.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time

import pytest
from standardwebhooks import Webhook

from hub_connector_sdk import WebhookVerificationError, verify_webhook

pytestmark = pytest.mark.unit
KEY = bytes(range(32))
SIGNING_TOKEN = "whsec_" + base64.b64encode(KEY).decode()
BODY = b'{"object_kind":"issue","object_attributes":{"action":"open"}}'
NOW = 1_767_000_000


def signed(body: bytes = BODY, *, ts: int = NOW, msg_id: str = "c3b2a1", key: bytes = KEY) -> dict[str, str]:
    digest = hmac.new(key, f"{msg_id}.{ts}.".encode() + body, hashlib.sha256).digest()
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(ts),
        "webhook-signature": "v1," + base64.b64encode(digest).decode(),
        "Idempotency-Key": msg_id,
        "X-Gitlab-Event": "Issue Hook",
    }


def test_signing_token_valid_delivery_verifies_with_its_id_and_time():
    verified = verify_webhook("gitlab-signing", SIGNING_TOKEN, signed(), BODY, now=NOW + 10)
    assert verified.delivery_id == "c3b2a1" and int(verified.timestamp.timestamp()) == NOW


def test_signing_token_matches_the_reference_implementation():
    ts = int(time.time())
    headers = {"webhook-id": "msg_ref", "webhook-timestamp": str(ts)}
    from datetime import UTC, datetime

    headers["webhook-signature"] = Webhook(SIGNING_TOKEN).sign(
        "msg_ref", datetime.fromtimestamp(ts, UTC), BODY.decode()
    )
    assert verify_webhook("gitlab-signing", SIGNING_TOKEN, headers, BODY).delivery_id == "msg_ref"


def test_a_tampered_body_is_refused():
    with pytest.raises(WebhookVerificationError) as err:
        verify_webhook("gitlab-signing", SIGNING_TOKEN, signed(), BODY.replace(b"open", b"close"), now=NOW)
    assert err.value.code == "signature_mismatch"


def test_a_tampered_id_is_refused():
    headers = {**signed(), "webhook-id": "another"}
    with pytest.raises(WebhookVerificationError) as err:
        verify_webhook("gitlab-signing", SIGNING_TOKEN, headers, BODY, now=NOW)
    assert err.value.code == "signature_mismatch"


def test_a_wrong_signing_token_is_refused():
    other = "whsec_" + base64.b64encode(b"\x01" * 32).decode()
    with pytest.raises(WebhookVerificationError) as err:
        verify_webhook("gitlab-signing", other, signed(), BODY, now=NOW)
    assert err.value.code == "signature_mismatch"


@pytest.mark.parametrize("drift", [-301, 301, -86_400, 86_400])
def test_stale_and_future_timestamps_are_refused(drift):
    with pytest.raises(WebhookVerificationError) as err:
        verify_webhook("gitlab-signing", SIGNING_TOKEN, signed(ts=NOW + drift), BODY, now=NOW)
    assert err.value.code == "timestamp_out_of_tolerance"


@pytest.mark.parametrize(
    ("missing", "code"),
    [
        ("webhook-signature", "signature_missing"),
        ("webhook-timestamp", "timestamp_missing"),
        ("webhook-id", "signature_missing"),
    ],
)
def test_missing_headers_are_refused(missing, code):
    headers = {k: v for k, v in signed().items() if k != missing}
    with pytest.raises(WebhookVerificationError) as err:
        verify_webhook("gitlab-signing", SIGNING_TOKEN, headers, BODY, now=NOW)
    assert err.value.code == code


def test_the_secret_token_alone_cannot_pass_as_a_signature():
    headers = {**signed(), "webhook-signature": "v1," + base64.b64encode(SIGNING_TOKEN.encode()).decode()}
    with pytest.raises(WebhookVerificationError):
        verify_webhook("gitlab-signing", SIGNING_TOKEN, headers, BODY, now=NOW)


def test_x_gitlab_token_valid_wrong_and_missing():
    assert (
        verify_webhook(
            "gitlab-token", "s3cret-token", {"X-Gitlab-Token": "s3cret-token", "Idempotency-Key": "k1"}, BODY
        ).delivery_id
        == "k1"
    )
    with pytest.raises(WebhookVerificationError) as wrong:
        verify_webhook("gitlab-token", "s3cret-token", {"X-Gitlab-Token": "s3cret-tokem"}, BODY)
    assert wrong.value.code == "signature_mismatch"
    with pytest.raises(WebhookVerificationError) as missing:
        verify_webhook("gitlab-token", "s3cret-token", {}, BODY)
    assert missing.value.code == "signature_missing"


async def test_the_simulators_signed_hook_verifies_with_both_schemes():
    """A hook with both a token and a signing token: GitLab sends both proofs."""
    from hub_e2e.simulators.gitlab import GitLabSimulator
    from hub_e2e.simulators.spec_guard import SpecGuard

    sim = GitLabSimulator(SpecGuard(None))
    headers = sim.hook_headers("issue", BODY, "the-token", SIGNING_TOKEN, "idem-1", 7)
    assert headers["webhook-id"] == headers["Idempotency-Key"] == "idem-1"
    verify_webhook("gitlab-signing", SIGNING_TOKEN, headers, BODY)
    verify_webhook("gitlab-token", "the-token", headers, BODY)
    with pytest.raises(WebhookVerificationError):
        verify_webhook("gitlab-signing", SIGNING_TOKEN, headers, BODY + b" ")
