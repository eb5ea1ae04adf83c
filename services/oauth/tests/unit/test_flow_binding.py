"""The binding's pieces: constant-time proof, cookie naming, when the cookie is Secure."""

import uuid

import pytest

from hub_oauth.config import OAuthSettings
from hub_oauth.domain import binding

pytestmark = pytest.mark.unit


def test_only_the_bound_value_proves_the_binding():
    value = binding.new_secret()
    stored = binding.digest(value)
    assert len(value) >= 43 and binding.proves(value, stored)
    assert not binding.proves(binding.new_secret(), stored)
    assert not binding.proves(None, stored)  # no cookie
    assert not binding.proves(value, None)  # the flow was never opened in a browser
    assert not binding.proves("", binding.digest("x"))


def test_each_flow_has_its_own_cookie():
    a, b = uuid.uuid4(), uuid.uuid4()
    assert binding.cookie_name(a) != binding.cookie_name(b)
    assert binding.cookie_name(a) == f"hub_oauth_{a.hex}"


@pytest.mark.parametrize(
    ("public_url", "secure"),
    [
        ("http://127.0.0.1:8082", False),
        ("http://localhost:8082", False),
        ("http://[::1]:8082", False),
        ("https://hub.example.com", True),
        ("https://127.0.0.1:8443", True),
        ("http://10.0.0.5:8082", True),  # plain http beyond loopback: never sent in clear text
        ("http://hub.example.com", True),
    ],
)
def test_the_cookie_is_secure_except_on_plain_http_loopback(public_url, secure):
    settings = OAuthSettings(oauth_public_url=public_url)
    assert settings.binding_cookie_secure is secure


def test_the_cookie_path_is_the_public_callbacks():
    assert OAuthSettings(oauth_public_url="https://x.example/hub/").callback_path == "/hub/v1/oauth/callback"


def test_the_start_links_token_is_hidden_by_the_log_redaction():
    from hub_common.redaction import redact_text

    secret = binding.new_secret()
    link = f"https://hub.example/v1/oauth/flows/{uuid.uuid4()}/start?start_token={secret}"
    assert secret not in redact_text(f"GET {link} failed")
