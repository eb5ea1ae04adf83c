"""Production user tokens are verified against the identity provider's JWKS (served locally)."""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from hub_common.errors import ServiceUnavailable, Unauthorized
from hub_common.settings import HubSettings
from hub_common.testing.service_keys import service_minter
from hub_common.web.auth import Authenticator, mint_user_token

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def idp():
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = json.loads(RSAAlgorithm.to_jwk(key.public_key()))
    jwk.update(kid="k1", use="sig", alg="RS256")
    body = json.dumps({"keys": [jwk]}).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield key, f"http://127.0.0.1:{server.server_port}/jwks.json"
    server.shutdown()


def claims(**over):
    now = int(time.time())
    base = {
        "sub": "alice",
        "tenant": "acme",
        "tier": "enterprise",
        "iss": "https://idp.example",
        "aud": "integration-hub",
        "iat": now,
        "exp": now + 300,
    }
    return {**base, **over}


async def test_rs256_tokens_from_the_jwks_are_accepted(idp):
    key, url = idp
    settings = HubSettings(environment="production", jwt_jwks_url=url, jwt_issuer="https://idp.example")
    auth = Authenticator(settings)
    token = jwt.encode(claims(), key, algorithm="RS256", headers={"kid": "k1"})
    await auth.fetch_keys(token)
    principal = auth.verify_user(token)
    assert (principal.tenant_id, principal.user_id, principal.tier) == ("acme", "alice", "enterprise")


async def test_dev_tokens_and_wrong_issuers_are_refused_in_production(idp):
    key, url = idp
    settings = HubSettings(environment="production", jwt_jwks_url=url, jwt_issuer="https://idp.example")
    auth = Authenticator(settings)
    await auth.fetch_keys(jwt.encode(claims(), key, algorithm="RS256", headers={"kid": "k1"}))
    with pytest.raises(Unauthorized):
        auth.verify_user(mint_user_token(settings, tenant="acme", user="mallory", tier="enterprise"))
    with pytest.raises(Unauthorized):
        auth.verify_user(
            jwt.encode(claims(iss="https://evil.example"), key, algorithm="RS256", headers={"kid": "k1"})
        )


def test_production_without_jwks_refuses_user_tokens():
    settings = HubSettings(environment="production")
    with pytest.raises(Unauthorized, match="no JWKS"):
        Authenticator(settings).verify_user(mint_user_token(settings, tenant="a", user="b", tier="core"))


async def test_the_jwks_is_fetched_off_the_event_loop(idp, monkeypatch):
    import threading

    key, url = idp
    settings = HubSettings(environment="production", jwt_jwks_url=url, jwt_issuer="https://idp.example")
    auth = Authenticator(settings)
    token = jwt.encode(claims(), key, algorithm="RS256", headers={"kid": "k1"})
    loop_thread = threading.get_ident()
    fetched_in: list[int] = []
    real_fetch = auth._jwks.fetch_data

    def recording_fetch():
        fetched_in.append(threading.get_ident())
        return real_fetch()

    monkeypatch.setattr(auth._jwks, "fetch_data", recording_fetch)
    assert auth.needs_keys(token)
    await auth.fetch_keys(token)
    assert fetched_in and loop_thread not in fetched_in  # a worker thread did it
    assert not auth.needs_keys(token)  # cached now: verifying needs no fetch
    assert auth.verify_user(token).user_id == "alice"
    assert len(fetched_in) == 1
    # Service tokens (EdDSA, or a forged HS256 one) never send anyone to the JWKS.
    assert not auth.needs_keys(jwt.encode({"typ": "service"}, "x" * 32, algorithm="HS256"))
    assert not auth.needs_keys(service_minter("gateway").token_for("hub"))


@pytest.mark.parametrize("environment", ["dev", "test"])
def test_an_identity_provider_in_dev_mode_is_refused(environment):
    from hub_common.errors import ConfigurationError

    settings = HubSettings(environment=environment, jwt_jwks_url="https://idp.example/jwks.json")
    with pytest.raises(ConfigurationError, match="HUB_ENVIRONMENT=production"):
        Authenticator(settings)


async def test_expired_keys_are_refetched_and_unknown_kids_cannot_force_fetches(idp, monkeypatch):
    from hub_common.web import auth as auth_module

    key, url = idp
    settings = HubSettings(environment="production", jwt_jwks_url=url, jwt_issuer="https://idp.example")
    auth = Authenticator(settings)
    token = jwt.encode(claims(), key, algorithm="RS256", headers={"kid": "k1"})
    fetches: list[int] = []
    real_fetch = auth._jwks.fetch_data
    monkeypatch.setattr(auth._jwks, "fetch_data", lambda: fetches.append(1) or real_fetch())
    await auth.fetch_keys(token)
    assert len(fetches) == 1 and not auth.needs_keys(token)
    # A forged kid right after a fetch: refused without another fetch.
    forged = jwt.encode(claims(), key, algorithm="RS256", headers={"kid": "k-unknown"})
    assert not auth.needs_keys(forged)
    with pytest.raises(Unauthorized):
        auth.verify_user(forged)
    assert len(fetches) == 1
    # Past the lifespan, the set is read again (off the loop), then serves from memory.
    auth._keys_at -= auth_module.JWKS_LIFESPAN_S + 1
    assert auth.needs_keys(token)
    await auth.fetch_keys(token)
    assert len(fetches) == 2 and not auth.needs_keys(token)
    assert auth.verify_user(token).user_id == "alice"


async def test_without_keys_nothing_blocks_and_a_failed_fetch_is_not_repeated_per_token(idp, monkeypatch):
    key, _ = idp
    settings = HubSettings(
        environment="production",
        jwt_jwks_url="http://127.0.0.1:9/jwks.json",
        jwt_issuer="https://idp.example",
    )
    auth = Authenticator(settings)
    fetches = []

    def not_json(refresh: bool) -> None:
        fetches.append(refresh)
        raise ValueError("Expecting value: line 1 column 1 (char 0)")

    monkeypatch.setattr(auth._jwks, "get_jwk_set", not_json)
    token = jwt.encode(claims(), key, algorithm="RS256", headers={"kid": "k1"})
    await auth.fetch_keys(token)  # fails (a reply that is not JSON): logged, not raised
    for _ in range(5):
        await auth.fetch_keys(token)  # not retried at once, whatever the token
        with pytest.raises(ServiceUnavailable):  # and verify_user never fetches on the loop
            auth.verify_user(token)
    assert len(fetches) == 1
    with pytest.raises(Unauthorized):
        auth.verify_user("garbage")  # not a token at all: 401, keys or none
