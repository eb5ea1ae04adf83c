import base64
import hashlib
import hmac

import pytest

from hub_vault.domain.hmac_signing import (
    BadSecretFormat,
    SecretFormat,
    SignatureEncoding,
    decode_signature,
    encode_signature,
    hmac_key,
    matches,
    sign,
)
from hub_vault.services.credentials import SecretEncoding, generate_secret

pytestmark = pytest.mark.unit


def test_github_style_signature():
    secret, body = b"It's a Secret to Everybody", b"Hello, World!"
    expected = "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"  # GitHub docs
    digest = sign(hmac_key(secret, SecretFormat.RAW), body)
    assert encode_signature(digest, SignatureEncoding.HEX) == expected


def test_standard_webhooks_secret_format():
    raw = b"\x01" * 24
    secret = b"whsec_" + base64.b64encode(raw)
    assert hmac_key(secret, SecretFormat.WHSEC) == raw
    digest = sign(raw, b"id.ts.body")
    assert (
        decode_signature(encode_signature(digest, SignatureEncoding.BASE64), SignatureEncoding.BASE64)
        == digest
    )


def test_bad_secret_format_hides_the_secret():
    with pytest.raises(BadSecretFormat) as err:
        hmac_key(b"zz-not-hex-zz", SecretFormat.HEX)
    assert "zz-not-hex" not in str(err.value)


def test_matches_any_candidate_and_tolerates_garbage():
    digest = hmac.new(b"k", b"m", hashlib.sha256).digest()
    assert matches(digest, [None, b"short", digest])
    assert not matches(digest, [None, b"x" * 32])
    assert decode_signature("not-hex", SignatureEncoding.HEX) is None


@pytest.mark.parametrize("fmt,prefix", [(SecretFormat.WHSEC, "whsec_"), (SecretFormat.BASE64, "")])
def test_generated_url_safe_secrets_sign_in_the_base64_formats(fmt, prefix):
    # The generate call's default encoding is URL-safe base64: every such secret must be usable.
    for _ in range(200):
        secret = generate_secret(32, SecretEncoding.BASE64URL, prefix)
        raw = hmac_key(secret.encode(), fmt)
        assert len(raw) == 32
        assert base64.urlsafe_b64encode(raw).decode().rstrip("=") in secret


@pytest.mark.parametrize(
    "secret,fmt", [(b" ", SecretFormat.HEX), (b"whsec_", SecretFormat.WHSEC), (b"", SecretFormat.RAW)]
)
def test_a_secret_that_decodes_to_nothing_is_refused(secret, fmt):
    with pytest.raises(BadSecretFormat):
        hmac_key(secret, fmt)
