"""Token endpoint answers, per provider profile, into one ``TokenSet``.

Quirks (docs/architecture.md §9): GitHub may answer form-encoded and reports errors with HTTP 200;
Slack always answers 200 with ``ok``, the bot token at the top level and the user token under
``authed_user``; Notion returns ``workspace_id``/``bot_id``/``owner``; scopes may be comma-separated.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl


class OAuthProviderError(Exception):
    """The provider refused or failed. ``retryable`` marks 5xx/network trouble."""

    def __init__(
        self, error: str, description: str = "", *, status: int | None = None, retryable: bool = False
    ) -> None:
        super().__init__(f"{error}: {description}" if description else error)
        self.error = error
        self.description = description[:300]
        self.status = status
        self.retryable = retryable


@dataclass(frozen=True)
class TokenSet:
    access_token: str
    token_type: str = "Bearer"
    refresh_token: str | None = None
    expires_in: int | None = None
    scopes: list[str] = field(default_factory=list)
    external_account_id: str | None = None
    external_account_name: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    extra_secrets: dict[str, str] = field(default_factory=dict)

    def secret_blob(self) -> dict[str, str]:
        """What goes to the vault: the token values, nothing else."""
        blob = {"access_token": self.access_token, "token_type": self.token_type}
        if self.refresh_token:
            blob["refresh_token"] = self.refresh_token
        blob.update(self.extra_secrets)
        return blob


def decode_body(content: bytes, content_type: str) -> dict[str, Any]:
    if not content:
        return {}
    if "json" in content_type or content.lstrip().startswith(b"{"):
        import json

        try:
            value = json.loads(content)
        except ValueError:
            raise OAuthProviderError("invalid_response", "token endpoint answered malformed JSON") from None
        if not isinstance(value, dict):
            raise OAuthProviderError("invalid_response", "token endpoint answered a non-object")
        return value
    return dict(parse_qsl(content.decode("utf-8", "replace"), keep_blank_values=True))


def _scopes(raw: Any) -> list[str]:
    if isinstance(raw, list):
        return [str(s) for s in raw]
    if not isinstance(raw, str) or not raw:
        return []
    return [s for s in raw.replace(",", " ").split() if s]


def _int(raw: Any) -> int | None:
    try:
        return int(raw) if raw not in (None, "") else None
    except (TypeError, ValueError):
        return None


def _str(raw: Any) -> str | None:
    """A non-empty string field, or None: a provider's odd types never reach the vault."""
    return raw if isinstance(raw, str) and raw else None


def _obj(raw: Any) -> dict[str, Any]:
    return raw if isinstance(raw, dict) else {}


# Providers' own words for RFC 6749's invalid_grant on a refresh: GitHub answers 200
# {"error": "bad_refresh_token"}, Slack {"ok": false, "error": "invalid_refresh_token"}. Read as
# invalid_grant, so a dead refresh token marks the connection token_invalid instead of being
# retried every hour; the provider's word stays in the description.
_DEAD_REFRESH_TOKEN = frozenset({"bad_refresh_token", "invalid_refresh_token"})


def _refusal(error: str, description: str, status: int) -> OAuthProviderError:
    if error in _DEAD_REFRESH_TOKEN:
        return OAuthProviderError("invalid_grant", f"{error}: {description}".rstrip(": "), status=status)
    return OAuthProviderError(error, description, status=status)


def parse(profile: str, status: int, body: dict[str, Any]) -> TokenSet:
    if status >= 500:
        raise OAuthProviderError(
            "server_error", f"token endpoint answered {status}", status=status, retryable=True
        )
    if profile == "slack":
        return _slack(status, body)
    if body.get("error"):
        raise _refusal(str(body["error"]), str(body.get("error_description") or ""), status)
    if status >= 400:
        raise OAuthProviderError("invalid_request", f"token endpoint answered {status}", status=status)
    token = body.get("access_token")
    if not isinstance(token, str) or not token:
        raise OAuthProviderError(
            "invalid_response", "token endpoint answered without access_token", status=status
        )
    metadata: dict[str, Any] = {}
    account_id: str | None = None
    account_name: str | None = None
    if profile == "notion":
        metadata = {
            k: body[k]
            for k in ("workspace_id", "workspace_name", "bot_id", "duplicated_template_id")
            if body.get(k) is not None
        }
        account_id = _str(body.get("workspace_id"))
        account_name = _str(body.get("workspace_name"))
    return TokenSet(
        access_token=token,
        token_type=_str(body.get("token_type")) or "Bearer",
        refresh_token=_str(body.get("refresh_token")),
        expires_in=_int(body.get("expires_in")),
        scopes=_scopes(body.get("scope")),
        external_account_id=account_id,
        external_account_name=account_name,
        metadata=metadata,
    )


def _slack(status: int, body: dict[str, Any]) -> TokenSet:
    if status >= 400 or not body.get("ok"):
        raise _refusal(str(body.get("error") or "invalid_response"), "", status)
    user = _obj(body.get("authed_user"))
    team = _obj(body.get("team"))
    bot_token = _str(body.get("access_token"))
    user_token = _str(user.get("access_token"))
    token = bot_token or user_token
    if not token:
        raise OAuthProviderError("invalid_response", "oauth.v2.access answered without a token")
    extra = {"user_access_token": user_token} if bot_token and user_token else {}
    user_refresh = _str(user.get("refresh_token"))
    if bot_token and user_token and user_refresh:
        extra["user_refresh_token"] = user_refresh
    source = body if bot_token else user
    return TokenSet(
        access_token=token,
        token_type=_str(source.get("token_type")) or "bot",
        refresh_token=_str(source.get("refresh_token")),
        expires_in=_int(source.get("expires_in")),
        scopes=_scopes(source.get("scope")),
        external_account_id=_str(team.get("id")),
        external_account_name=_str(team.get("name")),
        metadata={
            k: v
            for k, v in {
                "team_id": _str(team.get("id")),
                "bot_user_id": _str(body.get("bot_user_id")),
                "app_id": _str(body.get("app_id")),
                "authed_user_id": _str(user.get("id")),
                "user_scopes": _scopes(user.get("scope")),
            }.items()
            if v
        },
        extra_secrets=extra,
    )
