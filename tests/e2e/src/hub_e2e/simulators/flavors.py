"""Provider flavors: endpoints, client authentication, body formats and documented quirks.

Facts come from docs/architecture.md §9, docs/connectors/ and the providers' public OAuth documentation;
each quirk names its source. ``generic`` is plain RFC 6749/7636/7009/8414/9207 and the base
every other flavor adjusts.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from hub_e2e.simulators import identity, revocation
from hub_e2e.simulators.config import Settings
from hub_e2e.simulators.crypto import stable_number
from hub_e2e.simulators.errors import OAuthError, invalid_request
from hub_e2e.simulators.httpio import NO_STORE, no_store_json, oauth_error_body, uses_basic
from hub_e2e.simulators.store import Issued, TokenPolicy

# RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E ), i.e. no spaces or quotes.
_SCOPE_TOKEN = re.compile(r"[\x21\x23-\x5B\x5D-\x7E]+")


def parse_scope(raw: str, separator: str) -> tuple[str, ...]:
    tokens = raw.split(separator)
    for token in tokens:
        if not _SCOPE_TOKEN.fullmatch(token):
            raise OAuthError(
                "invalid_scope",
                f"malformed scope {raw!r}: items are separated by {separator!r}",
                about="scope",
            )
    return tuple(dict.fromkeys(tokens))


@dataclass(frozen=True)
class Endpoints:
    authorize: str
    token: str
    revoke: str | None = None  # RFC 7009-style endpoint; None when the provider has another call or none


class Flavor:
    """``generic``: RFC-compliant, HTTP Basic client authentication, form bodies, JSON answers."""

    name: ClassVar[str] = "generic"
    endpoints: ClassVar[Endpoints] = Endpoints("/authorize", "/token", "/revoke")
    token_auth_methods: ClassVar[frozenset[str]] = frozenset({"client_secret_basic"})
    token_formats: ClassVar[frozenset[str]] = frozenset({"form"})  # RFC 6749 §4.1.3
    revoke_formats: ClassVar[frozenset[str]] = frozenset({"form"})  # RFC 7009 §2.1
    revoke_answer_json: ClassVar[bool] = False
    revoke_ends_grant: ClassVar[bool] = False  # RFC 7009 §2.1: revoking an access token MAY end the grant
    grant_types: ClassVar[tuple[str, ...]] = ("authorization_code", "refresh_token", "client_credentials")
    implied_grant_type: ClassVar[str | None] = None  # grant assumed when grant_type is absent
    scope_separator: ClassVar[str] = " "  # RFC 6749 §3.3
    response_scope_separator: ClassVar[str] = " "
    uses_scopes: ClassVar[bool] = True
    scope_required: ClassVar[bool] = False
    redirect_uri_optional: ClassVar[bool] = False  # OAuth 2.1 §4.1.1 / RFC 9700 §2.1: always send it
    redirect_mismatch_to_registered: ClassVar[bool] = False
    required_authorize_params: ClassVar[Mapping[str, str]] = {}
    expiry_needs_refresh: ClassVar[bool] = False  # tokens expire only when refresh tokens are issued
    refresh_revokes_old_access: ClassVar[bool] = False
    token_type: ClassVar[str] = "Bearer"
    access_prefix: ClassVar[str] = ""
    refresh_prefix: ClassVar[str] = ""

    def default_settings(self) -> Settings:
        return Settings(
            access_token_ttl=3600.0, pkce_required=True, iss_parameter=True, publish_metadata=True
        )

    # -- authorization request ----------------------------------------------------------------

    def requested_scopes(self, query: Mapping[str, str]) -> dict[str, tuple[str, ...]]:
        """Token kind -> requested scopes (one kind, except Slack's bot and user tokens)."""
        if not self.uses_scopes:
            return {"default": ()}
        raw = query.get("scope")
        if raw is None:
            if self.scope_required:
                raise invalid_request("scope is required", about="scope")
            return {"default": ()}
        return {"default": parse_scope(raw, self.scope_separator)}

    def granted_scopes(self, requested: tuple[str, ...]) -> tuple[str, ...]:
        return requested

    def check_authorize(self, query: Mapping[str, str]) -> None:
        """Provider-specific authorization parameters (raise OAuthError); default: none."""

    def denial_params(self) -> dict[str, str]:
        return {"error": "access_denied", "error_description": "The user denied the authorization request."}

    # -- token issuance -----------------------------------------------------------------------

    def refresh_allowed(self, scope: Sequence[str]) -> bool:
        return True

    def policy(self, settings: Settings, kind: str, scope: Sequence[str]) -> TokenPolicy:
        ttl = settings.access_token_ttl
        if self.expiry_needs_refresh and not settings.issue_refresh_tokens:
            ttl = None
        return TokenPolicy(
            access_ttl=ttl,
            issue_refresh=settings.issue_refresh_tokens and self.refresh_allowed(scope),
            rotate=settings.rotate_refresh_tokens,
            revoke_old_access_on_refresh=self.refresh_revokes_old_access,
            access_prefix=self.access_prefix,
            refresh_prefix=self.refresh_prefix,
        )

    def render_scope(self, scope: Sequence[str]) -> str:
        return self.response_scope_separator.join(scope)

    def token_body(self, item: Issued) -> dict[str, Any]:
        # RFC 6749 §5.1
        body: dict[str, Any] = {"access_token": item.access_token, "token_type": self.token_type}
        if item.expires_in is not None:
            body["expires_in"] = item.expires_in
        if item.refresh_token is not None:
            body["refresh_token"] = item.refresh_token
        if self.uses_scopes:
            body["scope"] = self.render_scope(item.scope)
        return body

    def token_success(self, request: Request, issued: list[Issued], grant_type: str) -> Response:
        return no_store_json(self.token_body(issued[0]))

    def error_status(self, err: OAuthError) -> int:
        return err.status

    def token_error(self, request: Request, err: OAuthError) -> Response:
        headers: dict[str, str] = {}
        if err.error == "invalid_client" and (
            uses_basic(request) or "client_secret_basic" in self.token_auth_methods
        ):
            # RFC 6749 §5.2: 401 with WWW-Authenticate naming the scheme the client should use.
            headers["WWW-Authenticate"] = 'Basic realm="oauth-simulator", charset="UTF-8"'
        return no_store_json(oauth_error_body(err), self.error_status(err), headers)

    # -- provider-specific resources ----------------------------------------------------------

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/userinfo", identity.userinfo, methods=["GET", "POST"]),
            Route(self.endpoints.revoke or "/revoke", revocation.rfc7009, methods=["POST"]),
        ]


