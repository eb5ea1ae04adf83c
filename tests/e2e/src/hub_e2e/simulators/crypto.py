"""Token generation, PKCE (RFC 7636) and constant-time secret comparison."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets

# RFC 7636 §4.1 (verifier) and §4.2 (challenge): 43..128 characters of the unreserved set.
_PKCE_VALUE = re.compile(r"[A-Za-z0-9\-._~]{43,128}")
# RFC 7636 §4.2: BASE64URL(SHA256(verifier)) without padding is always 43 characters.
_S256_CHALLENGE = re.compile(r"[A-Za-z0-9\-_]{43}")


def new_token(prefix: str = "", nbytes: int = 32) -> str:
    return prefix + secrets.token_urlsafe(nbytes)


def s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def is_valid_verifier(verifier: str) -> bool:
    return _PKCE_VALUE.fullmatch(verifier) is not None


def is_valid_s256_challenge(challenge: str) -> bool:
    return _S256_CHALLENGE.fullmatch(challenge) is not None


def verifier_matches(verifier: str, challenge: str) -> bool:
    return hmac.compare_digest(s256(verifier).encode("ascii"), challenge.encode("ascii"))


def secrets_equal(given: str, expected: str) -> bool:
    """Constant-time and length-independent: compare digests, not the strings."""
    return hmac.compare_digest(
        hashlib.sha256(given.encode("utf-8")).digest(), hashlib.sha256(expected.encode("utf-8")).digest()
    )


def stable_number(*parts: str, digits: int = 8) -> int:
    """A deterministic id for simulated people, teams and sites (same input, same id)."""
    digest = hashlib.sha256("\x00".join(parts).encode("utf-8")).hexdigest()
    modulus: int = 10**digits
    return int(digest[:12], 16) % modulus
