"""Who is calling the gateway, and for which tenant and tier.

* a user bearer JWT: tenant and tier from its claims; Core has no gateway (403
  ``feature_not_in_tier``);
* a service token (``aud=gateway``) of a trusted hub service (connectors, webhooks, oauth):
  it acts for the tenant it names in ``X-Hub-Tenant`` (required, and checked against the
  connection), with the tier in ``X-Hub-Tier`` if given (its quota), else the configured default.
  Tier *gating* is the calling service's business (a Core tenant's connector actions still go
  through the gateway).
* a plugin token (``typ=plugin``, minted by the connectors service for one call of a custom
  connector running in its own process): it grants the proxy route of ONE connection (``conn``)
  of ONE tenant (``tenant``) at its ``tier``; ``X-Hub-Tenant`` is refused with it, and so is
  every other route (see ``docs/adr/0011-plugin-isolation.md``).

Verified tokens are cached until shortly before they expire (an EdDSA service token check costs
~100 µs, a user token ~30 µs; a cache hit one dict lookup).
"""

from __future__ import annotations

import time
import uuid
from collections import OrderedDict

import jwt

from hub_common.errors import Unauthorized
from hub_common.web.auth import Authenticator, Principal, Tier
from hub_gateway.domain import tiers
from hub_gateway.domain.caller import GatewayCaller
from hub_gateway.domain.errors import PluginScope, ServiceNotAllowed, TenantRequired

AUDIENCE = "gateway"
PLUGIN_TOKEN_TYPE = "plugin"
PLUGIN_TOKEN_ISSUER = "connectors"  # the only service that runs plugins, so the only minter
_MAX_CACHE_S = 300.0


def _unverified_type(token: str) -> object:
    try:
        return jwt.decode(token, options={"verify_signature": False}).get("typ")
    except jwt.PyJWTError:
        return None  # verify_any answers it


class CallerAuth:
    def __init__(
        self,
        authenticator: Authenticator,
        *,
        trusted_services: frozenset[str],
        service_default_tier: Tier,
        max_entries: int = 10_000,
    ) -> None:
        self._auth = authenticator
        self._trusted = trusted_services
        self._default_tier = service_default_tier
        self._max_entries = max_entries
        self._cache: OrderedDict[str, tuple[float, Principal]] = OrderedDict()
        self._callers: OrderedDict[tuple[str | None, str | None, str | None], tuple[float, GatewayCaller]] = (
            OrderedDict()
        )

    def needs_keys(self, authorization: str | None) -> bool:
        """True when this token's verification would fetch the identity provider's JWKS; then
        ``await fetch_keys`` first (the fetch blocks, so it runs in a thread)."""
        if not self._auth.uses_jwks:
            return False
        token = (authorization or "").partition(" ")[2].strip()
        return bool(token) and token not in self._cache and self._auth.needs_keys(token)

    async def fetch_keys(self, authorization: str | None) -> None:
        await self._auth.fetch_keys((authorization or "").partition(" ")[2].strip())

    def principal(self, authorization: str | None) -> Principal:
        scheme, _, token = (authorization or "").partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise Unauthorized(
                "missing bearer token", code="missing_token", headers={"WWW-Authenticate": "Bearer"}
            )
        now = time.monotonic()
        cached = self._cache.get(token)
        if cached is not None and cached[0] > now:
            return cached[1]
        if _unverified_type(token) == PLUGIN_TOKEN_TYPE:
            principal = self._auth.verify_service(token, AUDIENCE, typ=PLUGIN_TOKEN_TYPE)
        else:
            principal = self._auth.verify_any(token, AUDIENCE)
        exp = principal.claims.get("exp")
        ttl = min(_MAX_CACHE_S, float(exp) - time.time() - 5) if isinstance(exp, int | float) else 0
        if ttl > 0:
            self._cache[token] = (now + ttl, principal)
            if len(self._cache) > self._max_entries:
                self._cache.popitem(last=False)
        return principal

    def caller(
        self, authorization: str | None, tenant_header: str | None, tier_header: str | None
    ) -> GatewayCaller:
        key = (authorization, tenant_header, tier_header)
        cached = self._callers.get(key)
        if cached is not None and cached[0] > time.monotonic():
            return cached[1]
        caller = self._caller(authorization, tenant_header, tier_header)
        principal_entry = self._cache.get((authorization or "").partition(" ")[2].strip())
        if principal_entry is not None:  # same lifetime as the verified token
            self._callers[key] = (principal_entry[0], caller)
            if len(self._callers) > self._max_entries:
                self._callers.popitem(last=False)
        return caller

    def _caller(
        self, authorization: str | None, tenant_header: str | None, tier_header: str | None
    ) -> GatewayCaller:
        principal = self.principal(authorization)
        if principal.claims.get("typ") == PLUGIN_TOKEN_TYPE:
            return self._plugin_caller(principal, tenant_header)
        if principal.is_service:
            if principal.service_id not in self._trusted:
                raise ServiceNotAllowed(
                    f"service {principal.service_id!r} may not call the gateway",
                    details={"service": principal.service_id},
                )
            if not tenant_header:
                raise TenantRequired("services must name the tenant they act for in X-Hub-Tenant")
            try:
                tier = Tier(tier_header) if tier_header else self._default_tier
            except ValueError:
                tier = self._default_tier
            return GatewayCaller("service", tenant_header, tier, str(principal.service_id))
        assert principal.tenant_id is not None and principal.tier is not None
        tiers.require(principal.tier, "gateway")
        return GatewayCaller("user", principal.tenant_id, principal.tier, str(principal.user_id))

    @staticmethod
    def _plugin_caller(principal: Principal, tenant_header: str | None) -> GatewayCaller:
        claims = principal.claims
        if principal.service_id != PLUGIN_TOKEN_ISSUER:
            raise Unauthorized("plugin tokens come from the connectors service", code="invalid_token")
        if tenant_header is not None:
            raise PluginScope("a plugin token acts for its own tenant; X-Hub-Tenant is not accepted")
        tenant, tier, conn = claims.get("tenant"), claims.get("tier"), claims.get("conn")
        try:
            connection_id = uuid.UUID(str(conn))
            tier_value = Tier(str(tier))
        except ValueError:
            raise Unauthorized("plugin token without a valid scope", code="invalid_token") from None
        if not isinstance(tenant, str) or not tenant:
            raise Unauthorized("plugin token without a valid scope", code="invalid_token")
        return GatewayCaller(
            PLUGIN_TOKEN_TYPE,
            tenant,
            tier_value,
            f"plugin:{claims.get('connector', '?')}",
            connection_id,
            health_check=claims.get("purpose") == "health-check",
        )
