"""Browser binding of authorization flows (RFC 6749 §10.12, RFC 9700 §4.7).

A flow's one-time start link puts a random value in a cookie of the browser that opens it; only
SHA-256 digests are stored. The callback completes the flow only for a browser that shows the
value: an authorization URL forwarded to someone else comes back without it.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from uuid import UUID

COOKIE_PREFIX = "hub_oauth_"


def new_secret() -> str:
    """256 random bits, URL- and cookie-safe (base64url)."""
    return secrets.token_urlsafe(32)


def digest(value: str) -> bytes:
    return hashlib.sha256(value.encode("utf-8")).digest()


def cookie_name(flow_id: UUID) -> str:
    # One cookie per flow: a browser may have several flows open (two tabs) at once.
    return f"{COOKIE_PREFIX}{flow_id.hex}"


def proves(presented: str | None, expected: bytes | None) -> bool:
    """Whether the browser's cookie value is the flow's binding, compared in constant time."""
    if presented is None or expected is None:
        return False
    return hmac.compare_digest(digest(presented), expected)
