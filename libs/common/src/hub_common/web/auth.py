"""Who is calling: user bearer JWTs (tenant, user, tier) and service-to-service tokens.

User tokens: HS256 signed with the public dev key only when ``HUB_ENVIRONMENT`` is explicitly
``dev`` or ``test`` and the service listens on loopback (``hubctl token``), else verified against
the identity provider's JWKS (``HUB_JWT_JWKS_URL``). Required claims: ``sub`` (user),
``tenant``, ``tier``, ``exp``, ``iss``, ``aud``.

Service tokens (ADR 0010): each service signs short-lived EdDSA (Ed25519) JWTs with its own
private key (``typ=service``, ``sub=<service id>``, ``aud=<target>``, ``iat``, ``exp``, ``jti``).
A receiver holds only the public keys of the services allowed to call it
(``HUB_SERVICE_PUBLIC_KEYS``), so no peer can mint a token in another's name. Only ``EdDSA`` is
accepted (no HS256, no ``none``, no algorithm taken from anywhere but this code), the audience
must be exactly the receiver, and a token may live at most SERVICE_TOKEN_MAX_TTL_S.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import ipaddress
import json
import logging
import math
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Annotated, Any

import jwt
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from fastapi import Depends, Request

from hub_common.errors import ConfigurationError, ServiceUnavailable, Unauthorized
from hub_common.service_keys import SERVICE_CALLERS, calls_others, load_private_key, parse_public_keys
from hub_common.settings import HubSettings

log = logging.getLogger(__name__)
JWKS_LIFESPAN_S = 600.0  # the identity provider's keys are re-read this often
UNKNOWN_KID_REFETCH_S = 30.0  # a token with a new kid refetches at most this often (and after a failure)

SERVICE_TOKEN_TTL_S = 300
SERVICE_TOKEN_MAX_TTL_S = 900  # receivers refuse longer-lived service tokens
SERVICE_TOKEN_LEEWAY_S = 30  # clock skew between hosts
# Claims a caller's extra_claims may not set: they are the token's identity and lifetime.
RESERVED_SERVICE_CLAIMS = frozenset({"typ", "sub", "aud", "iat", "exp", "nbf", "jti", "iss"})
# What a service signs: its own tokens, and plugin tokens (connectors, for one call of a custom
# connector; accepted by the gateway only, for one connection — ADR 0011).
SIGNED_TOKEN_TYPES = frozenset({"service", "plugin"})
_VERIFIED_CACHE_SIZE = 4096
_SERVICE_HEADER = base64.urlsafe_b64encode(b'{"alg":"EdDSA","typ":"JWT"}').rstrip(b"=")
LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1", "[::1]"})


class Tier(StrEnum):
    CORE = "core"
    WRITERPRO = "writerpro"
    TEAMS = "teams"
    ENTERPRISE = "enterprise"


@dataclass(frozen=True)
class Principal:
    kind: str  # "user" | "service"
    tenant_id: str | None = None
    user_id: str | None = None
    tier: Tier | None = None
    service_id: str | None = None
    claims: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def is_service(self) -> bool:
        return self.kind == "service"


def _bearer(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized(
            "missing bearer token", code="missing_token", headers={"WWW-Authenticate": "Bearer"}
        )
    return token.strip()


def is_loopback(host: str) -> bool:
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_listen_address(settings: HubSettings, host: str | None = None) -> None:
    """Dev and test accept user tokens signed with the public dev key: never beyond loopback."""
    host = host or settings.host
    if settings.dev_mode and not is_loopback(host):
        raise ConfigurationError(
            f"HUB_ENVIRONMENT={settings.environment} accepts tokens signed with the public dev key "
            f"and listens only on loopback, not {host}: set HUB_ENVIRONMENT=production (the default) "
            "or HUB_HOST=127.0.0.1"
        )


def _refuse_shared_secrets(settings: HubSettings) -> None:
    if settings.service_secret.get_secret_value() or settings.service_credentials.get_secret_value():
        raise ConfigurationError(
            "HUB_SERVICE_SECRET / HUB_SERVICE_CREDENTIALS (HS256 shared secrets) are no longer "
            "accepted: give each service HUB_SERVICE_PRIVATE_KEY and its callers' "
            "HUB_SERVICE_PUBLIC_KEYS (`hubctl keys generate`; docs/adr/0010)"
        )


def own_private_key(settings: HubSettings) -> Ed25519PrivateKey | None:
    """This service's key from HUB_SERVICE_PRIVATE_KEY or HUB_SERVICE_PRIVATE_KEY_FILE (not both)."""
    inline = settings.service_private_key.get_secret_value()
    path = settings.service_private_key_file
    if inline and path is not None:
        raise ConfigurationError("set HUB_SERVICE_PRIVATE_KEY or HUB_SERVICE_PRIVATE_KEY_FILE, not both")
    if path is not None:
        try:
            inline = path.read_text()
        except OSError as exc:
            raise ConfigurationError(
                f"cannot read HUB_SERVICE_PRIVATE_KEY_FILE {path}: {exc.strerror}"
            ) from None
        return load_private_key(inline, origin=f"HUB_SERVICE_PRIVATE_KEY_FILE {path}")
    return load_private_key(inline) if inline else None


