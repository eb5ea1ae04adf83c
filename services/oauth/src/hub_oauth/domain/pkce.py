"""RFC 7636 PKCE (S256 only) and the flow's single-use state."""

from __future__ import annotations

import base64
import hashlib
import secrets


def new_verifier() -> str:
    # 32 random bytes → 43 base64url characters, the RFC's minimum length and 256 bits.
    return secrets.token_urlsafe(32)


def challenge(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def new_state() -> str:
    """256 random bits (the issue asks for at least 128)."""
    return secrets.token_urlsafe(32)


def state_hash(state: str) -> bytes:
    return hashlib.sha256(state.encode("utf-8")).digest()
