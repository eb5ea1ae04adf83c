"""Linear's signature as the hub verifies it (the SDK's ``linear`` preset): ``Linear-Signature`` is
the hex HMAC-SHA256 of the raw body with the webhook's secret, and the body's ``webhookTimestamp``
(milliseconds) must be within 60 s of now (Linear's documented replay check). The signatures
here are computed independently with ``hmac``, as Linear's documentation computes them; Linear
publishes no fixed test vector (secret, body, signature) to check against."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest

from hub_connector_linear import LinearConnector
from hub_connector_sdk import WebhookVerificationError, verify_webhook
from hub_connector_sdk.testkit import parse_webhook

pytestmark = pytest.mark.unit
SECRET = "lin_wh_d6a3e1f0c2b94a7e8f3c5d1b0a9e8f7c6d5b4a3f2e1d0c9b"
NOW = 1676056940508 / 1000  # the example's webhookTimestamp


def delivery(payload: dict, secret: str = SECRET) -> tuple[dict[str, str], bytes]:
    body = json.dumps(payload).encode()
    signature = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return {"Linear-Signature": signature, "Linear-Delivery": "d-1", "Linear-Event": "Comment"}, body


def test_a_signed_fresh_delivery_verifies_and_names_its_delivery(comment_created):
    headers, body = delivery(comment_created)
    verified = verify_webhook(LinearConnector.webhook_signature, SECRET, headers, body, now=NOW + 59)
    assert verified.delivery_id == "d-1" and verified.timestamp is not None
    assert verified.timestamp.timestamp() == pytest.approx(NOW)
    (fired,) = parse_webhook(LinearConnector, body, headers=headers, secret=SECRET, now=NOW)
    assert fired.trigger_id == "comment_created"


@pytest.mark.parametrize(
    ("change", "code"),
    [
        (
            lambda h, b: ({**h, "Linear-Signature": h["Linear-Signature"][:-2] + "00"}, b),
            "signature_mismatch",
        ),
        (lambda h, b: (h, b.replace(b"now fixed", b"not fixed")), "signature_mismatch"),
        (lambda h, b: ({k: v for k, v in h.items() if k != "Linear-Signature"}, b), "signature_missing"),
        (lambda h, b: ({**h, "Linear-Signature": "not-hex"}, b), "signature_malformed"),
    ],
)
def test_a_changed_delivery_is_refused(change, code, comment_created):
    headers, body = change(*delivery(comment_created))
    with pytest.raises(WebhookVerificationError) as refused:
        verify_webhook(LinearConnector.webhook_signature, SECRET, headers, body, now=NOW)
    assert refused.value.code == code


def test_another_secret_is_refused(comment_created):
    headers, body = delivery(comment_created, secret="lin_wh_someone_else")
    with pytest.raises(WebhookVerificationError) as refused:
        verify_webhook(LinearConnector.webhook_signature, SECRET, headers, body, now=NOW)
    assert refused.value.code == "signature_mismatch"


@pytest.mark.parametrize("drift_s", [61, -61, 3600])
def test_a_timestamp_more_than_a_minute_off_is_a_replay(drift_s, comment_created):
    headers, body = delivery(comment_created)
    with pytest.raises(WebhookVerificationError) as refused:
        verify_webhook(LinearConnector.webhook_signature, SECRET, headers, body, now=NOW + drift_s)
    assert refused.value.code == "timestamp_out_of_tolerance"


def test_a_body_without_webhook_timestamp_is_refused(comment_created):
    payload = {k: v for k, v in comment_created.items() if k != "webhookTimestamp"}
    headers, body = delivery(payload)
    with pytest.raises(WebhookVerificationError) as refused:
        verify_webhook(LinearConnector.webhook_signature, SECRET, headers, body, now=NOW)
    assert refused.value.code == "timestamp_missing"


def test_the_manifest_declares_the_linear_preset():
    spec = LinearConnector.manifest().webhook_signature
    assert spec is not None and spec.preset == "linear"
    assert spec.model_dump(include={"header", "timestamp_field", "timestamp_unit", "tolerance_s"}) == {
        "header": "Linear-Signature",
        "timestamp_field": "webhookTimestamp",
        "timestamp_unit": "ms",
        "tolerance_s": 60,
    }