def check_service_identity(settings: HubSettings, host: str | None = None) -> None:
    """What ``serve`` checks before it listens, so a bad identity setup is one line, not a
    traceback from a worker: the listen address, the retired secrets, both key settings, a
    private key for every service that calls another (whatever the environment) and, in
    production, the callers' public keys for every service that is called."""
    check_listen_address(settings, host)
    Authenticator(settings)  # the public keys parse, the JWKS setting fits the environment
    service_id = settings.service_id or settings.service_name
    callers = SERVICE_CALLERS.get(service_id, ())
    if callers and not settings.service_public_keys.strip() and not settings.dev_mode:
        # A production receiver with no caller keys would refuse every service: say so now.
        raise ConfigurationError(
            f"{service_id} is called by {', '.join(callers)}: set HUB_SERVICE_PUBLIC_KEYS "
            "(id=<base64 public key>,...) to the public keys of those it accepts"
        )
    if own_private_key(settings) is None and calls_others(service_id):
        hint = " (`hubctl up` generates one per service)" if settings.dev_mode else ""
        raise ConfigurationError(
            f"{service_id} calls other services and needs its own key: set HUB_SERVICE_PRIVATE_KEY "
            f"or HUB_SERVICE_PRIVATE_KEY_FILE{hint}"
        )


def _b64url(segment: str) -> bytes:
    return base64.b64decode(segment + "=" * (-len(segment) % 4), altchars=b"-_", validate=True)


def _invalid(reason: str) -> Unauthorized:
    return Unauthorized(f"invalid service token: {reason}", code="invalid_token")


