"""The authorization request URL (RFC 6749 §4.1.1 with RFC 7636 PKCE and provider extras)."""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from hub_connector_sdk import OAuthConfig

# Parameters the hub owns: neither the provider's endpoint URL, nor a manifest's extras, nor a
# caller's additional_parameters may set them (compared trimmed and case-insensitively). RFC 9101's
# request/request_uri would replace every other parameter; response_mode would move the answer
# somewhere the GET callback never sees.
RESERVED = frozenset(
    {
        "response_type",
        "client_id",
        "redirect_uri",
        "scope",
        "state",
        "code_challenge",
        "code_challenge_method",
        "request",
        "request_uri",
        "response_mode",
    }
)


def is_reserved(name: str) -> bool:
    return name.strip().lower() in RESERVED


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
    parts = urlsplit(endpoint)
    # The endpoint's own query, then the manifest's extras (Atlassian audience/prompt, Notion
    # owner=user ...), then the caller's: a later one replaces an earlier one, none replaces ours.
    for source in (parse_qsl(parts.query, keep_blank_values=True), oauth.extra_authorize_params.items()):
        params.update((k, v) for k, v in source if not is_reserved(k))
    params.update((k, v) for k, v in (additional or {}).items() if not is_reserved(k))
    return urlunsplit(parts._replace(query=urlencode(params)))