class GitHub(Flavor):
    """GitHub OAuth apps, and GitHub App user tokens when refresh tokens are switched on."""

    name = "github"
    endpoints = Endpoints("/login/oauth/authorize", "/login/oauth/access_token")
    # Docs list client_id and client_secret as request parameters; octokit sends JSON.
    token_auth_methods = frozenset({"client_secret_post"})
    token_formats = frozenset({"form", "json"})
    grant_types = ("authorization_code", "refresh_token")
    implied_grant_type = "authorization_code"  # the web-flow exchange has no grant_type parameter
    response_scope_separator = ","  # the answer says scope=repo%2Cgist
    redirect_uri_optional = True  # "if left out, GitHub redirects to the app's callback URL"
    # "Troubleshooting authorization request errors": a mismatching redirect_uri sends the user to
    # the *registered* callback with error=redirect_uri_mismatch (never to the unregistered one).
    redirect_mismatch_to_registered = True
    # OAuth app tokens never expire; GitHub App user tokens last 8 h with a 6-month refresh
    # token, and a refresh invalidates the old pair (the provider's OAuth documentation).
    expiry_needs_refresh = True
    refresh_revokes_old_access = True
    token_type = "bearer"
    docs = "https://docs.github.com/apps/managing-oauth-apps/troubleshooting-oauth-app-access-token-request-errors"
    _errors: ClassVar[Mapping[tuple[str, str], str]] = {
        ("invalid_client", "*"): "incorrect_client_credentials",
        ("invalid_grant", "code"): "bad_verification_code",
        ("invalid_grant", "code_verifier"): "bad_verification_code",
        ("invalid_grant", "redirect_uri"): "redirect_uri_mismatch",
        ("invalid_grant", "refresh_token"): "bad_refresh_token",
    }

    def default_settings(self) -> Settings:
        return Settings(
            access_token_ttl=28800.0, issue_refresh_tokens=False, pkce_required=False, publish_metadata=False
        )

    def denial_params(self) -> dict[str, str]:
        return {**super().denial_params(), "error_uri": f"{self.docs}#access-denied"}

    def policy(self, settings: Settings, kind: str, scope: Sequence[str]) -> TokenPolicy:
        policy = super().policy(settings, kind, scope)
        # gho_ = OAuth app token, ghu_/ghr_ = GitHub App user access/refresh token.
        policy.access_prefix = "ghu_" if policy.issue_refresh else "gho_"
        policy.refresh_prefix = "ghr_"
        return policy

    def token_body(self, item: Issued) -> dict[str, Any]:
        body = super().token_body(item)
        if item.refresh_token is not None:
            body["refresh_token_expires_in"] = 15811200  # 6 months, informational
        return body

    @staticmethod
    def _answer(request: Request, body: Mapping[str, Any]) -> Response:
        # "By default the response takes the form access_token=...&scope=...&token_type=bearer";
        # JSON only when the client asks for it with Accept.
        if "application/json" in request.headers.get("accept", "").lower():
            return no_store_json(dict(body))
        text = urlencode({k: str(v) for k, v in body.items() if v is not None})
        return Response(text, media_type="application/x-www-form-urlencoded; charset=utf-8", headers=NO_STORE)

    def token_success(self, request: Request, issued: list[Issued], grant_type: str) -> Response:
        return self._answer(request, self.token_body(issued[0]))

    def token_error(self, request: Request, err: OAuthError) -> Response:
        # GitHub answers token errors with HTTP 200 and an `error` field in the usual body format.
        code = self._errors.get((err.error, err.about)) or self._errors.get((err.error, "*")) or err.error
        return self._answer(
            request,
            {
                "error": code,
                "error_description": err.description,
                "error_uri": f"{self.docs}#{code.replace('_', '-')}",
            },
        )

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/user", identity.github_user, methods=["GET"]),
            Route("/applications/{client_id}/token", revocation.github_delete_token, methods=["DELETE"]),
            Route("/applications/{client_id}/grant", revocation.github_delete_grant, methods=["DELETE"]),
        ]