def _service_claims(token: str) -> tuple[dict[str, Any], str, bytes] | None:
    """(claims, signing input, signature) of a compact EdDSA JWT whose payload says
    ``typ=service``; None when it is not one (a user token). Nothing here is verified yet."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        header = json.loads(_b64url(parts[0]))
        claims = json.loads(_b64url(parts[1]))
        signature = _b64url(parts[2])
    except (ValueError, binascii.Error):
        return None
    if not isinstance(claims, dict) or claims.get("typ") not in SIGNED_TOKEN_TYPES:
        return None
    alg = header.get("alg") if isinstance(header, dict) else None
    if alg != "EdDSA":
        # HS256 with a leaked secret, "none", or any other algorithm: refused before any key.
        raise _invalid(f"service tokens are signed with EdDSA, not {str(alg)[:16]!r}")
    if "crit" in header:
        raise _invalid("no critical header extension is supported")
    return claims, f"{parts[0]}.{parts[1]}", signature


def _check_service_claims(claims: dict[str, Any], audience: str, now: float) -> float:
    """The claims of a signature-checked token; returns its ``exp``."""
    if claims.get("aud") != audience:  # exactly this receiver: no lists, no other audience
        raise Unauthorized("service token is for another audience", code="invalid_token")
    exp, iat, jti = claims.get("exp"), claims.get("iat"), claims.get("jti")
    numbers = [
        v for v in (exp, iat) if isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
    ]
    if len(numbers) != 2:
        raise _invalid("exp and iat are required")
    if not isinstance(jti, str) or not jti:
        raise _invalid("jti is required")
    assert isinstance(exp, int | float) and isinstance(iat, int | float)
    if exp < now - SERVICE_TOKEN_LEEWAY_S:
        raise Unauthorized("token expired", code="token_expired")
    if iat > now + SERVICE_TOKEN_LEEWAY_S or exp - iat > SERVICE_TOKEN_MAX_TTL_S:
        raise _invalid(f"issued in the future or valid longer than {SERVICE_TOKEN_MAX_TTL_S}s")
    return float(exp)


class Authenticator:
    """Verifies both kinds of token; one instance per process (JWKS keys and verified service
    tokens are cached)."""

    def __init__(self, settings: HubSettings) -> None:
        if settings.jwt_jwks_url and settings.dev_mode:
            # An identity provider means a real deployment; dev mode would also accept user
            # tokens signed with the public dev key.
            raise ConfigurationError(
                "HUB_JWT_JWKS_URL is set but HUB_ENVIRONMENT is "
                f"{settings.environment!r}: set HUB_ENVIRONMENT=production (dev mode accepts "
                "tokens signed with a public default key)"
            )
        _refuse_shared_secrets(settings)
        self.settings = settings
        # Used to fetch only: the keys are kept here (kid -> key), refreshed off the loop.
        self._jwks: jwt.PyJWKClient | None = (
            jwt.PyJWKClient(settings.jwt_jwks_url, cache_jwk_set=False, cache_keys=False)
            if settings.jwt_jwks_url
            else None
        )
        self._keys: dict[str, Any] = {}
        self._keys_at = 0.0
        self._fetch_failed_at = -UNKNOWN_KID_REFETCH_S
        # Parsed once: an Ed25519 verification costs ~100 µs, a parse of the key as much again.
        self._service_keys: Mapping[str, tuple[Ed25519PublicKey, ...]] = parse_public_keys(
            settings.service_public_keys
        )
        # (token, audience) -> (exp, principal): a caller reuses its token until near its exp.
        self._verified: dict[tuple[str, str], tuple[float, Principal]] = {}
        self._fetching = asyncio.Lock()

    @property
    def trusted_service_ids(self) -> frozenset[str]:
        return frozenset(self._service_keys)

    @property
    def uses_jwks(self) -> bool:
        return self._jwks is not None

    def needs_keys(self, token: str) -> bool:
        """True when verifying ``token`` needs the JWKS fetched (none loaded, the set is older
        than its lifespan, or its ``kid`` is new): ``await fetch_keys`` first, so the blocking
        fetch runs in a thread. An unknown ``kid`` refetches at most every UNKNOWN_KID_REFETCH_S."""
        if self._jwks is None:
            return False
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            return False  # verify_user answers it, without a fetch
        if header.get("alg") == "HS256":
            return False  # a forged or dev token: never verified with the JWKS
        try:
            if _service_claims(token) is not None:
                return False  # a service token: verified with the callers' public keys
        except Unauthorized:
            return False  # a service token with the wrong algorithm: refused without a fetch
        now = time.monotonic()
        if not self._keys or now - self._keys_at > JWKS_LIFESPAN_S:
            # A failed fetch is not retried for UNKNOWN_KID_REFETCH_S, keys or none: otherwise
            # every token sent while the identity provider is down would wait for one.
            return now - self._fetch_failed_at > UNKNOWN_KID_REFETCH_S
        return header.get("kid") not in self._keys and now - self._keys_at > UNKNOWN_KID_REFETCH_S

    async def fetch_keys(self, token: str) -> None:
        """Load the JWKS in a thread when ``token`` needs it (PyJWKClient fetches with blocking
        urllib), one fetch at a time; returns at once otherwise. A failure keeps the keys there
        were; verify_user reports what it cannot verify."""
        if not self.needs_keys(token):
            return
        async with self._fetching:
            if self.needs_keys(token):  # not fetched meanwhile by the holder of the lock
                await asyncio.to_thread(self._load_keys)

    def _load_keys(self) -> None:
        assert self._jwks is not None
        try:
            jwk_set = self._jwks.get_jwk_set(refresh=True)
        except Exception as exc:  # PyJWTError, and a reply that is not JSON at all
            self._fetch_failed_at = time.monotonic()
            log.warning("JWKS not fetched", extra={"error": type(exc).__name__})
            return
        self._keys = {k.key_id: k.key for k in jwk_set.keys if k.key_id}
        self._keys_at = time.monotonic()

    def _signing_key(self, token: str) -> Any:
        # Never fetched here: this runs on the event loop, and the fetch blocks (fetch_keys
        # runs it in a thread before verification). No keys yet: nothing verifies.
        kid = jwt.get_unverified_header(token).get("kid")  # garbage is a 401 before anything
        if not self._keys:
            raise ServiceUnavailable(
                "the identity provider's signing keys are not available; try again shortly",
                code="auth_unavailable",
            )
        key = self._keys.get(kid) if isinstance(kid, str) else None
        if key is None:
            raise jwt.InvalidKeyError("the token's kid is not in the identity provider's JWKS")
        return key

    def verify_user(self, token: str) -> Principal:
        try:
            if self._jwks is not None:
                key: Any = self._signing_key(token)
                algorithms = ["RS256", "ES256", "PS256", "EdDSA"]
            elif self.settings.dev_mode:
                key = self.settings.jwt_dev_secret.get_secret_value()
                algorithms = ["HS256"]
            else:
                raise Unauthorized("no JWKS configured for user tokens", code="auth_not_configured")
            claims = jwt.decode(
                token,
                key,
                algorithms=algorithms,
                audience=self.settings.jwt_audience,
                issuer=self.settings.jwt_issuer,
                options={"require": ["exp", "sub", "iss", "aud"]},
                leeway=30,
            )
        except jwt.ExpiredSignatureError:
            raise Unauthorized("token expired", code="token_expired") from None
        except jwt.PyJWTError as exc:
            raise Unauthorized(f"invalid token: {type(exc).__name__}", code="invalid_token") from None
        if claims.get("typ") == "service":
            raise Unauthorized("a service token cannot act as a user", code="invalid_token")
        tenant, tier = claims.get("tenant"), claims.get("tier")
        if not isinstance(tenant, str) or not tenant:
            raise Unauthorized("token has no tenant claim", code="invalid_token")
        try:
            tier_value = Tier(str(tier))
        except ValueError:
            raise Unauthorized("token has no valid tier claim", code="invalid_token") from None
        return Principal("user", tenant_id=tenant, user_id=str(claims["sub"]), tier=tier_value, claims=claims)

    def verify_service(self, token: str, audience: str, *, typ: str = "service") -> Principal:
        """A token signed by a known service for ``audience``. ``typ`` is ``service`` for the
        services' own tokens; a receiver that accepts a narrower kind a service mints (the
        gateway: ``plugin`` tokens from connectors) names it, and never gets the other kind."""
        now = time.time()
        cached = self._verified.get((token, audience))
        if cached is not None and cached[0] > now:
            if cached[1].claims.get("typ") != typ:
                raise Unauthorized(f"not a {typ} token", code="invalid_token")
            return cached[1]
        parsed = _service_claims(token)
        if parsed is None:
            raise Unauthorized("not a service token", code="invalid_token")
        return self._verify_service(parsed, token, audience, now, typ)

    def _verify_service(
        self, parsed: tuple[dict[str, Any], str, bytes], token: str, audience: str, now: float, typ: str
    ) -> Principal:
        claims, signing_input, signature = parsed
        if claims.get("typ") != typ:
            raise Unauthorized(f"not a {typ} token", code="invalid_token")
        service_id = claims.get("sub")
        keys = self._service_keys.get(service_id) if isinstance(service_id, str) else None
        if keys is None:
            raise Unauthorized("unknown service", code="unknown_service")
        for key in keys:  # two while the caller's key rotates
            try:
                key.verify(signature, signing_input.encode())
                break
            except InvalidSignature:
                continue
        else:
            raise _invalid(f"not signed by {service_id}'s key")
        exp = _check_service_claims(claims, audience, now)
        principal = Principal("service", service_id=service_id, claims=claims)
        if len(self._verified) >= _VERIFIED_CACHE_SIZE:
            self._verified.clear()  # tokens are short-lived; a reset is simpler than LRU bookkeeping
        self._verified[(token, audience)] = (exp, principal)
        return principal

    def verify_any(self, token: str, audience: str) -> Principal:
        now = time.time()
        cached = self._verified.get((token, audience))
        if cached is not None and cached[0] > now:
            if cached[1].claims.get("typ") != "service":  # a plugin token is neither kind
                raise Unauthorized("not a service token", code="invalid_token")
            return cached[1]
        parsed = _service_claims(token)
        return (
            self._verify_service(parsed, token, audience, now, "service")
            if parsed
            else self.verify_user(token)
        )


def mint_service_token(
    private_key: Ed25519PrivateKey,
    *,
    service_id: str,
    audience: str,
    ttl_s: int = SERVICE_TOKEN_TTL_S,
    extra_claims: Mapping[str, Any] | None = None,
    now: float | None = None,
    typ: str = "service",
) -> str:
    """A service token signed with ``private_key``: ``typ=service``, ``sub``, ``aud``, ``iat``,
    ``exp`` and a fresh ``jti``, plus ``extra_claims`` (e.g. a connection and tenant a token is
    scoped to; the receiver reads them from ``Principal.claims``). Receivers refuse lifetimes
    above SERVICE_TOKEN_MAX_TTL_S."""
    if extra_claims and RESERVED_SERVICE_CLAIMS & extra_claims.keys():
        raise ValueError(f"extra_claims may not set {sorted(RESERVED_SERVICE_CLAIMS & extra_claims.keys())}")
    if not 0 < ttl_s <= SERVICE_TOKEN_MAX_TTL_S:
        raise ValueError(f"ttl_s must be within 1..{SERVICE_TOKEN_MAX_TTL_S}")
    if typ not in SIGNED_TOKEN_TYPES:
        raise ValueError(f"typ must be one of {sorted(SIGNED_TOKEN_TYPES)}")
    issued = int(time.time() if now is None else now)
    claims = {
        **(extra_claims or {}),
        "typ": typ,
        "sub": service_id,
        "aud": audience,
        "iat": issued,
        "exp": issued + ttl_s,
        "jti": secrets.token_urlsafe(12),
    }
    payload = base64.urlsafe_b64encode(json.dumps(claims, separators=(",", ":")).encode()).rstrip(b"=")
    signing_input = _SERVICE_HEADER + b"." + payload
    signature = base64.urlsafe_b64encode(private_key.sign(signing_input)).rstrip(b"=")
    return (signing_input + b"." + signature).decode()


class ServiceTokenMinter:
    """Mints this service's tokens for calling another service (one cached per audience,
    renewed a minute before it expires)."""

    def __init__(self, service_id: str, private_key: Ed25519PrivateKey | str) -> None:
        self.service_id = service_id
        self._key = load_private_key(private_key) if isinstance(private_key, str) else private_key
        self._cache: dict[str, tuple[float, str]] = {}

    @classmethod
    def from_settings(cls, settings: HubSettings) -> ServiceTokenMinter:
        service_id = settings.service_id or settings.service_name
        key = own_private_key(settings)
        if key is None:
            raise ConfigurationError(
                f"{service_id} has no service key: "
                "set HUB_SERVICE_PRIVATE_KEY or HUB_SERVICE_PRIVATE_KEY_FILE"
            )
        return cls(service_id, key)

    def mint(
        self,
        audience: str,
        *,
        ttl_s: int = SERVICE_TOKEN_TTL_S,
        extra_claims: Mapping[str, Any] | None = None,
    ) -> str:
        """A new token (not cached), e.g. one scoped by ``extra_claims``."""
        return mint_service_token(
            self._key, service_id=self.service_id, audience=audience, ttl_s=ttl_s, extra_claims=extra_claims
        )

    def token_for(
        self,
        audience: str,
        *,
        extra_claims: Mapping[str, Any] | None = None,
        ttl_s: int = SERVICE_TOKEN_TTL_S,
    ) -> str:
        """This service's token for ``audience``. With ``extra_claims`` (e.g. a narrower ``typ``
        and the scope it grants) a fresh token is minted, never cached; ``sub``, ``aud``, ``iat``
        and ``exp`` cannot be overridden."""
        now = time.time()
        if extra_claims:
            claims = dict(extra_claims)
            typ = str(claims.pop("typ", "service"))
            return mint_service_token(
                self._key,
                service_id=self.service_id,
                audience=audience,
                ttl_s=ttl_s,
                extra_claims=claims,
                typ=typ,
            )
        cached = self._cache.get(audience)
        if cached and cached[0] - now > 60:
            return cached[1]
        token = mint_service_token(self._key, service_id=self.service_id, audience=audience, now=now)
        self._cache[audience] = (int(now) + SERVICE_TOKEN_TTL_S, token)
        return token

    def headers_for(self, audience: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token_for(audience)}"}


def mint_user_token(
    settings: HubSettings,
    *,
    tenant: str,
    user: str,
    tier: Tier | str,
    ttl_s: int = 12 * 3600,
) -> str:
    """A user token signed with the dev key (what ``hubctl token`` prints): accepted only by
    services running with HUB_ENVIRONMENT=dev or test, on loopback."""
    now = int(time.time())
    claims = {
        "sub": user,
        "tenant": tenant,
        "tier": str(Tier(tier)),
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "iat": now,
        "exp": now + ttl_s,
    }
    return jwt.encode(claims, settings.jwt_dev_secret.get_secret_value(), algorithm="HS256")


def _authenticator(request: Request) -> Authenticator:
    auth: Authenticator = request.app.state.authenticator
    return auth


# async on purpose: FastAPI runs plain ``def`` dependencies in a thread pool, which costs more
# than verifying a token on the event loop (it halved the vault's throughput).
async def current_user(request: Request) -> Principal:
    auth, token = _authenticator(request), _bearer(request)
    await auth.fetch_keys(token)  # the JWKS, off the loop, when this token needs it
    return auth.verify_user(token)


async def current_service(request: Request) -> Principal:
    return _authenticator(request).verify_service(_bearer(request), request.app.state.service_name)


async def current_principal(request: Request) -> Principal:
    auth, token = _authenticator(request), _bearer(request)
    await auth.fetch_keys(token)  # the JWKS, off the loop, when this token needs it
    return auth.verify_any(token, request.app.state.service_name)


UserPrincipal = Annotated[Principal, Depends(current_user)]
ServicePrincipal = Annotated[Principal, Depends(current_service)]
AnyPrincipal = Annotated[Principal, Depends(current_principal)]
