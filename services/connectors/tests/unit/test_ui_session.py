"""The UI's cookie and CSRF rules (docs/adr/0029): Secure outside dev/test, HttpOnly and
SameSite=Lax always; a form must come from our own origin with the session's token."""

from datetime import UTC, datetime
from types import SimpleNamespace

import pytest
from starlette.requests import Request

from hub_common.web.auth import Tier
from hub_connectors.api.ui.session import cookie_args, same_origin
from hub_connectors.services.ui_sessions import UiSession

pytestmark = pytest.mark.unit


def _request(headers: dict[str, str], environment: str = "production") -> Request:
    settings = SimpleNamespace(dev_mode=environment in ("dev", "test"))
    app = SimpleNamespace(state=SimpleNamespace(container=SimpleNamespace(settings=settings)))
    scope = {
        "type": "http",
        "method": "POST",
        "path": "/ui/x",
        "headers": [(k.encode(), v.encode()) for k, v in headers.items()],
        "app": app,
    }
    return Request(scope)


@pytest.mark.parametrize(("environment", "secure"), [("production", True), ("dev", False), ("test", False)])
def test_the_cookie_is_secure_outside_dev(environment, secure):
    args = cookie_args(_request({}, environment), 60)
    assert args["secure"] is secure
    assert args["httponly"] is True and args["samesite"] == "lax" and args["path"] == "/ui"


@pytest.mark.parametrize(
    ("headers", "ok"),
    [
        ({"host": "hub.example", "origin": "https://hub.example"}, True),
        ({"host": "hub.example", "referer": "https://hub.example/ui/connections"}, True),
        ({"host": "hub.example"}, True),  # no Origin/Referer sent: the token alone decides
        ({"host": "hub.example", "origin": "https://evil.example"}, False),
        ({"host": "hub.example", "origin": "null"}, False),
        ({"host": "hub.example", "referer": "https://hub.example.evil.test/"}, False),
    ],
)
def test_a_form_must_come_from_our_own_origin(headers, ok):
    assert same_origin(_request(headers)) is ok


def test_the_csrf_token_must_match_exactly():
    session = UiSession("t", "u", Tier.TEAMS, "a" * 43, datetime.now(UTC))
    assert session.csrf_ok("a" * 43)
    assert not session.csrf_ok("a" * 42) and not session.csrf_ok("") and not session.csrf_ok(None)
