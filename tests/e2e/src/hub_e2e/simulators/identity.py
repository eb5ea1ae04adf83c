"""Protected resources that check access tokens: each provider's "who am I" call.

All but Slack answer 401 for a missing, unknown, revoked or expired token; Slack answers HTTP
200 with ``ok: false`` like every Web API method.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from hub_e2e.simulators.crypto import stable_number
from hub_e2e.simulators.httpio import FORM, bearer_token, media_type
from hub_e2e.simulators.state import Simulator, injected_fault, sim_of
from hub_e2e.simulators.store import AccessToken

REALM = 'realm="oauth-simulator"'


def person(subject: str) -> dict[str, Any]:
    """A deterministic simulated account for a subject (the ``sim_user`` given to /authorize)."""
    return {
        "id": stable_number("user", subject),
        "login": subject,
        "name": subject.replace("-", " ").title(),
        "email": f"{subject}@example.test",
    }


def _uuid(*parts: str) -> str:
    return f"00000000-0000-4000-8000-{stable_number(*parts, digits=12):012d}"


def notion_bot_id(client_id: str) -> str:
    return _uuid("notion-bot", client_id)


def notion_workspace(client_id: str, subject: str) -> dict[str, Any]:
    return {
        "workspace_id": _uuid("notion-workspace", client_id, subject),
        "workspace_name": f"{person(subject)['name']}'s Workspace",
        "workspace_icon": None,
    }


def notion_person(subject: str) -> dict[str, Any]:
    who = person(subject)
    return {
        "object": "user",
        "id": _uuid("notion-user", subject),
        "name": who["name"],
        "avatar_url": None,
        "type": "person",
        "person": {"email": who["email"]},
    }


async def _begin(request: Request) -> tuple[Simulator, Response | None]:
    sim = sim_of(request)
    sim.store.stats.identity_calls += 1
    return sim, await injected_fault(sim, "identity")


def _check(sim: Simulator, value: str | None) -> tuple[AccessToken | None, str]:
    token, status = sim.store.access_status(value)
    if token is None:
        sim.store.stats.identity_rejected += 1
    return token, status


async def userinfo(request: Request) -> Response:
    sim, early = await _begin(request)
    if early is not None:
        return early
    token, status = _check(sim, bearer_token(request))
    if token is None:
        # RFC 6750 §3 and §3.1: no error code when the request carried no token at all.
        challenge = f"Bearer {REALM}"
        if status != "missing":
            challenge += f', error="invalid_token", error_description="access token {status}"'
        return JSONResponse(
            {"error": "invalid_token", "error_description": f"access token {status}"},
            status_code=401,
            headers={"WWW-Authenticate": challenge},
        )
    who = person(token.subject)
    return JSONResponse(
        {
            "sub": str(who["id"]),
            "preferred_username": who["login"],
            "name": who["name"],
            "email": who["email"],
            "scope": " ".join(token.scope),
        }
    )


async def github_user(request: Request) -> Response:
    sim, early = await _begin(request)
    if early is not None:
        return early
    token, _ = _check(sim, bearer_token(request, schemes=("bearer", "token")))
    if token is None:
        return JSONResponse(
            {
                "message": "Bad credentials",
                "documentation_url": "https://docs.github.com/rest",
                "status": "401",
            },
            status_code=401,
        )
    who = person(token.subject)
    body = {
        "login": who["login"],
        "id": who["id"],
        "node_id": f"U_sim{who['id']}",
        "type": "User",
        "name": who["name"],
        "email": who["email"],
        "html_url": f"https://github.com/{who['login']}",
    }
    # GitHub reports a token's scopes in X-OAuth-Scopes on every API answer.
    headers = {"X-OAuth-Scopes": ", ".join(token.scope), "X-Accepted-OAuth-Scopes": ""}
    return JSONResponse(body, headers=headers)


async def gitlab_user(request: Request) -> Response:
    sim, early = await _begin(request)
    if early is not None:
        return early
    token, _ = _check(sim, bearer_token(request))
    if token is None:
        return JSONResponse({"message": "401 Unauthorized"}, status_code=401)
    who = person(token.subject)
    return JSONResponse(
        {
            "id": who["id"],
            "username": who["login"],
            "name": who["name"],
            "email": who["email"],
            "state": "active",
            "web_url": f"https://gitlab.example.test/{who['login']}",
        }
    )


async def atlassian_resources(request: Request) -> Response:
    sim, early = await _begin(request)
    if early is not None:
        return early
    token, _ = _check(sim, bearer_token(request))
    if token is None:
        return JSONResponse({"code": 401, "message": "Unauthorized"}, status_code=401)
    # One entry per site the grant covers; the site's scopes tell Jira from Confluence.
    return JSONResponse([{**site, "scopes": list(token.scope)} for site in sim.settings.sites])


async def atlassian_me(request: Request) -> Response:
    sim, early = await _begin(request)
    if early is not None:
        return early
    token, _ = _check(sim, bearer_token(request))
    if token is None:
        return JSONResponse({"code": 401, "message": "Unauthorized"}, status_code=401)
    who = person(token.subject)
    return JSONResponse(
        {
            "account_type": "atlassian",
            "account_id": f"712020:{_uuid('atlassian', token.subject)}",
            "email": who["email"],
            "name": who["name"],
            "nickname": who["login"],
            "account_status": "active",
        }
    )


async def slack_token_param(request: Request) -> str | None:
    """Slack takes the token as a Bearer header, a form field or a query parameter."""
    if (value := bearer_token(request)) is not None:
        return value
    if request.method == "POST" and media_type(request) == FORM:
        form = dict(parse_qsl((await request.body()).decode("utf-8", errors="replace")))
        if form.get("token"):
            return form["token"]
    return request.query_params.get("token") or None


SLACK_ERRORS = {
    "missing": "not_authed",
    "unknown": "invalid_auth",
    "revoked": "token_revoked",
    "expired": "token_expired",
}


async def slack_auth_test(request: Request) -> Response:
    sim, early = await _begin(request)
    if early is not None:
        return early
    token, status = _check(sim, await slack_token_param(request))
    if token is None:
        return JSONResponse({"ok": False, "error": SLACK_ERRORS[status]})
    who = person(token.subject)
    body: dict[str, Any] = {
        "ok": True,
        "url": "https://simulated-team.slack.com/",
        "team": "Simulated Team",
        "team_id": "T0SIMTEAM",
        "is_enterprise_install": False,
    }
    if token.kind == "user":
        body.update(user=who["login"], user_id=f"U{stable_number('slack-user', token.subject):08d}")
    else:
        body.update(
            user="simbot",
            user_id=f"U{stable_number('slack-bot', token.client_id):08d}",
            bot_id=f"B{stable_number('slack-bot-id', token.client_id):08d}",
        )
    return JSONResponse(body)


async def notion_me(request: Request) -> Response:
    sim, early = await _begin(request)
    if early is not None:
        return early
    if not request.headers.get("notion-version"):
        # "every call needs Notion-Version" (docs/connectors/)
        return JSONResponse(
            {
                "object": "error",
                "status": 400,
                "code": "missing_version",
                "message": "Notion-Version header failed validation: Notion-Version header "
                "should be defined, instead was `undefined`.",
            },
            status_code=400,
        )
    token, _ = _check(sim, bearer_token(request))
    if token is None:
        return JSONResponse(
            {"object": "error", "status": 401, "code": "unauthorized", "message": "API token is invalid."},
            status_code=401,
        )
    workspace = notion_workspace(token.client_id, token.subject)["workspace_name"]
    return JSONResponse(
        {
            "object": "user",
            "id": notion_bot_id(token.client_id),
            "name": "Simulated Integration",
            "avatar_url": None,
            "type": "bot",
            "bot": {
                "owner": {"type": "user", "user": notion_person(token.subject)},
                "workspace_name": workspace,
            },
        }
    )


async def linear_graphql(request: Request) -> Response:
    """Only ``query { viewer { ... } }``, the health check the hub uses."""
    sim, early = await _begin(request)
    if early is not None:
        return early
    token, _ = _check(sim, bearer_token(request))
    if token is None:
        # The GraphQL error Linear's SDK maps to AuthenticationLinearError.
        error = {
            "message": "Authentication required, not authenticated",
            "extensions": {
                "type": "authentication error",
                "code": "AUTHENTICATION_ERROR",
                "userPresentableMessage": "You need to authenticate to access this operation.",
            },
        }
        return JSONResponse({"errors": [error]}, status_code=401)
    try:
        payload = await request.json()
    except ValueError:
        payload = None
    query = payload.get("query") if isinstance(payload, dict) else None
    if not isinstance(query, str) or "viewer" not in query:
        return JSONResponse(
            {"errors": [{"message": "the simulator answers only the viewer query"}]}, status_code=400
        )
    who = person(token.subject)
    viewer = {
        "id": _uuid("linear-user", token.subject),
        "name": who["name"],
        "email": who["email"],
        "displayName": who["login"],
    }
    return JSONResponse({"data": {"viewer": {k: v for k, v in viewer.items() if k in query}}})