class GitLab(Flavor):
    """GitLab (Doorkeeper): Basic or body client auth, form or JSON, rotating refresh."""

    name = "gitlab"
    endpoints = Endpoints("/oauth/authorize", "/oauth/token", "/oauth/revoke")
    token_auth_methods = frozenset({"client_secret_basic", "client_secret_post"})
    token_formats = frozenset({"form", "json"})
    revoke_formats = frozenset({"form", "json"})
    revoke_answer_json = True
    revoke_ends_grant = True  # Doorkeeper keeps access and refresh token in one record
    grant_types = ("authorization_code", "refresh_token")
    # Access tokens last 2 h; a refresh rotates and invalidates the old pair (the provider's
    # OAuth documentation).
    refresh_revokes_old_access = True

    def default_settings(self) -> Settings:
        return Settings(access_token_ttl=7200.0, pkce_required=False, publish_metadata=True)

    def token_body(self, item: Issued) -> dict[str, Any]:
        return {**super().token_body(item), "created_at": int(time.time())}

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/api/v4/user", identity.gitlab_user, methods=["GET"]),
            Route("/oauth/userinfo", identity.userinfo, methods=["GET", "POST"]),
            Route(self.endpoints.revoke or "", revocation.rfc7009, methods=["POST"]),
        ]


class Atlassian(Flavor):
    """Atlassian 3LO (Jira, Confluence)."""

    name = "atlassian"
    endpoints = Endpoints("/authorize", "/oauth/token")  # "no per-token revoke API"
    token_auth_methods = frozenset({"client_secret_post"})  # client_id/client_secret in the JSON body
    token_formats = frozenset({"json"})
    grant_types = ("authorization_code", "refresh_token")
    scope_required = True
    # developer.atlassian.com "OAuth 2.0 (3LO) apps": audience and prompt=consent are required.
    required_authorize_params = {"audience": "api.atlassian.com", "prompt": "consent"}

    def default_settings(self) -> Settings:
        return Settings(access_token_ttl=3600.0, pkce_required=False, publish_metadata=False)

    def refresh_allowed(self, scope: Sequence[str]) -> bool:
        return "offline_access" in scope  # a refresh token only with the offline_access scope

    def error_status(self, err: OAuthError) -> int:
        # "Implementing the refresh token flow": 403 Forbidden with
        # {"error": "invalid_grant", "error_description": "Unknown or invalid refresh token."}
        if err.error == "invalid_grant" and err.about == "refresh_token":
            return 403
        return err.status

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/oauth/token/accessible-resources", identity.atlassian_resources, methods=["GET"]),
            Route("/me", identity.atlassian_me, methods=["GET"]),
        ]


