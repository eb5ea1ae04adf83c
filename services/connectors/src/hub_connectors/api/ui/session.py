"""Cookie sessions and CSRF checks of the UI (docs/adr/0029)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from starlette.datastructures import FormData
from starlette.requests import Request

from hub_common.errors import HubError
from hub_connectors.services.ui_sessions import UiSession

COOKIE = "hub_ui_session"
LOGIN_COOKIE = "hub_ui_login"  # a pre-session CSRF value for the sign-in form (double submit)
PATH = "/ui"


class LoginRequired(Exception):
    """No (live) session: the browser is sent to the sign-in page."""


class CsrfRefused(HubError):
    status_code = 403
    code = "csrf_refused"


class HubUserOnly(HubError):
    """A connect session (an end user's) asked for a hub user's page."""

    status_code = 403
    code = "connect_session_only"


async def session_of(request: Request, *, connect: bool = False) -> UiSession:
    session: UiSession | None = await request.app.state.container.ui_sessions.lookup(
        request.cookies.get(COOKIE)
    )
    if session is None:
        raise LoginRequired()
    if session.is_connect != connect:
        if connect:
            raise LoginRequired()
        raise HubUserOnly("this page is for hub users; an end user's connect session opens only /ui/connect")
    return session


def same_origin(request: Request) -> bool:
    """A state change must come from our own pages: the Origin (or Referer) header, when the
    browser sends one, names this host."""
    sent = request.headers.get("origin") or request.headers.get("referer")
    if not sent or sent == "null":
        return sent is None
    parts = urlsplit(sent)
    return parts.netloc.lower() == (request.headers.get("host") or "").lower()


async def checked_form(request: Request, session: UiSession) -> FormData:
    form = await request.form()
    token = form.get("csrf_token")
    if not same_origin(request) or not session.csrf_ok(token if isinstance(token, str) else None):
        raise CsrfRefused("the form's CSRF token or origin does not match this session; reload the page")
    return form


def cookie_args(request: Request, max_age: int) -> dict[str, Any]:
    settings = request.app.state.container.settings
    return {
        "max_age": max(1, max_age),
        "path": PATH,
        "httponly": True,
        "secure": not settings.dev_mode,
        "samesite": "lax",  # sent on the top-level return from an OAuth provider, not on cross-site POSTs
    }
