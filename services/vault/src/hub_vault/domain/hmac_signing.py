"""HMAC-SHA256 with a stored secret, so webhook verification never needs the secret outside."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from enum import StrEnum


class SecretFormat(StrEnum):
    """How the stored secret becomes HMAC key bytes (providers differ)."""

    RAW = "raw"  # the UTF-8 bytes of the secret (GitHub, Slack, most providers)
    BASE64 = "base64"
    HEX = "hex"
    WHSEC = "whsec"  # Standard Webhooks: base64 after a "whsec_" prefix


class SignatureEncoding(StrEnum):
    HEX = "hex"
    BASE64 = "base64"


class BadSecretFormat(ValueError):
    """The stored secret does not decode in the requested format (message holds no secret)."""


def hmac_key(secret: bytes, fmt: SecretFormat) -> bytes:
    key = _decoded(secret, fmt)
    if not key:  # anyone can compute an HMAC under the empty key
        raise BadSecretFormat("the stored secret is empty once decoded")
    return key


def _decoded(secret: bytes, fmt: SecretFormat) -> bytes:
    try:
        if fmt is SecretFormat.RAW:
            return secret
        if fmt is SecretFormat.HEX:
            return bytes.fromhex(secret.decode("ascii"))
        text = secret.decode("ascii")
        if fmt is SecretFormat.WHSEC:
            text = text.removeprefix("whsec_")
        # Either alphabet: the vault's own generated secrets are URL-safe base64 by default.
        text = text.replace("-", "+").replace("_", "/")
        return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise BadSecretFormat(f"the stored secret is not {fmt.value}-encoded") from None


def sign(key: bytes, message: bytes) -> bytes:
    return hmac.new(key, message, hashlib.sha256).digest()


def encode_signature(digest: bytes, encoding: SignatureEncoding) -> str:
    if encoding is SignatureEncoding.HEX:
        return digest.hex()
    return base64.b64encode(digest).decode("ascii")


def decode_signature(text: str, encoding: SignatureEncoding) -> bytes | None:
    """The raw digest, or None if ``text`` is not in ``encoding`` (then it simply does not match)."""
    try:
        if encoding is SignatureEncoding.HEX:
            return bytes.fromhex(text)
        return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (ValueError, binascii.Error):
        return None


def matches(expected: bytes, candidates: list[bytes | None]) -> bool:
    """Constant-time comparison against every candidate (no early exit)."""
    found = False
    for candidate in candidates:
        # compare_digest on equal-length inputs; a wrong length just never matches.
        ok = candidate is not None and hmac.compare_digest(expected, candidate)
        found = found or ok
    return found
