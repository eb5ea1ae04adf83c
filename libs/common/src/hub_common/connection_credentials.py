"""Non-OAuth credentials of a connection: what a user may type in (the connector's declared
fields) and the vault key each value is stored under.

One mapping for every service: the connectors service and the oauth service store through it
and the gateway injects from the same names. The first secret field of an API-key or bearer
connector is *the* key or token; other fields go under ``api_key.<field>``. Errors name fields,
never values.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from hub_common import credential_keys as keys
from hub_common.errors import Unprocessable
from hub_connector_sdk import AuthenticationMethod, AuthSpec, CredentialField

M = AuthenticationMethod
MAX_VALUE_CHARS = 8192
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")  # no credential has control characters (tabs included)

_DEFAULT_FIELDS: dict[AuthenticationMethod, tuple[CredentialField, ...]] = {
    M.API_KEY: (CredentialField(key="api_key", label="API key"),),
    M.BASIC: (
        CredentialField(key="username", label="Username", secret=False),
        CredentialField(key="password", label="Password"),
    ),
    M.BEARER: (CredentialField(key="token", label="Token"),),
}


class InvalidCredentials(Unprocessable):
    code = "invalid_credentials"


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


def validate(auth: AuthSpec, given: Mapping[str, object]) -> dict[str, str]:
    """Check user input against the connector's fields; return ``{vault key: value}``."""
    mapping = vault_keys(auth)
    fields = {f.key: f for f in fields_of(auth)}
    # An unknown name is not echoed: it may be a secret pasted into the wrong place.
    problems: list[dict[str, str]] = []
    if set(given) - set(fields):
        known = ", ".join(sorted(fields))
        problems.append({"field": "<unknown field>", "problem": f"unknown field; known: {known}"})
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
