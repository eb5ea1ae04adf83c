"""How a connection's credential goes onto a provider request, per auth method.

Computed once per credential-cache entry (not per request): the result is a header to set and/or
a query parameter to add. The caller can never supply or override them: the header name is also
stripped from the caller's headers, the query name from the caller's query string.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import quote, quote_plus

from hub_common import credential_keys as keys
from hub_connector_sdk.models import AuthenticationMethod
from hub_gateway.domain.connection import ConnectionTarget
from hub_gateway.domain.errors import GatewayError

M = AuthenticationMethod
# Shorter secrets are not scrubbed from answers: they would match ordinary text (nobody's real
# key is this short).
MIN_SCRUBBED = 6


class CredentialsMissing(GatewayError):
    status_code = 409
    code = "credentials_missing"


class AuthMethodUnsupported(GatewayError):
    status_code = 502
    code = "auth_method_unsupported"


@dataclass(frozen=True, slots=True)
class Injection:
    header: tuple[str, str] | None = None  # (lower-case name, value)
    query: tuple[str, str] | None = None  # (name, percent-encoded value)
    token: str | None = None  # the OAuth access token (its sha256 goes to the refresh call)
    # A query key, in every form a provider could echo back: it is part of the URL the provider
    # saw, so it reappears in Location and pagination Link headers, and is scrubbed from answers.
    # (Header credentials are not part of any URL; scanning every answer for them cost ~2 us.)
    secrets: tuple[str, ...] = field(default=(), repr=False)
    # The injected header's name as ASGI spells it, dropped from the caller's (read every call).
    header_name: bytes | None = field(init=False, repr=False, compare=False)
    echo_guard: tuple[bytes, ...] = field(init=False, repr=False, compare=False)
    # The caller's headers never sent with this credential: the injected header's name, and
    # Accept-Encoding when a query key may be echoed (an uncompressed answer can be masked).
    request_drop: tuple[bytes, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        name = self.header[0].encode("latin-1") if self.header else None
        object.__setattr__(self, "header_name", name)
        # Longest first, so a form that contains another is replaced whole.
        forms = {
            f.encode()  # a key outside latin-1 must not break the injection (only its echo check)
            for s in self.secrets
            if len(s) >= MIN_SCRUBBED
            for f in _echo_forms(s)
        }
        object.__setattr__(self, "echo_guard", tuple(sorted(forms, key=len, reverse=True)))
        drop = (name,) if name else ()
        object.__setattr__(self, "request_drop", (*drop, b"accept-encoding") if forms else drop)

    def apply_query(self, query: str) -> str:
        if self.query is None:
            return query
        name, value = self.query
        kept = [p for p in query.split("&") if p and p.split("=", 1)[0] != quote(name, safe="")]
        kept.append(f"{quote(name, safe='')}={value}")
        return "&".join(kept)


_PERCENT_ESCAPE = re.compile(r"%[0-9A-F]{2}")


def _echo_forms(secret: str) -> set[str]:
    """The secret as a provider may write it back into a URL: raw, percent-encoded with or
    without ``/`` kept, form-encoded (space as ``+``), and each escape in lower-case hex."""
    encoded = {quote(secret, safe=""), quote(secret), quote_plus(secret)}
    lowered = {_PERCENT_ESCAPE.sub(lambda m: m.group().lower(), e) for e in encoded}
    return {secret} | encoded | lowered


def _need(creds: Mapping[str, str | None], key: str) -> str:
    value = creds.get(key)
    if not value:
        raise CredentialsMissing(
            "the connection has no stored credential to inject; reconnect it",
            details={"credential_key": key},
        )
    return value


def build_injection(target: ConnectionTarget, creds: Mapping[str, str | None]) -> Injection:
    method = target.auth_method
    if method is M.NONE:
        return Injection()
    if method is M.OAUTH2:
        token = _need(creds, keys.ACCESS_TOKEN)
        return Injection(header=("authorization", f"Bearer {token}"), token=token)
    if method is M.BEARER:
        token = _need(creds, target.credential_keys[0])
        return Injection(header=("authorization", f"Bearer {token}"))
    if method is M.BASIC:
        user = _need(creds, keys.BASIC_USERNAME)
        password = _need(creds, keys.BASIC_PASSWORD)
        encoded = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
        return Injection(header=("authorization", f"Basic {encoded}"))
    if method is M.API_KEY:
        key = _need(creds, target.credential_keys[0])
        placement = target.api_key
        if placement is None or placement.location == "header":
            name = placement.name if placement else "Authorization"
            prefix = placement.prefix if placement else "Bearer "
            return Injection(header=(name.lower(), f"{prefix}{key}"))
        return Injection(
            query=(placement.name, quote(f"{placement.prefix}{key}", safe="")),
            secrets=(key, f"{placement.prefix}{key}"),
        )
    raise AuthMethodUnsupported(f"the gateway cannot inject credentials of method {method}")
