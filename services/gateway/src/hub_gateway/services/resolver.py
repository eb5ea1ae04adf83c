"""Connection id → where to call and how to authenticate, from two caches.

* targets: the connectors service's lookup, parsed, host-checked against the manifest's
  ``allowed_hosts`` and SSRF-checked (private/loopback/link-local refused unless the operator
  allow-lists them); DNS is re-checked at connect time by the upstream resolver as well;
* injections: the credential read from the vault, already turned into the header or query
  parameter it becomes.

Both are invalidated by events (``integration.disconnected``, ``integration.status-changed``,
``credential.changed``) on every replica; a disconnected connection is also remembered as a
tombstone, so it is refused even if a lookup still answered from a stale replica of the
connectors database.

Every answer is for one tenant: another tenant's connection is "not found" before anything
else about it (disconnected, host refused, unresolvable) can show.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Any

from prometheus_client import Counter

from hub_common.clients.vault import VaultClient
from hub_common.errors import HubError
from hub_common.ssrf import HostUnresolvable, UrlNotAllowed, check_url
from hub_gateway.adapters.hub_services import ConnectionsClient
from hub_gateway.domain.connection import (
    HEALTH_CHECKABLE_STATUSES,
    ConnectionTarget,
    LookupInvalid,
    check_allowed_host,
    parse_lookup,
)
from hub_gateway.domain.errors import (
    ConnectionNotActive,
    ConnectionNotFound,
    DependencyUnavailable,
    UpstreamUnreachable,
)
from hub_gateway.domain.injection import Injection, build_injection
from hub_gateway.services.cache import TtlCache
from hub_gateway.services.provider_budget import ProviderBudgets

CACHE = Counter("hub_gateway_cache_total", "Gateway cache lookups", ["cache", "outcome"])
INVALIDATIONS = Counter("hub_gateway_invalidations_total", "Cache invalidations", ["reason"])


class _TargetRefused(Exception):
    """A lookup whose checks failed, with the owner's tenant: only its owner learns why."""

    def __init__(self, tenant_id: str, error: HubError) -> None:
        super().__init__(error.code)
        self.tenant_id = tenant_id
        self.error = error


def _parse_owned(body: Any, connection_id: uuid.UUID) -> ConnectionTarget:
    """:func:`parse_lookup`, but a connection whose answer is unusable (say its config lacks a
    base-URL template value) is refused as its owner's: another tenant gets 404, not the why."""
    try:
        return parse_lookup(body, connection_id)
    except LookupInvalid as exc:
        owner = body.get("tenant_id") if isinstance(body, dict) else None
        if isinstance(owner, str):
            raise _TargetRefused(owner, exc) from None
        raise


