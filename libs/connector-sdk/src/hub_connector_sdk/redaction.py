"""What must never leave a connector: credentials, in headers, query strings, bodies, error excerpts.

Three layers: request headers are not recorded at all and response headers only from an
allow-list; values under secret-looking keys are replaced whole; strings are scanned for
credential shapes (``Bearer …``, ``OAuth …``) and for the literal secrets a test names.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping
from typing import Any

REDACTED = "[REDACTED]"

# The hub's one list of names whose values are secrets, in snake_case (hyphens read as
# underscores). ``hub_common.redaction`` (logs, traces, error details) uses it too, with the
# hub's own additions; docs/adr/0028-one-way-per-concern.md.
SECRET_KEYS = frozenset(
    {
        "authorization",
        "proxy_authorization",
        "cookie",
        "set_cookie",
        "x_api_key",
        "api_key",
        "apikey",
        "private_token",
        "private_key",
        "password",
        "passwd",
        "secret",
        "token",
        "access_token",
        "refresh_token",
        "id_token",
        "client_secret",
        "code_verifier",
        "authorization_code",
        "signing_secret",
        "verification_token",
        "x_gitlab_token",
    }
)
_SECRET_SUFFIXES = ("_secret", "_password", "_api_key", "_access_token", "_refresh_token")

# Response headers worth keeping: what a connector reads (pagination, rate limits, redirects).
_KEPT_HEADERS = frozenset({"content-type", "link", "location", "retry-after", "etag", "last-modified"})
_KEPT_HEADER_PREFIXES = ("x-ratelimit", "ratelimit", "x-rate-limit")

_CREDENTIAL_SHAPES = re.compile(r"(?i)\b(bearer|basic|oauth|token)\s+[A-Za-z0-9._~+/=\-]{8,}")


def is_secret_key(name: str, extra: Collection[str] = ()) -> bool:
    key = name.lower().replace("-", "_")
    return key in SECRET_KEYS or key in extra or key.endswith(_SECRET_SUFFIXES)


def redact_text(text: str, secret_values: Iterable[str] = ()) -> str:
    for value in secret_values:
        if value:
            text = text.replace(value, REDACTED)
    return _CREDENTIAL_SHAPES.sub(lambda m: f"{m.group(1)} {REDACTED}", text)


def redact(value: Any, secret_values: Iterable[str] = (), extra_keys: Collection[str] = ()) -> Any:
    """A copy of a JSON-like value with secrets replaced (the input is left untouched)."""
    secrets = tuple(secret_values)
    if isinstance(value, Mapping):
        return {
            k: REDACTED if is_secret_key(str(k), extra_keys) else redact(v, secrets, extra_keys)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [redact(v, secrets, extra_keys) for v in value]
    if isinstance(value, str):
        return redact_text(value, secrets)
    return value


def redact_fields(
    fields: Mapping[str, list[str]], secret_values: Iterable[str] = (), extra_keys: Collection[str] = ()
) -> dict[str, list[str]]:
    """Query or form fields (each name with its list of values) with secrets replaced."""
    secrets = tuple(secret_values)
    return {
        name: [REDACTED if is_secret_key(name, extra_keys) else redact_text(v, secrets) for v in values]
        for name, values in fields.items()
    }


def kept_response_headers(
    headers: Iterable[tuple[str, str]], secret_values: Iterable[str] = ()
) -> dict[str, str]:
    secrets = tuple(secret_values)
    kept: dict[str, str] = {}
    for name, value in headers:
        lowered = name.lower()
        if lowered in _KEPT_HEADERS or lowered.startswith(_KEPT_HEADER_PREFIXES):
            kept[lowered] = redact_text(value, secrets)
    return kept
