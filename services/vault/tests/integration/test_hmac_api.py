"""Webhook signatures are computed and checked inside the vault."""

import base64
import hashlib
import hmac
import uuid

import pytest

pytestmark = pytest.mark.integration


async def test_sign_and_verify_with_rotation_candidates(shared_vault, tenant):
    connection = uuid.uuid4()
    base = f"/v1/tenants/{tenant}/connections/{connection}"
    body = b'{"action":"opened","number":1}'
    async with shared_vault.http("webhooks") as webhooks:
        old = (await webhooks.post(f"{base}/credentials/webhook_secret/generate", json={})).json()["value"]
        made = await webhooks.post(f"{base}/credentials/webhook_secret.next/generate", json={})
        new = made.json()["value"]
        # the provider still signs with the old secret
        provider_sig = hmac.new(old.encode(), body, hashlib.sha256).hexdigest()
        message = base64.b64encode(body).decode()
        verify = {
            "keys": ["webhook_secret.next", "webhook_secret"],
            "message_base64": message,
            "signatures": ["deadbeef", provider_sig],
        }
        result = await webhooks.post(f"{base}/hmac/verify", json=verify)
        assert result.status_code == 200, result.text
        assert result.json() == {"valid": True, "key": "webhook_secret"}

        wrong = await webhooks.post(f"{base}/hmac/verify", json={**verify, "signatures": ["00" * 32]})
        assert wrong.json() == {"valid": False, "key": None}

        signed = await webhooks.post(
            f"{base}/hmac/sign",
            json={"key": "webhook_secret.next", "message_base64": message, "encoding": "base64"},
        )
        expected = base64.b64encode(hmac.new(new.encode(), body, hashlib.sha256).digest()).decode()
        assert signed.json() == {"key": "webhook_secret.next", "signature": expected, "encoding": "base64"}
        assert old not in signed.text and new not in result.text

        missing = await webhooks.post(f"{base}/hmac/verify", json={**verify, "keys": ["webhook_secret.gone"]})
        assert missing.status_code == 404
        assert missing.json()["error"]["code"] == "credential_not_found"

        both = await webhooks.post(
            f"{base}/hmac/sign", json={"key": "webhook_secret", "message": "a", "message_base64": "YQ=="}
        )
        assert both.status_code == 422

    async with shared_vault.http("gateway") as gateway:
        denied = await gateway.post(f"{base}/hmac/verify", json=verify)
        assert denied.status_code == 403


async def test_standard_webhooks_secret_format(shared_vault, tenant):
    connection = uuid.uuid4()
    base = f"/v1/tenants/{tenant}/connections/{connection}"
    async with shared_vault.http("webhooks") as webhooks:
        made = await webhooks.post(
            f"{base}/credentials/webhook_secret/generate",
            json={"encoding": "base64", "prefix": "whsec_", "bytes": 24},
        )
        secret = made.json()["value"]
        signed = await webhooks.post(
            f"{base}/hmac/sign",
            json={
                "key": "webhook_secret",
                "message": "msg_1.1700000000.{}",
                "secret_format": "whsec",
                "encoding": "base64",
            },
        )
        key = base64.b64decode(secret.removeprefix("whsec_"))
        expected = base64.b64encode(hmac.new(key, b"msg_1.1700000000.{}", hashlib.sha256).digest()).decode()
        assert signed.json()["signature"] == expected
        mismatch = await webhooks.post(
            f"{base}/hmac/sign", json={"key": "webhook_secret", "message": "x", "secret_format": "hex"}
        )
        assert mismatch.status_code == 422
        assert mismatch.json()["error"]["code"] == "secret_format_mismatch"
        assert secret not in mismatch.text


async def test_a_candidate_that_does_not_decode_does_not_hide_a_match(shared_vault, tenant):
    connection = uuid.uuid4()
    base = f"/v1/tenants/{tenant}/connections/{connection}"
    body = b"payload"
    async with shared_vault.http("webhooks") as webhooks:
        # The current secret is hex; the next one (mid-rotation) is not.
        await webhooks.post(f"{base}/credentials/webhook_secret/generate", json={"encoding": "hex"})
        await webhooks.post(
            f"{base}/credentials/webhook_secret.next/generate", json={"encoding": "base64url"}
        )
        signed = await webhooks.post(
            f"{base}/hmac/sign", json={"key": "webhook_secret", "message": "payload", "secret_format": "hex"}
        )
        verify = {
            "keys": ["webhook_secret", "webhook_secret.next"],
            "message_base64": base64.b64encode(body).decode(),
            "signatures": [signed.json()["signature"]],
            "secret_format": "hex",
        }
        result = await webhooks.post(f"{base}/hmac/verify", json=verify)
        assert result.status_code == 200, result.text
        assert result.json() == {"valid": True, "key": "webhook_secret"}
        # With no match, the unusable candidate is still reported, not hidden as "invalid".
        nomatch = await webhooks.post(f"{base}/hmac/verify", json={**verify, "signatures": ["00" * 32]})
        assert nomatch.status_code == 422 and nomatch.json()["error"]["code"] == "secret_format_mismatch"
