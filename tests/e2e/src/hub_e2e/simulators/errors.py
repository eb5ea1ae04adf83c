"""OAuth error values raised by the simulator's logic and rendered by each flavor.

The canonical codes are RFC 6749's (§4.1.2.1 for the authorization endpoint, §5.2 for the
token endpoint) plus RFC 7009's ``unsupported_token_type``. ``about`` names what was wrong, so
flavors with their own vocabulary (GitHub ``bad_verification_code``, Slack ``invalid_code``)
can translate without re-deriving the cause.
"""

from __future__ import annotations

from typing import Literal

About = Literal[
    "request",
    "client_id",
    "client_secret",
    "client_auth_method",
    "code",
    "redirect_uri",
    "code_verifier",
    "refresh_token",
    "grant_type",
    "scope",
    "body_format",
]


class OAuthError(Exception):
    def __init__(self, error: str, description: str, *, about: About = "request") -> None:
        super().__init__(f"{error}: {description}")
        self.error = error
        self.description = description
        self.about = about

    @property
    def status(self) -> int:
        # RFC 6749 §5.2: invalid_client is 401, every other token error is 400.
        return 401 if self.error == "invalid_client" else 400


def invalid_request(description: str, about: About = "request") -> OAuthError:
    return OAuthError("invalid_request", description, about=about)


def invalid_grant(description: str, about: About) -> OAuthError:
    return OAuthError("invalid_grant", description, about=about)


def invalid_client(description: str, about: About) -> OAuthError:
    return OAuthError("invalid_client", description, about=about)
