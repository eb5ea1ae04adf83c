"""The authorization request URL (RFC 6749 §4.1.1 with RFC 7636 PKCE and provider extras)."""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlencode, urlsplit, urlunsplit

from hub_connector_sdk import OAuthConfig

# Parameters the hub owns: a caller's additional_parameters may not replace them.
RESERVED = frozenset(
    {
        "response_type",
        "client_id",
        "redirect_uri",
        "scope",
        "state",
        "code_challenge",
        "code_challenge_method",
    }
)


def authorization_url(
    endpoint: str,
    *,
    oauth: OAuthConfig,
    client_id: str,
    redirect_uri: str,
    scopes: list[str],
    state: str,
    code_challenge: str | None,
    additional: Mapping[str, str] | None = None,
) -> str:
    params: dict[str, str] = {"response_type": "code", "client_id": client_id, "redirect_uri": redirect_uri}
    if scopes:
        params["scope"] = oauth.scope_separator.join(scopes)
    params["state"] = state
    if code_challenge is not None:
        params["code_challenge"] = code_challenge
        params["code_challenge_method"] = "S256"
    params.update(oauth.extra_authorize_params)  # Atlassian audience/prompt, Notion owner=user ...
    for key, value in (additional or {}).items():
        if key not in RESERVED:
            params[key] = value
    parts = urlsplit(endpoint)
    query = f"{parts.query}&{urlencode(params)}" if parts.query else urlencode(params)
    return urlunsplit(parts._replace(query=query))
