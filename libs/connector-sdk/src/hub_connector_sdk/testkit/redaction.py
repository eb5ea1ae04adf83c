"""Cassette redaction: the SDK's :mod:`hub_connector_sdk.redaction` (also used for error excerpts)."""

from hub_connector_sdk.redaction import (
    REDACTED,
    SECRET_KEYS,
    is_secret_key,
    kept_response_headers,
    redact,
    redact_fields,
    redact_text,
)

__all__ = [
    "REDACTED",
    "SECRET_KEYS",
    "is_secret_key",
    "kept_response_headers",
    "redact",
    "redact_fields",
    "redact_text",
]
