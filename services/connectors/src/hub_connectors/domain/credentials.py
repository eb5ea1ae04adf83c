"""What a user may type in to connect without OAuth, and the vault key each value goes to.

The field → vault key mapping is shared with the oauth service and the gateway
(``hub_common.connection_credentials``); this module adds which methods take credentials here.
"""

from __future__ import annotations

from collections.abc import Mapping

from hub_common.connection_credentials import InvalidCredentials, fields_of, validate, vault_keys
from hub_common.errors import Unprocessable
from hub_connector_sdk import AuthenticationMethod, AuthSpec

__all__ = [
    "DIRECT_METHODS",
    "CredentialsNotAccepted",
    "InvalidCredentials",
    "fields_of",
    "prepare",
    "vault_keys",
]

M = AuthenticationMethod

# Methods whose credentials the user gives to this service directly.
DIRECT_METHODS = frozenset({M.API_KEY, M.BASIC, M.BEARER})


class CredentialsNotAccepted(Unprocessable):
    code = "credentials_not_accepted"


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
    return validate(auth, given)
