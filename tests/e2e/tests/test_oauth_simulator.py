"""The OAuth provider simulator, exercised as a real process over HTTP.

The hub's OAuth Manager is tested against this simulator, so these tests pin down that it is as
strict as a real authorization server (PKCE S256, exact redirect URIs, single-use codes,
refresh-token rotation with reuse detection, RFC 7009, RFC 8414, RFC 9207) and that each flavor
reproduces its provider's documented quirks.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import secrets
import signal
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from hub_common.testing import eventually_sync
from hub_e2e.simulators import OAuthSimulator

pytestmark = pytest.mark.component  # the simulator alone: no hub service (docs/testing.md)

CALLBACK = "http://127.0.0.1:9/oauth/callback"  # never contacted: the tests read the redirect
AUTHORIZE = {
    "generic": "/authorize",
    "github": "/login/oauth/authorize",
    "gitlab": "/oauth/authorize",
    "atlassian": "/authorize",
    "slack": "/oauth/v2/authorize",
    "notion": "/v1/oauth/authorize",
    "linear": "/oauth/authorize",
}


@pytest.fixture(scope="module")
def start_sim() -> Iterator[Callable[..., OAuthSimulator]]:
    started: list[OAuthSimulator] = []

    def start(flavor: str, **settings: Any) -> OAuthSimulator:
        sim = OAuthSimulator(flavor, settings=settings).start()
        started.append(sim)
        return sim

    yield start
    for sim in started:
        sim.stop()


@pytest.fixture(scope="module")
def generic(start_sim: Callable[..., OAuthSimulator]) -> OAuthSimulator:
    return start_sim("generic")


@dataclass
class App:
    sim: OAuthSimulator
    client_id: str
    secret: str
    flavor: str

    @property
    def basic(self) -> tuple[str, str]:
        return (self.client_id, self.secret)

    def url(self, path: str) -> str:
        return self.sim.url + path


def new_app(sim: OAuthSimulator, **extra: Any) -> App:
    client_id, secret = f"app-{uuid.uuid4().hex[:10]}", secrets.token_urlsafe(24)
    sim.register_client(client_id, secret, extra.pop("redirect_uris", [CALLBACK]), **extra)
    return App(sim, client_id, secret, sim.flavor)


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def authorize(app: App, **params: Any) -> httpx.Response:
    query = {
        "response_type": "code",
        "client_id": app.client_id,
        "redirect_uri": CALLBACK,
        "state": secrets.token_urlsafe(16),
        **params,
    }
    return httpx.get(app.url(AUTHORIZE[app.flavor]), params={k: v for k, v in query.items() if v is not None})


def redirect_params(response: httpx.Response, to: str = CALLBACK) -> dict[str, str]:
    assert response.status_code == 302, response.text
    location = response.headers["location"]
    assert location.split("?", 1)[0] == to
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def get_code(app: App, **params: Any) -> str:
    response = authorize(app, **params)
    callback = redirect_params(response)
    assert callback["state"] == dict(response.request.url.params)["state"]
    return callback["code"]


def generic_tokens(app: App, scope: str | None = "read write", **params: Any) -> dict[str, Any]:
    verifier, challenge = pkce_pair()
    code = get_code(app, scope=scope, code_challenge=challenge, code_challenge_method="S256", **params)
    response = httpx.post(
        app.url("/token"),
        auth=app.basic,
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": CALLBACK,
            "code_verifier": verifier,
        },
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def refresh(app: App, refresh_token: str, **extra: str) -> httpx.Response:
    return httpx.post(
        app.url("/token"),
        auth=app.basic,
        data={"grant_type": "refresh_token", "refresh_token": refresh_token, **extra},
    )


def userinfo(app: App, access_token: str) -> httpx.Response:
    return httpx.get(app.url("/userinfo"), headers={"Authorization": f"Bearer {access_token}"})


# -- authorization endpoint ----------------------------------------------------------------------


def test_code_flow_with_pkce_issues_working_tokens(generic: OAuthSimulator) -> None:
    app = new_app(generic)
    verifier, challenge = pkce_pair()
    state = secrets.token_urlsafe(16)
    response = authorize(
        app, state=state, scope="read write", code_challenge=challenge, code_challenge_method="S256"
    )
    callback = redirect_params(response)
    assert callback["state"] == state
    assert callback["iss"] == generic.url  # RFC 9207: the flavor advertises the iss parameter
    assert response.headers["cache-control"] == "no-store"

    token = httpx.post(
        app.url("/token"),
        auth=app.basic,
        data={
            "grant_type": "authorization_code",
            "code": callback["code"],
            "redirect_uri": CALLBACK,
            "code_verifier": verifier,
        },
    )
    assert token.status_code == 200
    assert token.headers["cache-control"] == "no-store" and token.headers["pragma"] == "no-cache"
    body = token.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 3600 and body["scope"] == "read write"
    assert body["access_token"] != body["refresh_token"]

    me = userinfo(app, body["access_token"])
    assert me.status_code == 200 and me.json()["preferred_username"] == "sim-user"
    info = generic.introspect(body["refresh_token"])
    assert info["active"] and info["client_id"] == app.client_id and info["state"] == "active"


def test_sim_user_picks_the_account(generic: OAuthSimulator) -> None:
    app = new_app(generic)
    body = generic_tokens(app, sim_user="alice")
    assert userinfo(app, body["access_token"]).json()["email"] == "alice@example.test"


@pytest.mark.parametrize(
    "sent",
    [
        CALLBACK + "/",  # trailing slash
        CALLBACK + "/extra",  # prefix match would accept this
        CALLBACK + "?next=/admin",  # extra query
        CALLBACK.replace("127.0.0.1:9", "127.0.0.1:10"),  # other port
        CALLBACK.replace("http://", "HTTP://"),  # normalisation would accept this
        CALLBACK.upper(),
        "https://evil.example/oauth/callback",
    ],
)
def test_redirect_uri_must_match_exactly_and_is_never_redirected_to(
    generic: OAuthSimulator, sent: str
) -> None:
    app = new_app(generic)
    _, challenge = pkce_pair()
    response = authorize(app, redirect_uri=sent, code_challenge=challenge, code_challenge_method="S256")
    assert response.status_code == 400
    assert "location" not in response.headers
    assert "redirect_uri" in response.text


def test_unknown_client_or_missing_redirect_uri_gets_an_error_page(generic: OAuthSimulator) -> None:
    app = new_app(generic)
    unknown = authorize(App(generic, "nobody", "x", "generic"))
    assert unknown.status_code == 400 and "location" not in unknown.headers
    assert "unknown client_id" in unknown.text
    missing = authorize(app, redirect_uri=None)
    assert missing.status_code == 400 and "location" not in missing.headers


def test_registered_redirect_uri_keeps_its_query(generic: OAuthSimulator) -> None:
    registered = CALLBACK + "?tenant=t1"
    app = new_app(generic, redirect_uris=[registered])
    _, challenge = pkce_pair()
    response = authorize(app, redirect_uri=registered, code_challenge=challenge, code_challenge_method="S256")
    params = redirect_params(response, to=CALLBACK)  # RFC 6749 §3.1.2: query component retained
    assert params["tenant"] == "t1" and "code" in params


@pytest.mark.parametrize(
    ("params", "fragment"),
    [
        ({"code_challenge_method": "plain"}, "transform algorithm not supported"),
        ({"code_challenge_method": None}, "plain is not supported"),  # RFC 7636 default is plain
        ({"code_challenge": None, "code_challenge_method": None}, "code challenge required"),
        ({"code_challenge": "too-short"}, "SHA-256"),
    ],
)
def test_pkce_s256_is_required_and_plain_refused(
    generic: OAuthSimulator, params: dict[str, Any], fragment: str
) -> None:
    app = new_app(generic)
    _, challenge = pkce_pair()
    state = "s-1"
    query = {"code_challenge": challenge, "code_challenge_method": "S256", "state": state, **params}
    callback = redirect_params(authorize(app, **query))
    assert callback["error"] == "invalid_request" and fragment in callback["error_description"]
    assert callback["state"] == state and "code" not in callback


@pytest.mark.parametrize(
    ("params", "error"),
    [
        ({"response_type": "token"}, "unsupported_response_type"),
        ({"response_type": None}, "invalid_request"),
        ({"state": None}, "invalid_request"),
        ({"scope": "read admin"}, "invalid_scope"),
        ({"scope": 'read "quoted"'}, "invalid_scope"),
    ],
)
def test_invalid_authorization_requests_redirect_with_an_error(
    generic: OAuthSimulator, params: dict[str, Any], error: str
) -> None:
    app = new_app(generic, scopes=["read", "write"])
    _, challenge = pkce_pair()
    callback = redirect_params(
        authorize(app, code_challenge=challenge, code_challenge_method="S256", **params)
    )
    assert callback["error"] == error and "code" not in callback
    assert callback["iss"] == generic.url  # RFC 9207 §2: on error responses too


def test_repeated_parameters_are_refused(generic: OAuthSimulator) -> None:
    app = new_app(generic)
    _, challenge = pkce_pair()
    url = app.url(
        f"/authorize?response_type=code&client_id={app.client_id}&redirect_uri={CALLBACK}"
        f"&state=a&state=b&code_challenge={challenge}&code_challenge_method=S256"
    )
    assert redirect_params(httpx.get(url))["error"] == "invalid_request"


def test_user_denial(generic: OAuthSimulator) -> None:
    app = new_app(generic)
    _, challenge = pkce_pair()
    denied = redirect_params(
        authorize(
            app, state="s-2", code_challenge=challenge, code_challenge_method="S256", sim_decision="deny"
        )
    )
    assert denied["error"] == "access_denied" and denied["state"] == "s-2" and "code" not in denied
    generic.update_settings(user_decision="deny")
    try:
        again = redirect_params(authorize(app, code_challenge=challenge, code_challenge_method="S256"))
        assert again["error"] == "access_denied"
    finally:
        generic.update_settings(user_decision="approve")


# -- token endpoint: authorization_code ----------------------------------------------------------


def _exchange(app: App, code: str, **params: str) -> httpx.Response:
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": CALLBACK, **params}
    return httpx.post(app.url("/token"), auth=app.basic, data={k: v for k, v in data.items() if v})


def test_code_verifier_and_redirect_uri_are_checked_and_a_failed_try_spends_the_code(
    generic: OAuthSimulator,
) -> None:
    app = new_app(generic)
    verifier, challenge = pkce_pair()
    wrong_verifier = _exchange(
        app,
        get_code(app, code_challenge=challenge, code_challenge_method="S256"),
        code_verifier=pkce_pair()[0],
    )
    assert wrong_verifier.status_code == 400 and wrong_verifier.json()["error"] == "invalid_grant"

    code = get_code(app, code_challenge=challenge, code_challenge_method="S256")
    assert _exchange(app, code, code_verifier="").json()["error"] == "invalid_grant"  # verifier missing
    # the failed attempt spent the code: the right verifier no longer helps
    assert _exchange(app, code, code_verifier=verifier).json()["error"] == "invalid_grant"

    code = get_code(app, code_challenge=challenge, code_challenge_method="S256")
    other_uri = _exchange(app, code, code_verifier=verifier, redirect_uri=CALLBACK + "/")
    assert (
        other_uri.json()["error"] == "invalid_grant"
        and "redirect_uri" in other_uri.json()["error_description"]
    )
    code = get_code(app, code_challenge=challenge, code_challenge_method="S256")
    assert _exchange(app, code, code_verifier=verifier, redirect_uri="").json()["error"] == "invalid_grant"


def test_verifier_without_challenge_is_a_downgrade(generic: OAuthSimulator) -> None:
    app = new_app(generic, pkce_required=False)
    code = get_code(app)
    response = _exchange(app, code, code_verifier=pkce_pair()[0])  # RFC 9700 §2.1.1
    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"
    assert _exchange(app, get_code(app)).status_code == 200


def test_code_reuse_fails_and_revokes_the_tokens_issued_from_it(generic: OAuthSimulator) -> None:
    app = new_app(generic)
    verifier, challenge = pkce_pair()
    code = get_code(app, scope="read", code_challenge=challenge, code_challenge_method="S256")
    first = _exchange(app, code, code_verifier=verifier).json()
    assert userinfo(app, first["access_token"]).status_code == 200
    before = generic.stats()["reuse_detections"]["authorization_code"]

    reused = _exchange(app, code, code_verifier=verifier)
    assert reused.status_code == 400 and reused.json()["error"] == "invalid_grant"
    # RFC 6749 §4.1.2: tokens previously issued from the code are revoked
    assert userinfo(app, first["access_token"]).status_code == 401
    assert refresh(app, first["refresh_token"]).json()["error"] == "invalid_grant"
    assert generic.stats()["reuse_detections"]["authorization_code"] == before + 1


def test_codes_are_bound_to_the_client(generic: OAuthSimulator) -> None:
    app, other = new_app(generic), new_app(generic)
    verifier, challenge = pkce_pair()
    code = get_code(app, code_challenge=challenge, code_challenge_method="S256")
    stolen = _exchange(other, code, code_verifier=verifier)
    assert stolen.json()["error"] == "invalid_grant"
    assert _exchange(app, code, code_verifier=verifier).status_code == 200


def test_codes_expire(generic: OAuthSimulator) -> None:
    app = new_app(generic)
    verifier, challenge = pkce_pair()
    generic.update_settings(code_ttl=0.3)
    try:
        code = get_code(app, code_challenge=challenge, code_challenge_method="S256")
        time.sleep(0.5)
        expired = _exchange(app, code, code_verifier=verifier)
        assert expired.json() == {"error": "invalid_grant", "error_description": "authorization code expired"}
    finally:
        generic.update_settings(code_ttl=60)


def test_client_authentication_is_strict(generic: OAuthSimulator) -> None:
    app = new_app(generic)
    verifier, challenge = pkce_pair()
    data = {
        "grant_type": "authorization_code",
        "code": "x",
        "redirect_uri": CALLBACK,
        "code_verifier": verifier,
    }

    # the generic flavor supports client_secret_basic only
    post = httpx.post(
        app.url("/token"), data={**data, "client_id": app.client_id, "client_secret": app.secret}
    )
    assert post.status_code == 401 and post.json()["error"] == "invalid_client"
    assert post.headers["www-authenticate"].startswith("Basic ")

    wrong = httpx.post(app.url("/token"), auth=(app.client_id, "nope"), data=data)
    assert wrong.status_code == 401 and wrong.headers["www-authenticate"].startswith("Basic ")
    none = httpx.post(app.url("/token"), data=data)
    assert none.status_code == 401 and none.json()["error"] == "invalid_client"
    both = httpx.post(app.url("/token"), auth=app.basic, data={**data, "client_secret": app.secret})
    assert both.status_code == 400 and both.json()["error"] == "invalid_request"

    as_json = httpx.post(app.url("/token"), auth=app.basic, json=data)
    assert as_json.status_code == 400 and as_json.json()["error"] == "invalid_request"
    password = httpx.post(app.url("/token"), auth=app.basic, data={"grant_type": "password"})
    assert password.status_code == 400 and password.json()["error"] == "unsupported_grant_type"
    missing = httpx.post(app.url("/token"), auth=app.basic, data={"code": "x"})
    assert missing.json()["error"] == "invalid_request"
    # a code that never existed, with a correctly authenticated client
    code = get_code(app, code_challenge=challenge, code_challenge_method="S256")
    assert _exchange(app, code + "x", code_verifier=verifier).json()["error"] == "invalid_grant"
    assert httpx.get(app.url("/token")).status_code == 405  # RFC 6749 §3.2: POST only


def test_client_credentials_grant(generic: OAuthSimulator) -> None:
    app = new_app(generic, scopes=["jobs"])
    response = httpx.post(
        app.url("/token"), auth=app.basic, data={"grant_type": "client_credentials", "scope": "jobs"}
    )
    body = response.json()
    assert response.status_code == 200 and body["scope"] == "jobs"
    assert "refresh_token" not in body  # RFC 6749 §4.4.3
    assert userinfo(app, body["access_token"]).status_code == 200
    too_much = httpx.post(
        app.url("/token"), auth=app.basic, data={"grant_type": "client_credentials", "scope": "admin"}
    )
    assert too_much.json()["error"] == "invalid_scope"


# -- refresh ------------------------------------------------------------------------------------


def test_refresh_rotates_and_reuse_revokes_the_family(generic: OAuthSimulator) -> None:
    app = new_app(generic)
    first = generic_tokens(app)
    family = generic.introspect(first["refresh_token"])["family_id"]
    before = generic.stats()

    second = refresh(app, first["refresh_token"])
    assert second.status_code == 200
    second_body = second.json()
    assert second_body["refresh_token"] != first["refresh_token"]
    assert second_body["access_token"] != first["access_token"]
    assert generic.introspect(first["refresh_token"])["state"] == "rotated"
    assert userinfo(app, second_body["access_token"]).status_code == 200

    # presenting the rotated-out token again: reuse detected, the whole family is revoked
    reuse = refresh(app, first["refresh_token"])
    assert reuse.status_code == 400 and reuse.json()["error"] == "invalid_grant"
    assert refresh(app, second_body["refresh_token"]).json()["error"] == "invalid_grant"
    assert userinfo(app, second_body["access_token"]).status_code == 401
    assert userinfo(app, first["access_token"]).status_code == 401

    after = generic.stats()
    assert after["refreshes_by_family"][family] == 1
    assert after["reuse_detections"]["refresh_token"] == before["reuse_detections"]["refresh_token"] + 1
    families = generic.families()
    assert next(f for f in families if f["id"] == family)["revoked_reason"] == "refresh token reused"


def test_refresh_tokens_are_bound_to_the_client(generic: OAuthSimulator) -> None:
    app, other = new_app(generic), new_app(generic)
    tokens = generic_tokens(app)
    assert refresh(other, tokens["refresh_token"]).json()["error"] == "invalid_grant"
    assert refresh(app, tokens["refresh_token"]).status_code == 200  # not revoked by the attempt


def test_refresh_may_narrow_but_not_widen_the_scope(generic: OAuthSimulator) -> None:
    app = new_app(generic)
    tokens = generic_tokens(app, scope="read write")
    wider = refresh(app, tokens["refresh_token"], scope="read write admin")
    assert wider.json()["error"] == "invalid_scope"
    narrower = refresh(app, tokens["refresh_token"], scope="read")
    assert narrower.status_code == 200 and narrower.json()["scope"] == "read"


def test_refresh_without_rotation_returns_no_refresh_token(start_sim: Callable[..., OAuthSimulator]) -> None:
    sim = start_sim("generic", rotate_refresh_tokens=False)
    app = new_app(sim)
    tokens = generic_tokens(app)
    for _ in range(2):  # the same refresh token keeps working
        response = refresh(app, tokens["refresh_token"])
        assert response.status_code == 200 and "refresh_token" not in response.json()


def test_access_tokens_expire(start_sim: Callable[..., OAuthSimulator]) -> None:
    sim = start_sim("generic", access_token_ttl=1)
    app = new_app(sim)
    tokens = generic_tokens(app)
    assert tokens["expires_in"] == 1
    assert userinfo(app, tokens["access_token"]).status_code == 200
    expired = eventually_sync(
        lambda: (r := userinfo(app, tokens["access_token"])).status_code == 401 and r,
        what="the access token's expiry",
    )
    assert 'error="invalid_token"' in expired.headers["www-authenticate"]  # RFC 6750 §3.1
    fresh = refresh(app, tokens["refresh_token"]).json()
    assert userinfo(app, fresh["access_token"]).status_code == 200

    no_token = httpx.get(app.url("/userinfo"))
    assert no_token.status_code == 401 and "error=" not in no_token.headers["www-authenticate"]
    sim.expire(token=fresh["access_token"])  # admin shortcut for "expired connection" tests
    assert userinfo(app, fresh["access_token"]).status_code == 401


async def test_concurrent_refreshes_with_one_token_have_exactly_one_winner(generic: OAuthSimulator) -> None:
    """100 concurrent refreshes with the same refresh token: one succeeds and rotates the token;
    the other 99 present a rotated-out token, which is exactly what reuse detection looks for, so
    the first of them revokes the whole family -- including the winner's brand-new tokens. A client
    that lets concurrent refreshes through loses the connection; that is why the hub must
    single-flight refreshes per connection (issue 5)."""
    app = new_app(generic)
    tokens = generic_tokens(app)
    family = generic.introspect(tokens["refresh_token"])["family_id"]
    before = generic.stats()
    async with httpx.AsyncClient(
        auth=app.basic, limits=httpx.Limits(max_connections=100), timeout=30
    ) as client:
        responses = await asyncio.gather(
            *[
                client.post(
                    app.url("/token"),
                    data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
                )
                for _ in range(100)
            ]
        )
    winners = [r for r in responses if r.status_code == 200]
    assert len(winners) == 1
    assert all(
        r.status_code == 400 and r.json()["error"] == "invalid_grant" for r in responses if r not in winners
    )

    after = generic.stats()
    assert after["refreshes_by_family"][family] == 1
    assert after["token_calls"]["refresh_token"] - before["token_calls"].get("refresh_token", 0) == 100
    assert after["reuse_detections"]["refresh_token"] == before["reuse_detections"]["refresh_token"] + 1
    winner = winners[0].json()
    assert userinfo(app, winner["access_token"]).status_code == 401
    assert refresh(app, winner["refresh_token"]).json()["error"] == "invalid_grant"


# -- revocation (RFC 7009) ----------------------------------------------------------------------


def revoke(app: App, token: str, **extra: str) -> httpx.Response:
    return httpx.post(app.url("/revoke"), auth=app.basic, data={"token": token, **extra})


def test_rfc7009_revocation(generic: OAuthSimulator) -> None:
    app, other = new_app(generic), new_app(generic)
    assert revoke(app, "never-issued").status_code == 200  # §2.2: unknown tokens are no error

    tokens = generic_tokens(app)
    foreign = revoke(other, tokens["access_token"])
    assert foreign.status_code == 400 and foreign.json()["error"] == "unauthorized_client"
    assert userinfo(app, tokens["access_token"]).status_code == 200

    assert revoke(app, tokens["access_token"], token_type_hint="access_token").status_code == 200
    assert userinfo(app, tokens["access_token"]).status_code == 401
    assert revoke(app, tokens["access_token"]).status_code == 200  # idempotent
    refreshed = refresh(app, tokens["refresh_token"]).json()  # the grant itself survives
    assert userinfo(app, refreshed["access_token"]).status_code == 200

    # revoking a refresh token (with a wrong hint: only a hint) takes its family with it
    assert revoke(app, refreshed["refresh_token"], token_type_hint="access_token").status_code == 200
    assert userinfo(app, refreshed["access_token"]).status_code == 401
    assert refresh(app, refreshed["refresh_token"]).json()["error"] == "invalid_grant"

    unauthenticated = httpx.post(app.url("/revoke"), data={"token": "x"})
    assert unauthenticated.status_code == 401 and unauthenticated.json()["error"] == "invalid_client"
    assert httpx.post(app.url("/revoke"), auth=app.basic, data={}).json()["error"] == "invalid_request"


# -- metadata (RFC 8414) ------------------------------------------------------------------------


def test_metadata_document(generic: OAuthSimulator) -> None:
    doc = httpx.get(generic.url + "/.well-known/oauth-authorization-server").json()
    assert doc["issuer"] == generic.url
    assert doc["authorization_endpoint"] == generic.url + "/authorize"
    assert doc["token_endpoint"] == generic.url + "/token"
    assert doc["revocation_endpoint"] == generic.url + "/revoke"
    assert doc["code_challenge_methods_supported"] == ["S256"]
    assert doc["response_types_supported"] == ["code"]
    assert doc["token_endpoint_auth_methods_supported"] == ["client_secret_basic"]
    assert doc["authorization_response_iss_parameter_supported"] is True


def test_metadata_for_an_issuer_with_a_path() -> None:
    sim = OAuthSimulator("generic")
    sim.settings = {"issuer": sim.url + "/tenant-a"}
    with sim:
        assert httpx.get(sim.url + "/.well-known/oauth-authorization-server").status_code == 404
        doc = httpx.get(sim.url + "/.well-known/oauth-authorization-server/tenant-a").json()  # RFC 8414 §3.1
        assert doc["issuer"] == sim.url + "/tenant-a"
        assert doc["token_endpoint"] == sim.url + "/token"


def test_providers_without_metadata_do_not_publish_it(start_sim: Callable[..., OAuthSimulator]) -> None:
    sim = start_sim("github")
    assert httpx.get(sim.url + "/.well-known/oauth-authorization-server").status_code == 404


# -- stats and faults ---------------------------------------------------------------------------


def test_stats_count_what_happened(start_sim: Callable[..., OAuthSimulator]) -> None:
    sim = start_sim("generic")
    app = new_app(sim)
    tokens = generic_tokens(app)
    refresh(app, tokens["refresh_token"])
    revoke(app, "unknown")
    authorize(App(sim, "nobody", "x", "generic"))
    stats = sim.stats()
    assert stats["authorize"] == {"calls": 2, "approved": 1, "denied": 0, "rejected": 1}
    assert stats["token_calls"] == {"authorization_code": 1, "refresh_token": 1}
    assert stats["token_successes"] == {"authorization_code": 1, "refresh_token": 1}
    assert stats["refreshes"] == 1 and list(stats["refreshes_by_family"].values()) == [1]
    assert stats["revocations"]["calls"] == 1
    sim.reset()
    assert sim.stats()["token_calls_total"] == 0
    assert sim.introspect(tokens["access_token"]) == {"active": False}  # tokens forgotten, clients kept
    assert httpx.get(sim.url + "/_sim/clients").json()[0]["client_id"] == app.client_id


def test_fault_injection(generic: OAuthSimulator) -> None:
    app = new_app(generic)
    tokens = generic_tokens(app)

    generic.inject_fault("token", status=503, count=2, retry_after=1)
    for _ in range(2):
        unavailable = refresh(app, tokens["refresh_token"])
        assert unavailable.status_code == 503 and unavailable.headers["retry-after"] == "1"
    assert generic.introspect(tokens["refresh_token"])["state"] == "active"  # nothing happened

    generic.inject_fault("token", action="invalid_grant", grant_type="refresh_token")
    refused = refresh(app, tokens["refresh_token"])
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_grant"
    ok = refresh(app, tokens["refresh_token"])  # the injected refusal left the family alone
    assert ok.status_code == 200

    generic.inject_fault("identity", status=500)
    assert userinfo(app, ok.json()["access_token"]).status_code == 500
    generic.inject_fault("authorize", status=502)
    assert authorize(app).status_code == 502
    generic.inject_fault("token", action="hang", delay_s=0.2)
    assert refresh(app, ok.json()["refresh_token"]).status_code == 504
    assert httpx.get(generic.url + "/_sim/faults").json() == []

    bad = httpx.post(generic.url + "/_sim/faults", json={"endpoint": "identity", "action": "invalid_grant"})
    assert bad.status_code == 400


def test_a_refresh_that_times_out_on_the_client_still_rotated_on_the_server(generic: OAuthSimulator) -> None:
    """A refresh whose answer is lost (client timeout) may still have rotated the token on the
    server. Under strict reuse detection the grant is then lost: the only refresh token the client
    holds is rotated out, and presenting it again revokes the family. Strict providers behave like
    this; the hub must end in token_invalid here rather than retry in a loop."""
    app = new_app(generic)
    tokens = generic_tokens(app)
    generic.inject_fault("token", action="delay", delay_s=0.5, grant_type="refresh_token")
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(
            app.url("/token"),
            auth=app.basic,
            timeout=0.2,
            data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
        )
    deadline = time.monotonic() + 10
    while generic.introspect(tokens["refresh_token"])["state"] != "rotated":  # the server finishes the work
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert refresh(app, tokens["refresh_token"]).json()["error"] == "invalid_grant"
    assert generic.introspect(tokens["access_token"])["active"] is False


# -- GitHub -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def github(start_sim: Callable[..., OAuthSimulator]) -> OAuthSimulator:
    return start_sim("github")


def github_exchange(app: App, code: str, accept: str | None = None, **extra: str) -> httpx.Response:
    headers = {"Accept": accept} if accept else {}
    data = {
        "client_id": app.client_id,
        "client_secret": app.secret,
        "code": code,
        "redirect_uri": CALLBACK,
        **extra,
    }
    return httpx.post(app.url("/login/oauth/access_token"), data=data, headers=headers)


def test_github_answers_form_encoded_unless_json_is_accepted(github: OAuthSimulator) -> None:
    app = new_app(github)
    verifier, challenge = pkce_pair()
    code = get_code(app, scope="repo read:user", code_challenge=challenge, code_challenge_method="S256")
    # no grant_type: GitHub's web-flow exchange does not take one
    form = github_exchange(app, code, code_verifier=verifier)
    assert form.status_code == 200
    assert form.headers["content-type"].startswith("application/x-www-form-urlencoded")
    body = {k: v[0] for k, v in parse_qs(form.text).items()}
    assert body["token_type"] == "bearer" and body["scope"] == "repo,read:user"  # comma-joined
    assert (
        body["access_token"].startswith("gho_") and "refresh_token" not in body and "expires_in" not in body
    )

    user = httpx.get(app.url("/user"), headers={"Authorization": f"token {body['access_token']}"})
    assert user.status_code == 200 and user.json()["login"] == "sim-user"
    assert user.headers["x-oauth-scopes"] == "repo, read:user"

    as_json = github_exchange(app, get_code(app, scope="repo"), accept="application/json")
    assert as_json.headers["content-type"].startswith("application/json")
    assert as_json.json()["scope"] == "repo"


def test_github_errors_are_http_200_with_an_error_field(github: OAuthSimulator) -> None:
    app = new_app(github)
    code = get_code(app)
    assert github_exchange(app, code, accept="application/json").status_code == 200
    reused = github_exchange(app, code)
    assert reused.status_code == 200
    assert parse_qs(reused.text)["error"] == ["bad_verification_code"]
    wrong_secret = httpx.post(
        app.url("/login/oauth/access_token"),
        headers={"Accept": "application/json"},
        data={"client_id": app.client_id, "client_secret": "nope", "code": "x"},
    )
    assert wrong_secret.status_code == 200 and wrong_secret.json()["error"] == "incorrect_client_credentials"
    basic = httpx.post(
        app.url("/login/oauth/access_token"),
        auth=app.basic,
        data={"code": get_code(app)},
        headers={"Accept": "application/json"},
    )
    assert basic.json()["error"] == "incorrect_client_credentials"  # client_secret_post only
    mismatch = github_exchange(app, get_code(app), redirect_uri=CALLBACK + "/x", accept="application/json")
    assert mismatch.json()["error"] == "redirect_uri_mismatch"


def test_github_redirect_mismatch_goes_to_the_registered_callback(github: OAuthSimulator) -> None:
    app = new_app(github)
    callback = redirect_params(authorize(app, redirect_uri="https://evil.example/cb", state="s-9"))
    assert callback["error"] == "redirect_uri_mismatch" and callback["state"] == "s-9"
    # redirect_uri may be left out: the registered callback is used
    assert "code" in redirect_params(authorize(app, redirect_uri=None))


def test_github_token_revocation(github: OAuthSimulator) -> None:
    app, other = new_app(github), new_app(github)
    token = github_exchange(app, get_code(app), accept="application/json").json()["access_token"]
    path = f"/applications/{app.client_id}/token"
    assert (
        httpx.request(
            "DELETE", app.url(path), auth=(app.client_id, "nope"), json={"access_token": token}
        ).status_code
        == 401
    )
    assert (
        httpx.request("DELETE", app.url(path), auth=other.basic, json={"access_token": token}).status_code
        == 404
    )
    assert httpx.request("DELETE", app.url(path), auth=app.basic, json={}).status_code == 422
    assert (
        httpx.request("DELETE", app.url(path), auth=app.basic, json={"access_token": token}).status_code
        == 204
    )
    assert httpx.get(app.url("/user"), headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_github_app_user_tokens_expire_and_refresh_replaces_the_pair(
    start_sim: Callable[..., OAuthSimulator],
) -> None:
    sim = start_sim("github", issue_refresh_tokens=True)
    app = new_app(sim)
    first = github_exchange(app, get_code(app), accept="application/json").json()
    assert first["access_token"].startswith("ghu_") and first["refresh_token"].startswith("ghr_")
    assert first["expires_in"] == 28800 and first["refresh_token_expires_in"] == 15811200
    second = httpx.post(
        app.url("/login/oauth/access_token"),
        headers={"Accept": "application/json"},
        data={
            "client_id": app.client_id,
            "client_secret": app.secret,
            "grant_type": "refresh_token",
            "refresh_token": first["refresh_token"],
        },
    ).json()
    assert second["refresh_token"] != first["refresh_token"]
    headers = {"Authorization": f"Bearer {first['access_token']}"}
    assert httpx.get(app.url("/user"), headers=headers).status_code == 401  # the old pair is gone
    reuse = httpx.post(
        app.url("/login/oauth/access_token"),
        headers={"Accept": "application/json"},
        data={
            "client_id": app.client_id,
            "client_secret": app.secret,
            "grant_type": "refresh_token",
            "refresh_token": first["refresh_token"],
        },
    )
    assert reuse.status_code == 200 and reuse.json()["error"] == "bad_refresh_token"


# -- Slack --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def slack(start_sim: Callable[..., OAuthSimulator]) -> OAuthSimulator:
    return start_sim("slack")


def slack_access(app: App, **data: str) -> httpx.Response:
    return httpx.post(app.url("/api/oauth.v2.access"), auth=app.basic, data=data)


def test_slack_bot_token_on_top_and_user_token_under_authed_user(slack: OAuthSimulator) -> None:
    app = new_app(slack)
    code = get_code(app, scope="chat:write,channels:read", user_scope="search:read")
    response = slack_access(app, code=code, redirect_uri=CALLBACK)
    body = response.json()
    assert response.status_code == 200 and body["ok"] is True
    assert body["token_type"] == "bot" and body["access_token"].startswith("xoxb-")
    assert body["scope"] == "chat:write,channels:read"
    assert body["authed_user"]["token_type"] == "user" and body["authed_user"]["scope"] == "search:read"
    assert body["authed_user"]["access_token"].startswith("xoxp-")
    assert "refresh_token" not in body and "expires_in" not in body  # rotation is opt-in
    assert body["team"]["id"] and body["bot_user_id"]

    bot = httpx.post(app.url("/api/auth.test"), headers={"Authorization": f"Bearer {body['access_token']}"})
    assert bot.json()["ok"] is True and "bot_id" in bot.json()
    user = httpx.post(app.url("/api/auth.test"), data={"token": body["authed_user"]["access_token"]})
    assert user.json()["user"] == "sim-user"

    revoked = httpx.get(app.url("/api/auth.revoke"), params={"token": body["access_token"]})
    assert revoked.json() == {"ok": True, "revoked": True}
    after = httpx.post(app.url("/api/auth.test"), headers={"Authorization": f"Bearer {body['access_token']}"})
    assert after.status_code == 200 and after.json() == {"ok": False, "error": "token_revoked"}
    assert httpx.post(app.url("/api/auth.test")).json() == {"ok": False, "error": "not_authed"}


def test_slack_errors_are_http_200_with_ok_false(slack: OAuthSimulator) -> None:
    app = new_app(slack)
    code = get_code(app, scope="chat:write")
    # RFC 6749 §4.1.3: the redirect_uri sent to /authorize must be repeated
    assert slack_access(app, code=get_code(app, scope="chat:write")).json()["error"] == "bad_redirect_uri"
    assert slack_access(app, code=code, redirect_uri=CALLBACK).json()["ok"] is True
    reused = slack_access(app, code=code, redirect_uri=CALLBACK)
    assert reused.status_code == 200 and reused.json() == {"ok": False, "error": "invalid_code"}
    bad_secret = httpx.post(app.url("/api/oauth.v2.access"), auth=(app.client_id, "nope"), data={"code": "x"})
    assert bad_secret.json() == {"ok": False, "error": "bad_client_secret"}
    unknown = httpx.post(app.url("/api/oauth.v2.access"), auth=("nobody", "x"), data={"code": "x"})
    assert unknown.json()["error"] == "invalid_client_id"
    wrong_uri = slack_access(app, code=get_code(app, scope="chat:write"), redirect_uri=CALLBACK + "/")
    assert wrong_uri.json()["error"] == "bad_redirect_uri"
    assert (
        slack_access(app, grant_type="refresh_token", refresh_token="xoxe-1-x").json()["error"]
        == "invalid_refresh_token"
    )
    # scopes are comma-separated: a space-separated list is malformed
    assert redirect_params(authorize(app, scope="chat:write channels:read"))["error"] == "invalid_scope"
    assert redirect_params(authorize(app))["error"] == "invalid_scope"  # neither scope nor user_scope


def test_slack_token_rotation(start_sim: Callable[..., OAuthSimulator]) -> None:
    sim = start_sim("slack", issue_refresh_tokens=True)
    app = new_app(sim)
    body = slack_access(app, code=get_code(app, scope="chat:write"), redirect_uri=CALLBACK).json()
    assert body["access_token"].startswith("xoxe.xoxb-") and body["refresh_token"].startswith("xoxe-1-")
    assert body["expires_in"] == 43200
    refreshed = slack_access(app, grant_type="refresh_token", refresh_token=body["refresh_token"]).json()
    assert refreshed["ok"] is True and refreshed["token_type"] == "bot"
    assert refreshed["refresh_token"] != body["refresh_token"]
    reuse = slack_access(app, grant_type="refresh_token", refresh_token=body["refresh_token"])
    assert reuse.json() == {"ok": False, "error": "invalid_refresh_token"}


# -- Notion -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def notion(start_sim: Callable[..., OAuthSimulator]) -> OAuthSimulator:
    return start_sim("notion")


def test_notion_basic_auth_json_body_and_workspace_fields(notion: OAuthSimulator) -> None:
    app = new_app(notion)
    assert redirect_params(authorize(app))["error"] == "invalid_request"  # owner=user is required
    code = get_code(app, owner="user")
    form = httpx.post(
        app.url("/v1/oauth/token"),
        auth=app.basic,
        data={"grant_type": "authorization_code", "code": code, "redirect_uri": CALLBACK},
    )
    assert form.status_code == 400 and form.json()["error"] == "invalid_request"  # JSON only
    code = get_code(app, owner="user")
    in_body = httpx.post(
        app.url("/v1/oauth/token"),
        json={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": CALLBACK,
            "client_id": app.client_id,
            "client_secret": app.secret,
        },
    )
    assert in_body.status_code == 401 and in_body.json()["error"] == "invalid_client"  # Basic only

    code = get_code(app, owner="user")
    response = httpx.post(
        app.url("/v1/oauth/token"),
        auth=app.basic,
        json={"grant_type": "authorization_code", "code": code, "redirect_uri": CALLBACK},
    )
    body = response.json()
    assert response.status_code == 200, body
    assert body["token_type"] == "bearer" and body["workspace_id"] and body["bot_id"]
    assert body["owner"]["type"] == "user" and body["owner"]["user"]["object"] == "user"
    assert "expires_in" not in body and body["refresh_token"].startswith("nrt_")

    headers = {"Authorization": f"Bearer {body['access_token']}"}
    missing_version = httpx.get(app.url("/v1/users/me"), headers=headers)
    assert missing_version.status_code == 400 and missing_version.json()["code"] == "missing_version"
    headers["Notion-Version"] = "2022-06-28"
    me = httpx.get(app.url("/v1/users/me"), headers=headers)
    assert me.status_code == 200 and me.json()["id"] == body["bot_id"] and me.json()["type"] == "bot"

    rotated = httpx.post(
        app.url("/v1/oauth/token"),
        auth=app.basic,
        json={"grant_type": "refresh_token", "refresh_token": body["refresh_token"]},
    ).json()
    assert (
        rotated["refresh_token"] != body["refresh_token"] and rotated["workspace_id"] == body["workspace_id"]
    )

    revoked = httpx.post(app.url("/v1/oauth/revoke"), auth=app.basic, json={"token": rotated["access_token"]})
    assert revoked.status_code == 200 and revoked.json() == {}
    headers["Authorization"] = f"Bearer {rotated['access_token']}"
    denied = httpx.get(app.url("/v1/users/me"), headers=headers)
    assert denied.status_code == 401 and denied.json()["code"] == "unauthorized"


# -- Atlassian ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def atlassian(start_sim: Callable[..., OAuthSimulator]) -> OAuthSimulator:
    return start_sim("atlassian")


def atlassian_token(app: App, **data: str) -> httpx.Response:
    return httpx.post(
        app.url("/oauth/token"), json={"client_id": app.client_id, "client_secret": app.secret, **data}
    )


def test_atlassian_audience_prompt_and_accessible_resources(atlassian: OAuthSimulator) -> None:
    app = new_app(atlassian)
    scope = "read:jira-work offline_access"
    for params in (
        {"prompt": "consent"},
        {"audience": "api.atlassian.com"},
        {"audience": "api.atlassian.com.evil", "prompt": "consent"},
    ):
        assert redirect_params(authorize(app, scope=scope, **params))["error"] == "invalid_request"
    code = get_code(app, scope=scope, audience="api.atlassian.com", prompt="consent")
    form = httpx.post(
        app.url("/oauth/token"),
        data={
            "grant_type": "authorization_code",
            "code": code,
            "client_id": app.client_id,
            "client_secret": app.secret,
            "redirect_uri": CALLBACK,
        },
    )
    assert form.status_code == 400  # JSON body only

    code = get_code(app, scope=scope, audience="api.atlassian.com", prompt="consent")
    body = atlassian_token(app, grant_type="authorization_code", code=code, redirect_uri=CALLBACK).json()
    assert body["expires_in"] == 3600 and body["scope"] == scope and "refresh_token" in body

    sites = httpx.get(
        app.url("/oauth/token/accessible-resources"),
        headers={"Authorization": f"Bearer {body['access_token']}"},
    )
    assert sites.status_code == 200
    [site] = sites.json()
    assert set(site) >= {"id", "url", "name", "scopes"} and site["scopes"] == scope.split()
    unknown = httpx.get(
        app.url("/oauth/token/accessible-resources"), headers={"Authorization": "Bearer nope"}
    )
    assert unknown.status_code == 401

    rotated = atlassian_token(app, grant_type="refresh_token", refresh_token=body["refresh_token"])
    assert rotated.status_code == 200 and rotated.json()["refresh_token"] != body["refresh_token"]
    reuse = atlassian_token(app, grant_type="refresh_token", refresh_token=body["refresh_token"])
    assert reuse.status_code == 403 and reuse.json()["error"] == "invalid_grant"  # Atlassian answers 403
    assert httpx.post(app.url("/revoke"), data={"token": "x"}).status_code == 404  # no revoke API


def test_atlassian_refresh_token_needs_offline_access(atlassian: OAuthSimulator) -> None:
    app = new_app(atlassian)
    code = get_code(app, scope="read:jira-work", audience="api.atlassian.com", prompt="consent")
    body = atlassian_token(app, grant_type="authorization_code", code=code, redirect_uri=CALLBACK).json()
    assert "refresh_token" not in body


# -- GitLab and Linear --------------------------------------------------------------------------


def test_gitlab_accepts_basic_or_body_auth_and_rotates(start_sim: Callable[..., OAuthSimulator]) -> None:
    sim = start_sim("gitlab")
    app = new_app(sim)
    verifier, challenge = pkce_pair()
    code = get_code(app, scope="api read_user", code_challenge=challenge, code_challenge_method="S256")
    body = httpx.post(
        app.url("/oauth/token"),
        json={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": CALLBACK,
            "code_verifier": verifier,
            "client_id": app.client_id,
            "client_secret": app.secret,
        },
    ).json()
    assert body["expires_in"] == 7200 and isinstance(body["created_at"], int)
    user = httpx.get(app.url("/api/v4/user"), headers={"Authorization": f"Bearer {body['access_token']}"})
    assert user.status_code == 200 and user.json()["username"] == "sim-user"

    rotated = httpx.post(
        app.url("/oauth/token"),
        auth=app.basic,
        data={"grant_type": "refresh_token", "refresh_token": body["refresh_token"]},
    ).json()
    old = httpx.get(app.url("/api/v4/user"), headers={"Authorization": f"Bearer {body['access_token']}"})
    assert old.status_code == 401 and old.json() == {"message": "401 Unauthorized"}  # the old pair is gone

    revoked = httpx.post(
        app.url("/oauth/revoke"),
        data={"client_id": app.client_id, "client_secret": app.secret, "token": rotated["access_token"]},
    )
    assert revoked.status_code == 200 and revoked.json() == {}
    again = httpx.post(
        app.url("/oauth/token"),
        auth=app.basic,
        data={"grant_type": "refresh_token", "refresh_token": rotated["refresh_token"]},
    )
    assert again.json()["error"] == "invalid_grant"  # revoking the access token ended the grant
    assert httpx.get(sim.url + "/.well-known/oauth-authorization-server").json()["issuer"] == sim.url


def test_linear_comma_scopes_form_body_and_bearer_revoke(start_sim: Callable[..., OAuthSimulator]) -> None:
    sim = start_sim("linear")
    app = new_app(sim)
    assert redirect_params(authorize(app, scope="read write"))["error"] == "invalid_scope"
    assert redirect_params(authorize(app))["error"] == "invalid_request"  # scope is required
    code = get_code(app, scope="write,issues:create")
    as_json = httpx.post(app.url("/oauth/token"), json={"grant_type": "authorization_code", "code": code})
    assert as_json.status_code == 400
    code = get_code(app, scope="write,issues:create")
    body = httpx.post(
        app.url("/oauth/token"),
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": CALLBACK,
            "client_id": app.client_id,
            "client_secret": app.secret,
        },
    ).json()
    assert body["scope"] == "read write issues:create"  # read is always granted; answer is space-joined
    assert body["expires_in"] == 86399 and body["refresh_token"].startswith("lin_refresh_")

    headers = {"Authorization": f"Bearer {body['access_token']}"}
    viewer = httpx.post(
        app.url("/graphql"), headers=headers, json={"query": "query { viewer { id name email } }"}
    )
    assert viewer.status_code == 200 and viewer.json()["data"]["viewer"]["email"] == "sim-user@example.test"
    assert httpx.post(app.url("/oauth/revoke"), headers=headers).status_code == 200
    after = httpx.post(app.url("/graphql"), headers=headers, json={"query": "query { viewer { id } }"})
    assert (
        after.status_code == 401 and after.json()["errors"][0]["extensions"]["code"] == "AUTHENTICATION_ERROR"
    )
    again = httpx.post(
        app.url("/oauth/token"),
        auth=app.basic,
        data={"grant_type": "refresh_token", "refresh_token": body["refresh_token"]},
    )
    assert again.json()["error"] == "invalid_grant"


# -- the process itself -------------------------------------------------------------------------


def test_the_simulator_stops_cleanly_on_sigterm() -> None:
    sim = OAuthSimulator(
        "slack", clients=[{"client_id": "c", "client_secret": "s", "redirect_uris": [CALLBACK]}]
    )
    with sim:
        assert httpx.get(sim.url + "/_sim/clients").json()[0]["client_id"] == "c"
        assert httpx.get(sim.url + "/_sim/info").json()["token_endpoint"] == sim.url + "/api/oauth.v2.access"
    assert sim.proc is not None and sim.proc.returncode in (0, -signal.SIGTERM), sim.log_tail()
