"""Who is calling: user bearer JWTs (tenant, user, tier) and service-to-service tokens.

User tokens: HS256 signed with the dev key in dev mode (``hubctl token``), or verified against
the identity provider's JWKS in production (``HUB_JWT_JWKS_URL``). Required claims: ``sub``
(user), ``tenant``, ``tier``, ``exp``, ``iss``, ``aud``.

Service tokens: each service has its own secret; it signs short-lived HS256 JWTs
(``typ=service``, ``sub=<service id>``, ``aud=<target>``), so the secret never travels. The
receiver looks the secret up by service id. In dev mode each known service's secret is derived
from the dev key, so a laptop needs no configuration; production supplies
``HUB_SERVICE_CREDENTIALS`` (``id=secret,...``) and ``HUB_SERVICE_SECRET``.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Annotated, Any

import jwt
from fastapi import Depends, Request

from hub_common.errors import ConfigurationError, Forbidden, ServiceUnavailable, Unauthorized
from hub_common.settings import HubSettings

log = logging.getLogger(__name__)
JWKS_LIFESPAN_S = 600.0  # the identity provider's keys are re-read this often
UNKNOWN_KID_REFETCH_S = 30.0  # a token with a new kid refetches at most this often (and after a failure)

KNOWN_SERVICES = ("vault", "oauth", "connectors", "gateway", "webhooks", "hubctl")
SERVICE_TOKEN_TTL_S = 300


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


def dev_service_secret(settings: HubSettings, service_id: str) -> str:
    key = settings.jwt_dev_secret.get_secret_value().encode()
    return hmac.new(key, f"service:{service_id}".encode(), hashlib.sha256).hexdigest()


class Authenticator:
    """Verifies both kinds of token; one instance per process (JWKS keys are cached)."""

    def __init__(self, settings: HubSettings) -> None:
        if settings.jwt_jwks_url and settings.dev_mode:
            # An identity provider means a real deployment; dev mode would also accept service
            # tokens signed with secrets derived from the public dev key.
            raise ConfigurationError(
                "HUB_JWT_JWKS_URL is set but HUB_ENVIRONMENT is "
                f"{settings.environment!r}: set HUB_ENVIRONMENT=production (dev mode derives "
                "service secrets from a public default key)"
            )
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
        self._service_secrets = self._load_service_secrets()
        self._fetching = asyncio.Lock()

    def _load_service_secrets(self) -> dict[str, bytes]:
        secrets: dict[str, bytes] = {}
        if self.settings.dev_mode:
            secrets.update({s: dev_service_secret(self.settings, s).encode() for s in KNOWN_SERVICES})
        raw = self.settings.service_credentials.get_secret_value()
        for item in filter(None, (p.strip() for p in raw.split(","))):
            name, _, secret = item.partition("=")
            if name and secret:
                if len(secret.strip()) < 32 and not self.settings.dev_mode:
                    raise ConfigurationError(
                        f"HUB_SERVICE_CREDENTIALS: the secret of {name.strip()!r} "
                        "must have at least 32 characters"
                    )
                secrets[name.strip()] = secret.strip().encode()
        return secrets

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
            return False  # a service token (or a forged one): never verified with the JWKS
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
        try:
            unverified = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError:
            raise Unauthorized("invalid service token", code="invalid_token") from None
        service_id = unverified.get("sub")
        secret = self._service_secrets.get(service_id) if isinstance(service_id, str) else None
        if unverified.get("typ") != typ or secret is None:
            raise Unauthorized("unknown service", code="unknown_service")
        try:
            jwt.decode(
                token,
                secret,
                algorithms=["HS256"],
                audience=audience,
                options={"require": ["exp", "sub", "aud"]},
                leeway=30,
            )
        except jwt.PyJWTError as exc:
            raise Unauthorized(f"invalid service token: {type(exc).__name__}", code="invalid_token") from None
        return Principal("service", service_id=service_id, claims=unverified)

    def verify_any(self, token: str, audience: str) -> Principal:
        try:
            typ = jwt.decode(token, options={"verify_signature": False}).get("typ")
        except jwt.PyJWTError:
            raise Unauthorized("invalid token", code="invalid_token") from None
        return self.verify_service(token, audience) if typ == "service" else self.verify_user(token)


class ServiceTokenMinter:
    """Mints (and caches) this service's tokens for calling another service."""

    def __init__(self, service_id: str, secret: str) -> None:
        self.service_id = service_id
        self._secret = secret.encode()
        self._cache: dict[str, tuple[float, str]] = {}

    @classmethod
    def from_settings(cls, settings: HubSettings) -> ServiceTokenMinter:
        service_id = settings.service_id or settings.service_name
        secret = settings.service_secret.get_secret_value()
        if not secret:
            if not settings.dev_mode:
                raise Forbidden("HUB_SERVICE_SECRET is required outside dev mode")
            secret = dev_service_secret(settings, service_id)
        return cls(service_id, secret)

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
            reserved = {"sub", "aud", "iat", "exp"} & set(extra_claims)
            if reserved:
                raise ValueError(f"extra_claims may not set {sorted(reserved)}")
            claims = {"typ": "service", **extra_claims}
            claims.update(sub=self.service_id, aud=audience, iat=int(now), exp=int(now + ttl_s))
            return jwt.encode(claims, self._secret, algorithm="HS256")
        cached = self._cache.get(audience)
        if cached and cached[0] - now > 60:
            return cached[1]
        exp = now + SERVICE_TOKEN_TTL_S
        token = jwt.encode(
            {"typ": "service", "sub": self.service_id, "aud": audience, "iat": int(now), "exp": int(exp)},
            self._secret,
            algorithm="HS256",
        )
        self._cache[audience] = (exp, token)
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
    """A dev-mode user token (what ``hubctl token`` prints)."""
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
# than verifying an HS256 token on the event loop (it halved the vault's throughput).
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
