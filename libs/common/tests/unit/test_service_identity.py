"""Service identities (ADR 0010): Ed25519 tokens a peer cannot forge, and production by default."""

import base64
import hashlib
import hmac
import json
import stat
import time

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from hub_common.errors import ConfigurationError, Unauthorized
from hub_common.service_keys import (
    SERVICE_CALLERS,
    ServiceKeySet,
    encode_private_key,
    encode_public_key,
    format_public_keys,
    load_private_key,
    parse_public_keys,
)
from hub_common.settings import DEV_JWT_SECRET, HubSettings
from hub_common.testing.service_keys import SERVICE_KEYS, service_key_settings, service_minter
from hub_common.web.auth import (
    SERVICE_TOKEN_MAX_TTL_S,
    Authenticator,
    ServiceTokenMinter,
    check_listen_address,
    check_service_identity,
    mint_service_token,
    mint_user_token,
)

pytestmark = pytest.mark.unit


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


HS256_HEADER = b64(b'{"alg":"HS256","typ":"JWT"}')
NONE_HEADER = b64(b'{"alg":"none"}')
CRIT_HEADER = b64(b'{"alg":"EdDSA","crit":["exp"]}')
EDDSA_HEADER = b64(b'{"alg":"EdDSA","typ":"JWT"}')


def vault_auth() -> Authenticator:
    return Authenticator(
        HubSettings(service_name="vault", environment="test", **service_key_settings("vault"))
    )


def refused(auth: Authenticator, token: str, audience: str = "vault") -> Unauthorized:
    with pytest.raises(Unauthorized) as caught:
        auth.verify_service(token, audience)
    return caught.value


def test_a_service_is_known_by_its_own_key_only():
    auth = vault_auth()
    principal = auth.verify_service(service_minter("oauth").token_for("vault"), "vault")
    assert principal.service_id == "oauth" and principal.claims["jti"]
    # The gateway's real key, a token claiming to be oauth: oauth's public key does not verify it.
    forged = mint_service_token(SERVICE_KEYS.private_key("gateway"), service_id="oauth", audience="vault")
    assert refused(auth, forged).code == "invalid_token"
    # A key nobody configured, claiming a known identity.
    stranger = ServiceTokenMinter("connectors", Ed25519PrivateKey.generate()).token_for("vault")
    assert refused(auth, stranger).code == "invalid_token"
    # A caller the vault was not given a key for at all.
    assert refused(
        auth, ServiceTokenMinter("billing", Ed25519PrivateKey.generate()).token_for("vault")
    ).code == ("unknown_service")


def test_only_callers_public_keys_are_handed_out():
    for receiver, callers in SERVICE_CALLERS.items():
        ids = set(parse_public_keys(SERVICE_KEYS.public_keys_for(receiver)))
        assert ids == set(callers)
        env = SERVICE_KEYS.env_for(receiver)
        assert (
            load_private_key(env["HUB_SERVICE_PRIVATE_KEY"]).public_key()
            == SERVICE_KEYS.private_key(receiver).public_key()
        )
    assert "gateway" not in parse_public_keys(SERVICE_KEYS.public_keys_for("webhooks"))


def test_shared_secret_and_algorithm_confusion_tokens_are_refused():
    auth = vault_auth()
    now = int(time.time())
    claims = {"typ": "service", "sub": "oauth", "aud": "vault", "iat": now, "exp": now + 60, "jti": "x"}
    # The old scheme: HS256 with a secret derived from the public dev key.
    old_secret = hmac.new(DEV_JWT_SECRET.encode(), b"service:oauth", hashlib.sha256).hexdigest()
    hs256 = jwt.encode(claims, old_secret, algorithm="HS256")
    assert "EdDSA" in refused(auth, hs256).message
    # HS256 keyed with oauth's *public* key bytes (the classic asymmetric/symmetric confusion).
    public = SERVICE_KEYS.private_key("oauth").public_key()
    raw_public = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    for secret in (raw_public, encode_public_key(public).encode()):
        signing_input = f"{HS256_HEADER}.{b64(json.dumps(claims).encode())}"
        mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
        assert refused(auth, f"{signing_input}.{b64(mac)}").code == "invalid_token"
    # alg=none, and a header that sets "crit".
    unsigned = f"{NONE_HEADER}.{b64(json.dumps(claims).encode())}."
    assert refused(auth, unsigned).code == "invalid_token"
    token = service_minter("oauth").mint("vault")
    _, payload, signature = token.split(".")
    crit = f"{CRIT_HEADER}.{payload}.{signature}"
    assert refused(auth, crit).code == "invalid_token"
    # A valid signature moved under another payload.
    other = b64(json.dumps({**claims, "sub": "oauth", "aud": "vault", "extra": 1}).encode())
    assert refused(auth, f"{token.split('.')[0]}.{other}.{signature}").code == "invalid_token"