class Resolver:
    def __init__(
        self,
        connections: ConnectionsClient,
        vault: VaultClient,
        budgets: ProviderBudgets,
        *,
        target_ttl_s: float,
        credential_ttl_s: float,
        max_entries: int,
        allowlist: Sequence[str],
        trusted: Callable[[], bool] = lambda: True,
    ) -> None:
        self._connections = connections
        self._vault = vault
        self._budgets = budgets
        self._allowlist = list(allowlist)
        self.targets: TtlCache[uuid.UUID, ConnectionTarget | None] = TtlCache(
            ttl_s=target_ttl_s, max_entries=max_entries, trusted=trusted
        )
        self.injections: TtlCache[uuid.UUID, Injection] = TtlCache(
            ttl_s=credential_ttl_s, max_entries=max_entries, trusted=trusted
        )
        # connection id → its tenant (None when the event did not say)
        self._tombstones: OrderedDict[uuid.UUID, str | None] = OrderedDict()
        self._max_tombstones = max_entries * 10

    def cached_target(self, connection_id: uuid.UUID, tenant_id: str) -> ConnectionTarget | None:
        """The hot path, without a coroutine: the cached target, else None (then :meth:`target`)."""
        if connection_id in self._tombstones:
            owner = self._tombstones[connection_id]
            if owner is not None and owner != tenant_id:
                raise ConnectionNotFound()
            raise ConnectionNotActive(
                "the connection was disconnected; calls through it are refused",
                details={"status": "disconnected"},
            )
        target = self.targets.peek(connection_id)
        if target is not None and target.tenant_id != tenant_id:
            raise ConnectionNotFound()
        return target

    async def target(self, connection_id: uuid.UUID, tenant_id: str) -> ConnectionTarget:
        target = self.cached_target(connection_id, tenant_id)
        if target is None:
            try:
                target = await self.targets.get(connection_id, lambda: self._load_target(connection_id))
            except _TargetRefused as refused:
                if refused.tenant_id != tenant_id:
                    raise ConnectionNotFound() from None
                raise refused.error from None
        if target is None or target.tenant_id != tenant_id:
            raise ConnectionNotFound()
        return target

    async def describe(self, connection_id: uuid.UUID, tenant_id: str) -> ConnectionTarget:
        """The connection for answers about it that call nobody (its rate-limit status): the
        cached target, else the lookup parsed without the host and SSRF checks, so a provider
        whose host does not resolve still has a status to show."""
        target = self.cached_target(connection_id, tenant_id)
        if target is not None:
            return target
        body = await self._connections.lookup(connection_id)
        if body is None:
            raise ConnectionNotFound()
        try:
            target = _parse_owned(body, connection_id)
        except _TargetRefused as refused:
            if refused.tenant_id != tenant_id:
                raise ConnectionNotFound() from None
            raise refused.error from None
        if target.tenant_id != tenant_id:
            raise ConnectionNotFound()
        await self._budgets.load(connection_id)  # blocks other replicas recorded
        return target

    async def _load_target(self, connection_id: uuid.UUID) -> ConnectionTarget | None:
        body = await self._connections.lookup(connection_id)
        if body is None:
            return None
        target = _parse_owned(body, connection_id)
        if target.status not in HEALTH_CHECKABLE_STATUSES:
            # Refused for its status (409) whatever its host: no host or DNS check first, whose
            # failure (a provider unreachable from here) would answer a retryable 502 instead.
            # The caller checks the status of every target before any call goes out.
            return target
        try:
            check_allowed_host(target)
            try:
                await check_url(target.base_url, allowlist=self._allowlist)
            except HostUnresolvable as exc:
                # DNS trouble is the provider being unreachable, not a refusal (and never a
                # verdict on the connection's credentials).
                raise UpstreamUnreachable(exc.message) from None
            except UrlNotAllowed as exc:
                raise UrlNotAllowed(exc.message, status_code=403, details=exc.details) from None
        except HubError as exc:
            raise _TargetRefused(target.tenant_id, exc) from None
        await self._budgets.load(connection_id)
        return target

    def cached_injection(self, target: ConnectionTarget) -> Injection | None:
        return self.injections.peek(target.id)

    async def injection(self, target: ConnectionTarget) -> Injection:
        cached = self.injections.peek(target.id)
        if cached is not None:
            return cached
        return await self.injections.get(target.id, lambda: self._load_injection(target))

    async def _load_injection(self, target: ConnectionTarget) -> Injection:
        try:
            values = await asyncio.gather(
                *(self._vault.read(target.tenant_id, target.id, key) for key in target.credential_keys)
            )
        except HubError as exc:
            if exc.status_code >= 500:
                raise DependencyUnavailable(
                    "the credential vault is unavailable", code="vault_unavailable"
                ) from None
            raise DependencyUnavailable(
                f"vault refused the read ({exc.code})", code="vault_refused"
            ) from None
        return build_injection(target, dict(zip(target.credential_keys, values, strict=True)))

    def invalidate(self, connection_id: uuid.UUID, reason: str, *, credentials_only: bool = False) -> None:
        INVALIDATIONS.labels(reason).inc()
        self.injections.invalidate(connection_id)
        if not credentials_only:
            self.targets.invalidate(connection_id)

    def tombstone(self, connection_id: uuid.UUID, tenant_id: str | None = None) -> None:
        self._tombstones[connection_id] = tenant_id
        while len(self._tombstones) > self._max_tombstones:
            self._tombstones.popitem(last=False)
        self.invalidate(connection_id, "integration.disconnected")
