"""Non-OAuth credentials: validate what a user typed against the connector's declared fields
and name the vault keys they are stored under."""

from __future__ import annotations

import re
from collections.abc import Mapping

from hub_common import credential_keys as keys
from hub_connector_sdk import AuthenticationMethod, AuthSpec, CredentialField

MAX_VALUE_CHARS = 8192

_DEFAULT_FIELDS: dict[AuthenticationMethod, list[CredentialField]] = {
    AuthenticationMethod.API_KEY: [CredentialField(key="api_key", label="API key")],
    AuthenticationMethod.BEARER: [CredentialField(key="token", label="Token")],
    AuthenticationMethod.BASIC: [
        CredentialField(key="username", label="Username", secret=False),
        CredentialField(key="password", label="Password"),
    ],
}


class InvalidCredentials(ValueError):
    def __init__(self, problems: dict[str, str]) -> None:
        super().__init__("credentials do not match the connector's fields")
        self.problems = problems


def fields_of(auth: AuthSpec) -> list[CredentialField]:
    return auth.fields or _DEFAULT_FIELDS.get(auth.method, [])


def vault_key(method: AuthenticationMethod, field_key: str, first_secret: bool) -> str:
    if method is AuthenticationMethod.BASIC and field_key in ("username", "password"):
        return keys.BASIC_USERNAME if field_key == "username" else keys.BASIC_PASSWORD
    if method is AuthenticationMethod.BEARER and first_secret:
        return keys.BEARER_TOKEN
    if method is AuthenticationMethod.API_KEY and first_secret:
        return keys.API_KEY
    return keys.secondary(keys.API_KEY, field_key)


def validate(auth: AuthSpec, submitted: Mapping[str, object]) -> dict[str, str]:
    """Map of vault key → value; raises InvalidCredentials naming each problem (never a value)."""
    fields = fields_of(auth)
    if not fields:
        raise InvalidCredentials({"": f"connectors with {auth.method.value} auth take no credentials here"})
    problems: dict[str, str] = {}
    known = {f.key for f in fields}
    for extra_key in submitted.keys() - known:
        problems[extra_key] = "unknown field"
    out: dict[str, str] = {}
    first_secret = True
    for f in fields:
        value = submitted.get(f.key)
        if value is None or value == "":
            if f.required:
                problems[f.key] = "required"
            continue
        if not isinstance(value, str):
            problems[f.key] = "must be a string"
            continue
        if len(value) > MAX_VALUE_CHARS or any(c in value for c in "\r\n\x00"):
            problems[f.key] = "too long or contains control characters"
            continue
        if f.pattern and not re.fullmatch(f.pattern, value):
            problems[f.key] = "does not have the expected format"
            continue
        out[vault_key(auth.method, f.key, first_secret and f.secret)] = value
        if f.secret:
            first_secret = False
    if problems:
        raise InvalidCredentials(problems)
    return out
