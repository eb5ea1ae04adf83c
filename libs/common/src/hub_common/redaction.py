"""Secret redaction for logs, traces and error details.

Two layers: values under sensitive key names are replaced whole, and strings are scanned for
token shapes (bearer/basic credentials, provider tokens, JWTs, secrets in query strings and
URLs). Both layers are cheap enough to run on every log record.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from hub_connector_sdk.redaction import SECRET_KEYS

REDACTED = "[REDACTED]"

# The SDK's list (what a connector must never record) and the hub's own: vault internals.
# Names are snake_case; :func:`is_sensitive_key` reads hyphens and camelCase as underscores.
SENSITIVE_KEYS = SECRET_KEYS | frozenset({"kek", "value", "plaintext"})
_SENSITIVE_SUFFIXES = ("_token", "-token", "_secret", "-secret", "_password", "_apikey", "_api_key")
# Names that end like a secret but only ever carry metadata.
_SAFE_KEYS = frozenset({"token_type", "credential_key", "key_version", "next_token"})

# What follows "Bearer" is a credential (prose says "Bearer token", too short to match). After
# the other schemes, which are also ordinary words, a word is a credential only if it looks like
# one: a digit, a character words don't have (+ / = _ ~), mixed case past the first letter, or
# 24 characters and more. "token refreshed" and "Basic authentication failed" stay readable;
# "OAuth 3f9c..." and "token s3cr3t..." don't.
_CREDENTIAL_MARKS = re.compile(r"[0-9+/=_~]|[A-Za-z][a-z]*[A-Z]")


def _scheme_credential(match: re.Match[str]) -> str:
    scheme, value = match.group(1), match.group(2)
    if scheme.lower() == "bearer" or len(value) >= 24 or _CREDENTIAL_MARKS.search(value):
        return f"{scheme} {REDACTED}"
    return match.group(0)


_PATTERNS: tuple[tuple[re.Pattern[str], str | Callable[[re.Match[str]], str]], ...] = (
    # An explicit Authorization header line: whatever follows is a credential (a scheme is kept).
    (
        re.compile(
            r"(?i)\b((?:proxy-)?authorization\s*:\s*)((?:bearer|basic|token|digest|oauth|sso-key)\s+)?"
            r"[^\s,;\"']{4,}"
        ),
        r"\1\2" + REDACTED,
    ),
    # Authorization values elsewhere in a string ("Bearer x", "OAuth x", "token x"), when the
    # word after the scheme looks like a credential (see _scheme_credential).
    (re.compile(r"(?i)\b(bearer|basic|token|digest|oauth)\s+([A-Za-z0-9._~+/=\-]{8,})"), _scheme_credential),
    # JSON Web Tokens.
    (re.compile(r"\beyJ[A-Za-z0-9_\-]{5,}\.[A-Za-z0-9_\-]{5,}\.[A-Za-z0-9_\-]*"), REDACTED),
    # Provider token shapes.
    (re.compile(r"\bgh[pousr]_[A-Za-z0-9]{20,}"), REDACTED),
    (re.compile(r"\bgithub_pat_[A-Za-z0-9_]{20,}"), REDACTED),
    (re.compile(r"\bglpat-[A-Za-z0-9_\-]{16,}"), REDACTED),
    (re.compile(r"\bgl(?:oas|rt|dt|ptt|ft|imt|cbt)-[A-Za-z0-9_\-]{16,}"), REDACTED),
    (re.compile(r"\bxox[abposre]-[A-Za-z0-9\-]{10,}"), REDACTED),
    (re.compile(r"\bxapp-[A-Za-z0-9\-]{10,}"), REDACTED),
    (re.compile(r"\bsk-(?:ant-|proj-|svcacct-|admin-)?[A-Za-z0-9_\-]{16,}"), REDACTED),
    (re.compile(r"\blin_(?:api|oauth)_[A-Za-z0-9]{16,}"), REDACTED),
    (re.compile(r"\b(?:secret|ntn)_[A-Za-z0-9]{20,}"), REDACTED),
    (re.compile(r"\bATATT[A-Za-z0-9_\-=]{16,}"), REDACTED),
    (re.compile(r"\bwhsec_[A-Za-z0-9+/=]{16,}"), REDACTED),
    (re.compile(r"\bAKIA[0-9A-Z]{16}\b"), REDACTED),
    # Secrets in query strings or form bodies: the names, and any name ending like one
    # (oauth_token=, x_api_key=, api-key=, secret_key=); "code" and "key" only as themselves
    # (status_code= and sort_key= are no secrets).
    (
        re.compile(
            r"(?i)(?<![A-Za-z0-9_\-])([A-Za-z0-9_\-]*(?:token|secret|password|passwd|api[_\-]?key|code_verifier"
            r"|(?:access|secret|private|signing|client|auth|subscription|license)[_\-]?key)"
            r"|code|key)=([^&\s\"']+)"
        ),
        r"\1=" + REDACTED,
    ),
    # The same as quoted pairs: JSON ("client_secret": "x") and a repr'd dict ('password': 'x'),
    # one pattern per quote. The value's two branches can never match the same character (an
    # escape pair, or neither a backslash nor the quote), so matching stays linear.
    (
        re.compile(
            r'(?i)("[A-Za-z0-9_\-]*(?:token|secret|password|passwd|api[_\-]?key|authorization)"\s*:\s*)'
            r'"(?:[^"\\\n]|\\.){0,1024}"'
        ),
        r'\1"' + REDACTED + '"',
    ),
    (
        re.compile(
            r"(?i)('[A-Za-z0-9_\-]*(?:token|secret|password|passwd|api[_\-]?key|authorization)'\s*:\s*)"
            r"'(?:[^'\\\n]|\\.){0,1024}'"
        ),
        r"\1'" + REDACTED + "'",
    ),
    # A repr'd (name, value) header pair: ('x-api-key', 'abc'), (b'authorization', b'Bearer x').
    (
        re.compile(
            r"(?i)(\(b?'[A-Za-z0-9_\-]*(?:token|secret|password|passwd|api[_\-]?key|authorization|cookie)'"
            r",\s*)b?'(?:[^'\\\n]|\\.){0,1024}'"
        ),
        r"\1'" + REDACTED + "'",
    ),
    # Header lines: X-Api-Key: abc, Private-Token: abc.
    (
        re.compile(r"(?i)\b(x-api-key|private-token|x-gitlab-token|api-key)(\s*:\s*)[^\s,;]+"),
        r"\1\2" + REDACTED,
    ),
    # Credentials in URLs: scheme://user:password@host (an empty user too). RFC 3986 keeps "/",
    # "?" and "#" out of the userinfo; an "@" some put in a password anyway is taken up to the
    # last "@" before the path. (Bounded: unbounded, long runs of "a://b:" were quadratic.)
    (
        re.compile(r"(?i)\b([a-z][a-z0-9+.\-]{0,32}://[^/\s:@]{0,256}):[^\s/?#]{0,1024}@"),
        r"\1:" + REDACTED + "@",
    ),
)


_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def is_sensitive_key(key: str) -> bool:
    """The key as written (lower-cased), or spelled snake_case (clientSecret, Private-Key), names a
    secret. Both spellings are checked: the sets hold hyphenated names (set-cookie) too."""
    for k in {key.lower(), _CAMEL.sub("_", key).lower().replace("-", "_")}:
        if k in _SAFE_KEYS:
            return False
        if k in SENSITIVE_KEYS or k.endswith(_SENSITIVE_SUFFIXES):
            return True
    return False


def redact_text(text: str) -> str:
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def redact(value: Any, _depth: int = 0) -> Any:
    """Return a copy of ``value`` with secrets removed (mappings, sequences and strings)."""
    if _depth > 12:
        return REDACTED
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, Mapping):
        return {
            k: (
                REDACTED
                if isinstance(k, str) and is_sensitive_key(k) and v not in (None, "")
                else redact(v, _depth + 1)
            )
            for k, v in value.items()
        }
    if isinstance(value, tuple) and len(value) == 2 and _names_secret(value[0]):
        return [redact(value[0], _depth + 1), REDACTED]  # a (name, value) header pair
    if isinstance(value, list | tuple | set | frozenset):
        return [redact(v, _depth + 1) for v in value]
    if isinstance(value, bytes | bytearray):
        return REDACTED
    if value is None or isinstance(value, bool | int | float):
        return value
    # Anything else is logged as its text (an httpx.URL, an exception): scanned like a string.
    return redact_text(str(value))


def _names_secret(name: Any) -> bool:
    if isinstance(name, bytes):
        name = name.decode("latin-1")
    return isinstance(name, str) and is_sensitive_key(name)
