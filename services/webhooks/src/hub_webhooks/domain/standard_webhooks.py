"""Standard Webhooks (https://www.standardwebhooks.com/, the spec Svix wrote): what is signed and
how the headers look. The HMAC itself is computed inside the vault, which holds the secret.

Signed content: ``{webhook-id}.{webhook-timestamp}.{body}``; ``webhook-signature`` is a
space-separated list of ``v1,<base64 HMAC-SHA256>`` (one per valid secret during a rotation);
the key is the base64 part of the ``whsec_`` secret, decoded.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from hub_common import jsonutil


def body_of(event_type: str, timestamp: datetime, data: Any) -> bytes:
    """The push body: the spec's recommended ``{type, timestamp, data}`` envelope."""
    return jsonutil.dumps({"type": event_type, "timestamp": timestamp.isoformat(), "data": data})


def signed_content(webhook_id: str, timestamp: int, body: bytes) -> bytes:
    return f"{webhook_id}.{timestamp}.".encode() + body


def headers(webhook_id: str, timestamp: int, signatures: Sequence[str]) -> dict[str, str]:
    return {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(f"v1,{s}" for s in signatures),
        "content-type": "application/json",
    }


def secret_bytes(secret: str) -> bytes:
    """The HMAC key of a ``whsec_`` secret: its base64 part, decoded."""
    text = secret.removeprefix("whsec_")
    return base64.b64decode(text + "=" * (-len(text) % 4))


def sign(secret: str, content: bytes) -> str:
    return base64.b64encode(hmac.new(secret_bytes(secret), content, hashlib.sha256).digest()).decode("ascii")
