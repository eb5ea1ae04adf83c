"""The OAuth endpoints of one connection: the connector's defaults, per-connection overrides
(GitHub Enterprise, self-managed GitLab, simulators) and RFC 8414 discovery."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from hub_connector_sdk import OAuthConfig

OVERRIDE_KEYS = {
    "oauth_authorization_url": "authorization_url",
    "oauth_token_url": "token_url",
    "oauth_revocation_url": "revocation_url",
    "oauth_identity_url": "identity_url",
}
# The RFC 8414 metadata fields the hub calls or sends browsers to.
METADATA_ENDPOINTS = ("authorization_endpoint", "token_endpoint", "revocation_endpoint")


@dataclass(frozen=True)
class Endpoints:
    authorization_url: str
    token_url: str
    revocation_url: str | None
    identity_url: str | None
    issuer: str | None = None
    pkce: bool = True
    iss_required: bool = False

    def overridden_urls(self) -> list[str]:
        return [
            u for u in (self.authorization_url, self.token_url, self.revocation_url, self.identity_url) if u
        ]


def from_config(oauth: OAuthConfig, connection_config: dict[str, Any]) -> tuple[Endpoints, list[str]]:
    """Endpoints with overrides applied; also returns the overridden URLs (they need an SSRF check)."""
    endpoints = Endpoints(
        # Empty only with an issuer (the manifest model requires them otherwise): discovery
        # fills them in before anything is called.
        oauth.authorization_url or "",
        oauth.token_url or "",
        oauth.revocation_url,
        oauth.identity_url,
        issuer=oauth.issuer,
        pkce=oauth.use_pkce,
        iss_required=oauth.requires_iss,
    )
    overridden: list[str] = []
    for key, attr in OVERRIDE_KEYS.items():
        value = connection_config.get(key)
        if isinstance(value, str) and value:
            changes: dict[str, Any] = {attr: value}
            endpoints = replace(endpoints, **changes)
            overridden.append(value)
    return endpoints, overridden


def metadata_endpoints(metadata: dict[str, Any]) -> dict[str, str]:
    """The endpoint URLs an RFC 8414 document gives, by field: each needs an SSRF check, like the
    issuer's (the code, verifier and client secret are posted to them)."""
    return {f: url for f in METADATA_ENDPOINTS if isinstance(url := metadata.get(f), str)}


def from_metadata(base: Endpoints, issuer: str, metadata: dict[str, Any]) -> Endpoints:
    """Apply an RFC 8414 document; the caller has already checked ``issuer`` matches exactly."""
    # Read strictly: a document with odd types must not crash the flow or turn a feature on
    # ("S256" in a string is a substring test; bool("false") is True).
    methods = metadata.get("code_challenge_methods_supported")
    urls = metadata_endpoints(metadata)
    return replace(
        base,
        authorization_url=urls["authorization_endpoint"],
        token_url=urls["token_endpoint"],
        revocation_url=urls.get("revocation_endpoint") or base.revocation_url,
        issuer=issuer,
        pkce=isinstance(methods, list) and "S256" in methods,
        # The manifest's requires_iss holds whatever the metadata says; the metadata may add it.
        iss_required=base.iss_required
        or metadata.get("authorization_response_iss_parameter_supported") is True,
    )