class Slack(Flavor):
    """Slack OAuth v2 with optional token rotation."""

    name = "slack"
    endpoints = Endpoints("/oauth/v2/authorize", "/api/oauth.v2.access")
    # oauth.v2.access: "avoid sending client_id and client_secret as parameters ... supply them
    # using the HTTP Basic authentication scheme" -- both are accepted.
    token_auth_methods = frozenset({"client_secret_basic", "client_secret_post"})
    token_formats = frozenset({"form"})
    grant_types = ("authorization_code", "refresh_token")
    implied_grant_type = "authorization_code"
    scope_separator = ","
    response_scope_separator = ","
    redirect_uri_optional = True  # "must match the originally submitted URI (if one was sent)"
    # Rotation is opt-in: without it tokens never expire and there is no refresh token; with it
    # access tokens last 12 h and each refresh returns a new refresh token.
    expiry_needs_refresh = True
    token_type = "bot"
    team: ClassVar[dict[str, str]] = {"id": "T0SIMTEAM", "name": "Simulated Team"}
    _errors: ClassVar[Mapping[tuple[str, str], str]] = {
        ("invalid_client", "client_secret"): "bad_client_secret",
        ("invalid_client", "*"): "invalid_client_id",
        ("invalid_grant", "code"): "invalid_code",
        ("invalid_grant", "code_verifier"): "invalid_code",
        ("invalid_grant", "redirect_uri"): "bad_redirect_uri",
        ("invalid_grant", "refresh_token"): "invalid_refresh_token",
        ("unsupported_grant_type", "*"): "invalid_grant_type",
        ("invalid_request", "body_format"): "invalid_form_data",
        ("invalid_request", "*"): "invalid_arguments",
    }

    def default_settings(self) -> Settings:
        return Settings(
            access_token_ttl=43200.0, issue_refresh_tokens=False, pkce_required=False, publish_metadata=False
        )

    def requested_scopes(self, query: Mapping[str, str]) -> dict[str, tuple[str, ...]]:
        # `scope` asks for a bot token, `user_scope` for a user token; at least one is needed.
        kinds = {
            kind: parse_scope(query[param], ",")
            for kind, param in (("bot", "scope"), ("user", "user_scope"))
            if param in query
        }
        if not kinds:
            raise OAuthError("invalid_scope", "scope or user_scope is required", about="scope")
        return kinds

    def policy(self, settings: Settings, kind: str, scope: Sequence[str]) -> TokenPolicy:
        policy = super().policy(settings, kind, scope)
        letter = "p" if kind == "user" else "b"
        policy.access_prefix = f"xoxe.xox{letter}-1-" if policy.issue_refresh else f"xox{letter}-"
        policy.refresh_prefix = "xoxe-1-"
        return policy

    def _token_fields(self, item: Issued) -> dict[str, Any]:
        fields: dict[str, Any] = {
            "access_token": item.access_token,
            "token_type": item.kind,
            "scope": self.render_scope(item.scope),
        }
        if item.refresh_token is not None:
            fields["refresh_token"] = item.refresh_token
        if item.expires_in is not None:
            fields["expires_in"] = item.expires_in
        return fields

    def token_success(self, request: Request, issued: list[Issued], grant_type: str) -> Response:
        user_id = f"U{stable_number('slack-user', issued[0].subject):08d}"
        bot_user_id = f"U{stable_number('slack-bot', issued[0].client_id):08d}"
        body: dict[str, Any] = {
            "ok": True,
            "app_id": f"A{stable_number('app', issued[0].client_id):08d}",
            "team": self.team,
            "enterprise": None,
            "is_enterprise_install": False,
        }
        if grant_type == "refresh_token":
            item = issued[0]
            body.update(self._token_fields(item))
            body.update({"bot_user_id": bot_user_id} if item.kind == "bot" else {"user_id": user_id})
            return no_store_json(body)
        # Bot token at the top level, user token under authed_user (oauth.v2.access example).
        body["authed_user"] = {"id": user_id}
        for item in issued:
            if item.kind == "bot":
                body.update(self._token_fields(item), bot_user_id=bot_user_id)
            else:
                body["authed_user"].update(self._token_fields(item))
        return no_store_json(body)

    def token_error(self, request: Request, err: OAuthError) -> Response:
        # Slack Web API: HTTP 200 with {"ok": false, "error": "..."}.
        code = self._errors.get((err.error, err.about)) or self._errors.get((err.error, "*")) or err.error
        return no_store_json({"ok": False, "error": code})

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/api/auth.test", identity.slack_auth_test, methods=["GET", "POST"]),
            Route("/api/auth.revoke", revocation.slack_auth_revoke, methods=["GET", "POST"]),
        ]


