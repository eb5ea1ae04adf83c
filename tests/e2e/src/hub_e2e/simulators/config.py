"""Registered clients and the run-time settings of one simulator process."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit


class ConfigError(ValueError):
    """A client registration or settings change the simulator refuses (admin API answers 400)."""


def _check_redirect_uri(uri: Any) -> str:
    # RFC 6749 §3.1.2: an absolute URI, which MUST NOT include a fragment.
    if not isinstance(uri, str) or not uri:
        raise ConfigError("redirect_uris must be non-empty strings")
    parts = urlsplit(uri)
    if not parts.scheme or not parts.netloc:
        raise ConfigError(f"redirect URI {uri!r} is not absolute")
    if "#" in uri:
        raise ConfigError(f"redirect URI {uri!r} has a fragment (RFC 6749 §3.1.2)")
    return uri


@dataclass
class Client:
    client_id: str
    client_secret: str
    redirect_uris: list[str]
    pkce_required: bool | None = None  # None: the flavor's setting decides
    scopes: list[str] | None = None  # allowed scopes; None: any syntactically valid scope

    @classmethod
    def from_json(cls, data: Any) -> Client:
        if not isinstance(data, Mapping):
            raise ConfigError("a client is a JSON object")
        unknown = set(data) - {f.name for f in dataclasses.fields(cls)}
        if unknown:
            raise ConfigError(f"unknown client fields: {sorted(unknown)}")
        client_id, secret = data.get("client_id"), data.get("client_secret")
        if not isinstance(client_id, str) or not client_id:
            raise ConfigError("client_id is required")
        if not isinstance(secret, str) or not secret:
            raise ConfigError("client_secret is required (the simulator models confidential clients)")
        uris = data.get("redirect_uris")
        if not isinstance(uris, list) or not uris:
            raise ConfigError("redirect_uris must be a non-empty list")
        pkce = data.get("pkce_required")
        if pkce is not None and not isinstance(pkce, bool):
            raise ConfigError("pkce_required must be a boolean")
        scopes = data.get("scopes")
        if scopes is not None and not (isinstance(scopes, list) and all(isinstance(s, str) for s in scopes)):
            raise ConfigError("scopes must be a list of strings")
        return cls(client_id, secret, [_check_redirect_uri(u) for u in uris], pkce, scopes)

    def public_view(self) -> dict[str, Any]:
        return {
            "client_id": self.client_id,
            "redirect_uris": list(self.redirect_uris),
            "pkce_required": self.pkce_required,
            "scopes": self.scopes,
        }


def _default_sites() -> list[dict[str, Any]]:
    return [
        {
            "id": "11111111-2222-4333-8444-555555555555",
            "url": "https://sim-site.atlassian.net",
            "name": "sim-site",
            "avatarUrl": "https://sim-site.atlassian.net/avatar.png",
        }
    ]


@dataclass
class Settings:
    """Knobs with per-flavor defaults; overridable on the command line and via ``PATCH /_sim/settings``."""

    issuer: str | None = None  # None: the base URL the request arrived on
    access_token_ttl: float | None = 3600.0  # None: access tokens never expire
    code_ttl: float = 60.0
    issue_refresh_tokens: bool = True
    rotate_refresh_tokens: bool = True  # False: refresh answers carry no new refresh token
    pkce_required: bool = True
    iss_parameter: bool = False  # RFC 9207
    publish_metadata: bool = True  # RFC 8414
    user_decision: str = "approve"  # "deny": every authorization is refused by the "user"
    sites: list[dict[str, Any]] = field(default_factory=_default_sites)  # Atlassian accessible-resources

    _TYPES = {
        "issuer": (str, type(None)),
        "access_token_ttl": (int, float, type(None)),
        "code_ttl": (int, float),
        "issue_refresh_tokens": (bool,),
        "rotate_refresh_tokens": (bool,),
        "pkce_required": (bool,),
        "iss_parameter": (bool,),
        "publish_metadata": (bool,),
        "user_decision": (str,),
        "sites": (list,),
    }

    def update(self, changes: Mapping[str, Any]) -> None:
        for name, value in changes.items():
            types = self._TYPES.get(name)
            if types is None:
                raise ConfigError(f"unknown setting {name!r}")
            # bool is an int subclass: refuse true/false for the numeric settings
            if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
                raise ConfigError(f"setting {name!r} has the wrong type")
        if changes.get("user_decision", "approve") not in ("approve", "deny"):
            raise ConfigError("user_decision is 'approve' or 'deny'")
        for name, value in changes.items():
            setattr(
                self, name, float(value) if isinstance(value, int) and not isinstance(value, bool) else value
            )

    def as_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self._TYPES}