def test_the_audience_must_be_exactly_the_receiver():
    auth = vault_auth()
    oauth = SERVICE_KEYS.private_key("oauth")
    assert (
        refused(auth, mint_service_token(oauth, service_id="oauth", audience="gateway")).code
        == "invalid_token"
    )
    # A list naming the vault among others is not "exactly the vault".
    now = int(time.time())
    claims = {
        "typ": "service",
        "sub": "oauth",
        "aud": ["vault", "gateway"],
        "iat": now,
        "exp": now + 60,
        "jti": "j",
    }
    signing_input = f"{EDDSA_HEADER}.{b64(json.dumps(claims).encode())}"
    listed = f"{signing_input}.{b64(oauth.sign(signing_input.encode()))}"
    assert "audience" in refused(auth, listed).message


def test_lifetime_and_claims_are_checked():
    auth = vault_auth()
    key = SERVICE_KEYS.private_key("oauth")
    old = mint_service_token(key, service_id="oauth", audience="vault", ttl_s=60, now=time.time() - 600)
    assert refused(auth, old).code == "token_expired"
    with pytest.raises(ValueError):
        mint_service_token(key, service_id="oauth", audience="vault", ttl_s=SERVICE_TOKEN_MAX_TTL_S + 1)
    now = int(time.time())
    for claims in (
        {"iat": now, "exp": now + SERVICE_TOKEN_MAX_TTL_S + 60, "jti": "j"},  # too long-lived
        {"iat": now, "exp": now + 60},  # no jti
        {"exp": now + 60, "jti": "j"},  # no iat
        {"iat": now + 3600, "exp": now + 3660, "jti": "j"},  # issued in the future
    ):
        body = {"typ": "service", "sub": "oauth", "aud": "vault", **claims}
        signing_input = f"{EDDSA_HEADER}.{b64(json.dumps(body).encode())}"
        token = f"{signing_input}.{b64(key.sign(signing_input.encode()))}"
        assert refused(auth, token).code == "invalid_token", claims


def test_extra_claims_travel_and_cannot_override_identity():
    auth = vault_auth()
    token = service_minter("oauth").mint(
        "vault", ttl_s=60, extra_claims={"connection_id": "c1", "tenant": "t1"}
    )
    claims = auth.verify_service(token, "vault").claims
    assert claims["connection_id"] == "c1" and claims["tenant"] == "t1" and claims["sub"] == "oauth"
    for reserved in ("sub", "aud", "exp", "typ"):
        with pytest.raises(ValueError, match=reserved):
            service_minter("oauth").mint("vault", extra_claims={reserved: "x"})


def test_two_keys_per_service_during_rotation():
    old, new = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    keys = format_public_keys([("oauth", old.public_key()), ("oauth", new.public_key())])
    auth = Authenticator(HubSettings(environment="production", service_public_keys=keys))
    for key in (old, new):
        assert (
            auth.verify_service(ServiceTokenMinter("oauth", key).token_for("hub"), "hub").service_id
            == "oauth"
        )
    with pytest.raises(ConfigurationError, match="more than 2"):
        parse_public_keys(keys + f",oauth={encode_public_key(Ed25519PrivateKey.generate().public_key())}")