class Notion(Flavor):
    """Notion public integrations."""

    name = "notion"
    endpoints = Endpoints("/v1/oauth/authorize", "/v1/oauth/token", "/v1/oauth/revoke")
    # "Create a token": HTTP Basic client auth and a JSON body (notion-oauth-token-create.json).
    token_auth_methods = frozenset({"client_secret_basic"})
    token_formats = frozenset({"json"})
    revoke_formats = frozenset({"json"})
    revoke_answer_json = True
    revoke_ends_grant = True  # revoking ends the integration's connection
    grant_types = ("authorization_code", "refresh_token")
    uses_scopes = False  # Notion has no OAuth scopes; access is chosen on the consent page
    required_authorize_params = {"owner": "user"}
    token_type = "bearer"
    access_prefix = "ntn_"
    refresh_prefix = "nrt_"

    def default_settings(self) -> Settings:
        # The documented token answers carry no expires_in; refresh rotates (refresh-a-token).
        return Settings(access_token_ttl=None, pkce_required=False, publish_metadata=False)

    def token_body(self, item: Issued) -> dict[str, Any]:
        return {
            **super().token_body(item),
            "bot_id": identity.notion_bot_id(item.client_id),
            **identity.notion_workspace(item.client_id, item.subject),
            "owner": {"type": "user", "user": identity.notion_person(item.subject)},
            "duplicated_template_id": None,
        }

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/v1/users/me", identity.notion_me, methods=["GET"]),
            Route(self.endpoints.revoke or "", revocation.rfc7009, methods=["POST"]),
        ]


class Linear(Flavor):
    """Linear OAuth 2.0."""

    name = "linear"
    endpoints = Endpoints("/oauth/authorize", "/oauth/token", "/oauth/revoke")
    token_auth_methods = frozenset({"client_secret_basic", "client_secret_post"})
    # "Content-Type header should be application/x-www-form-urlencoded"
    token_formats = frozenset({"form"})
    revoke_ends_grant = True
    grant_types = ("authorization_code", "refresh_token", "client_credentials")
    scope_separator = ","  # "Comma separated list of scopes" ...
    response_scope_separator = " "  # ... while the documented token answer says "read write"
    scope_required = True
    access_prefix = "lin_oauth_"
    refresh_prefix = "lin_refresh_"

    def default_settings(self) -> Settings:
        return Settings(access_token_ttl=86399.0, pkce_required=False, publish_metadata=False)

    def granted_scopes(self, requested: tuple[str, ...]) -> tuple[str, ...]:
        # "read - (Default) ... This scope will always be present."
        return requested if "read" in requested else ("read", *requested)

    def check_authorize(self, query: Mapping[str, str]) -> None:
        # "actor: user (default) or app"; "prompt=consent" shows the consent screen again (to pick
        # another workspace).
        if query.get("actor", "user") not in ("user", "app"):
            raise invalid_request("actor is user or app")
        if query.get("prompt", "consent") != "consent":
            raise invalid_request("prompt takes only consent")

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/graphql", identity.linear_graphql, methods=["POST"]),
            Route(self.endpoints.revoke or "", revocation.linear_revoke, methods=["POST"]),
        ]


FLAVORS: dict[str, type[Flavor]] = {
    f.name: f for f in (Flavor, GitHub, GitLab, Atlassian, Slack, Notion, Linear)
}


def get_flavor(name: str) -> Flavor:
    try:
        return FLAVORS[name]()
    except KeyError:
        raise ValueError(f"unknown flavor {name!r}; one of {sorted(FLAVORS)}") from None
