"""What a user may type in to connect without OAuth, and the vault key each value goes to.

The vault's policy lets this service store only ``api_key``, ``api_key.*``, ``bearer_token``,
``basic_username`` and ``basic_password`` (the names the gateway injects from). The mapping is
the one the oauth service's credential capture uses (the first secret field of an API-key or
bearer connector is *the* key or token; other fields go under ``api_key.<field>``), so either
path stores a connection's credentials under the same names. Values never leave this module
except to the vault; errors name fields, never values.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from hub_common import credential_keys as keys
from hub_common.errors import Unprocessable
from hub_connector_sdk import AuthenticationMethod, AuthSpec, CredentialField

M = AuthenticationMethod

# Methods whose credentials the user gives to this service directly.
DIRECT_METHODS = frozenset({M.API_KEY, M.BASIC, M.BEARER})
# What this hub can host at all (the gateway must know how to inject it).
SUPPORTED_METHODS = frozenset({M.NONE, M.API_KEY, M.BASIC, M.BEARER, M.OAUTH2})

_DEFAULT_FIELDS: dict[AuthenticationMethod, tuple[CredentialField, ...]] = {
    M.API_KEY: (CredentialField(key="api_key", label="API key"),),
    M.BASIC: (
        CredentialField(key="username", label="Username", secret=False),
        CredentialField(key="password", label="Password"),
    ),
    M.BEARER: (CredentialField(key="token", label="Token"),),
}
MAX_VALUE_CHARS = 8192
_CONTROL = re.compile(r"[\r\n\x00]")


class InvalidCredentials(Unprocessable):
    code = "invalid_credentials"


class CredentialsNotAccepted(Unprocessable):
    code = "credentials_not_accepted"


def fields_of(auth: AuthSpec) -> tuple[CredentialField, ...]:
    return tuple(auth.fields) or _DEFAULT_FIELDS.get(auth.method, ())


def vault_key(method: AuthenticationMethod, field_key: str, first_secret: bool) -> str:
    """The vault credential key for one manifest field."""
    if method is M.BASIC and field_key in ("username", "password"):
        return keys.BASIC_USERNAME if field_key == "username" else keys.BASIC_PASSWORD
    if method is M.BEARER and first_secret:
        return keys.BEARER_TOKEN
    if method is M.API_KEY and first_secret:
        return keys.API_KEY
    return keys.secondary(keys.API_KEY, field_key)


def vault_keys(auth: AuthSpec) -> dict[str, str]:
    """Manifest field → vault key, for every field the connector declares."""
    mapping: dict[str, str] = {}
    first_secret = True
    for f in fields_of(auth):
        mapping[f.key] = vault_key(auth.method, f.key, first_secret and f.secret)
        if f.secret:
            first_secret = False
    return mapping


def prepare(auth: AuthSpec, given: Mapping[str, object] | None) -> dict[str, str]:
    """Validate user input against the manifest; return ``{vault key: value}`` to store."""
    given = dict(given or {})
    if auth.method not in DIRECT_METHODS:
        if given:
            how = "through the OAuth flow" if auth.method is M.OAUTH2 else "without credentials"
            raise CredentialsNotAccepted(
                f"this connector authenticates {how}; do not send credentials",
                details={"auth_method": str(auth.method)},
            )
        return {}
    mapping = vault_keys(auth)
    fields = {f.key: f for f in fields_of(auth)}
    problems: list[dict[str, str]] = []
    for key in sorted(set(given) - set(fields)):
        problems.append({"field": key[:64], "problem": "unknown field"})
    out: dict[str, str] = {}
    for key, spec in fields.items():
        value = given.get(key)
        if value is None or value == "":
            if spec.required:
                problems.append({"field": key, "problem": "required"})
            continue
        if not isinstance(value, str):
            problems.append({"field": key, "problem": "must be a string"})
        elif len(value) > MAX_VALUE_CHARS or _CONTROL.search(value):
            problems.append({"field": key, "problem": "too long or contains control characters"})
        elif spec.pattern and not re.fullmatch(spec.pattern, value):
            problems.append({"field": key, "problem": "does not match the expected format"})
        else:
            out[mapping[key]] = value
    if problems:
        raise InvalidCredentials(
            "credentials do not match the connector's fields", details={"fields": problems}
        )
    return out