def test_key_formats_and_bad_configuration():
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    assert load_private_key(pem).public_key() == key.public_key()
    assert load_private_key(encode_private_key(key)).public_key() == key.public_key()
    for bad in ("not base64!", b64(b"short"), "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----"):
        with pytest.raises(ConfigurationError) as caught:
            load_private_key(bad)
        assert bad not in str(caught.value)  # never echoes the value
    for bad in ("oauth", "oauth=", "=abc", f"oauth={b64(b'x' * 31)}"):
        with pytest.raises(ConfigurationError, match="HUB_SERVICE_PUBLIC_KEYS"):
            parse_public_keys(bad)
    # The retired HS256 settings stop a service instead of being ignored.
    for retired in ({"service_secret": "s" * 40}, {"service_credentials": "gateway=" + "p" * 40}):
        with pytest.raises(ConfigurationError, match="no longer"):
            Authenticator(HubSettings(**retired))


def test_key_store_is_created_once_and_private(tmp_path):
    first = ServiceKeySet.load_or_create(tmp_path / "keys")
    again = ServiceKeySet.load_or_create(tmp_path / "keys")
    for service in ("oauth", "gateway"):
        assert first.private_key(service).public_key() == again.private_key(service).public_key()
        mode = (tmp_path / "keys" / f"{service}.key").stat().st_mode
        assert stat.S_IMODE(mode) == 0o600
    env = first.env_for("gateway")
    assert (
        env["HUB_SERVICE_PRIVATE_KEY_FILE"].endswith("gateway.key") and "HUB_SERVICE_PRIVATE_KEY" not in env
    )
    settings = HubSettings(service_name="gateway", **{k[4:].lower(): v for k, v in env.items()})
    minter = ServiceTokenMinter.from_settings(settings)
    assert (
        Authenticator(
            HubSettings(service_name="connectors", service_public_keys=first.public_keys_for("connectors"))
        )
        .verify_service(minter.token_for("connectors"), "connectors")
        .service_id
        == "gateway"
    )


def test_default_settings_are_production_and_refuse_dev_key_tokens(monkeypatch):
    monkeypatch.delenv("HUB_ENVIRONMENT", raising=False)
    settings = HubSettings()
    assert settings.environment == "production" and not settings.dev_mode
    forged = mint_user_token(settings, tenant="victim", user="mallory", tier="enterprise")
    with pytest.raises(Unauthorized):
        Authenticator(settings).verify_user(forged)


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "10.0.0.5", "hub.example.com"])
def test_dev_refuses_to_listen_beyond_loopback(host):
    for environment in ("dev", "test"):
        with pytest.raises(ConfigurationError, match="loopback"):
            check_listen_address(HubSettings(environment=environment), host)
    check_listen_address(HubSettings(environment="production"), host)


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "::1", "localhost"])
def test_dev_on_loopback_starts(host):
    check_listen_address(HubSettings(environment="dev", host=host))


def test_a_calling_service_needs_its_own_key():
    with pytest.raises(ConfigurationError, match="HUB_SERVICE_PRIVATE_KEY"):
        check_service_identity(
            HubSettings(service_name="oauth", service_public_keys=SERVICE_KEYS.public_keys_for("oauth"))
        )
    check_service_identity(HubSettings(service_name="vault", environment="test"))  # the vault calls no one
    check_service_identity(HubSettings(service_name="oauth", **service_key_settings("oauth")))
    with pytest.raises(ConfigurationError, match="cannot read"):
        check_service_identity(
            HubSettings(service_name="oauth", environment="test", service_private_key_file="/nonexistent/k")
        )


def test_production_refuses_to_start_without_explicit_keys():
    with pytest.raises(ConfigurationError, match="HUB_SERVICE_PUBLIC_KEYS"):
        check_service_identity(HubSettings(service_name="vault", environment="production"))
    with pytest.raises(ConfigurationError, match="HUB_SERVICE_PRIVATE_KEY"):
        check_service_identity(
            HubSettings(service_name="gateway", service_public_keys=SERVICE_KEYS.public_keys_for("gateway"))
        )
    check_service_identity(HubSettings(service_name="gateway", **service_key_settings("gateway")))
    check_service_identity(
        HubSettings(service_name="vault", environment="dev")
    )  # `hub-vault serve` on a laptop
