"""Per-connection and per-tenant quotas shared by every replica, with a local fast path.

Shared state: two GCRA buckets in Redis (:mod:`hub_gateway.adapters.redis_buckets`), taken
together by one Lua script, so the total accepted across replicas never exceeds what the
buckets allow.

Local fast path — *leases*: a replica takes up to N tokens in one round trip and spends them
from memory. Leased tokens are already removed from the shared buckets, so leasing can never
make the fleet accept more than the quota (no overshoot at all); what it costs is fairness and
idle capacity: a replica may hold up to N tokens another replica could have used, for at most
``lease_ttl_s`` (then they are refunded). N adapts per connection: it starts at 1, doubles while
leases run out before they expire and halves when they don't, and is capped by ``lease_max`` and
by burst/8 — so small quotas stay exact per request and only busy connections batch.
Refusals are cached until the time Redis said a token will exist (a replica cannot create
tokens sooner), so a client hammering a limited connection does not hammer Redis.

If Redis is unreachable the limiter falls back to a local bucket per replica with the same quota
(fail open, bounded: at most replicas x quota) and says so in logs and metrics.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections import OrderedDict
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from prometheus_client import Counter

from hub_gateway.adapters.redis_buckets import BucketState, Lease, RedisBuckets, bucket_keys
from hub_gateway.domain import gcra
from hub_gateway.domain.errors import RateLimited
from hub_gateway.domain.tiers import Quota, TierQuotas

log = logging.getLogger(__name__)
LIMITER = Counter("hub_gateway_ratelimit_total", "Quota decisions", ["outcome"])
_LEASED = LIMITER.labels("lease")
_REFUSED = LIMITER.labels("refused")
_FALLBACK = LIMITER.labels("fallback")
SCOPES = ("connection", "tenant")


@dataclass(slots=True)
class _State:
    tokens: int = 0
    expires: float = 0.0
    size: int = 1
    used: int = 0
    granted: int = 0
    denied_until: float = 0.0
    denial: RateLimited | None = None
    inflight: asyncio.Future[None] | None = None
    keys: tuple[str, str] = ("", "")
    quotas: tuple[Quota, Quota] | None = None
    local_tat: int = 0  # this connection's bucket when Redis is unreachable (per replica)
    local_lease: bool = False  # the tokens held came from that local bucket, not from Redis


def refusal(scope: str, quota: Quota, state: BucketState | None, retry_after_s: float) -> RateLimited:
    retry = max(1, math.ceil(retry_after_s))
    reset = max(retry, math.ceil((state.reset_us if state else 0) / 1e6))
    return RateLimited(
        f"the {scope} quota is used up; retry in {retry} s",
        details={"scope": scope, "limit": quota.burst, "rate_per_s": quota.rate, "retry_after_s": retry},
        headers={
            "Retry-After": str(retry),
            "RateLimit-Limit": str(quota.burst),
            "RateLimit-Remaining": "0",
            "RateLimit-Reset": str(reset),
            "RateLimit-Policy": f"{quota.burst};w={max(1, round(quota.window_s))}",
        },
    )


class QuotaLimiter:
    def __init__(
        self,
        buckets: RedisBuckets | None,
        *,
        lease_max: int,
        lease_ttl_s: float,
        max_entries: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._buckets = buckets
        self.lease_max = lease_max
        self.lease_ttl_s = lease_ttl_s
        self._max_entries = max_entries
        self._clock = clock
        self._states: OrderedDict[tuple[str, str], _State] = OrderedDict()
        self._background: set[asyncio.Task[None]] = set()
        self._warned_at = 0.0
        # The tenant's bucket when Redis is unreachable: one per tenant (by its bucket key), not
        # one per connection, or a tenant with ten connections would get ten tenant quotas.
        self._tenant_tats: OrderedDict[str, int] = OrderedDict()

    def _state(self, tenant_id: str, connection_id: str, quotas: TierQuotas) -> _State:
        key = (tenant_id, connection_id)
        state = self._states.get(key)
        pair = (quotas.connection, quotas.tenant)
        if state is None or state.quotas != pair:
            if state is not None:  # another tier's calls on this connection: give back its lease
                self._give_back(state, self._clock())
            state = _State(keys=bucket_keys(tenant_id, connection_id), quotas=pair)
            self._states[key] = state
            if len(self._states) > self._max_entries:
                self._states.popitem(last=False)
        return state

    def take_leased(self, tenant_id: str, connection_id: str, quotas: TierQuotas) -> bool:
        """One token from this replica's current lease, if it holds one (no await: the common
        case of a busy connection); otherwise :meth:`acquire` decides."""
        state = self._state(tenant_id, connection_id, quotas)
        if state.tokens > 0 and self._clock() < state.expires:
            state.tokens -= 1
            state.used += 1
            return True
        return False

    async def acquire(self, tenant_id: str, connection_id: str, quotas: TierQuotas) -> None:
        state = self._state(tenant_id, connection_id, quotas)
        for _ in range(8):
            now = self._clock()
            if state.tokens > 0 and now < state.expires:
                state.tokens -= 1
                state.used += 1
                return
            if now < state.denied_until and state.denial is not None:
                _REFUSED.inc()
                raise state.denial
            if state.inflight is not None:
                await asyncio.shield(state.inflight)
                continue
            future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            state.inflight = future
            try:
                await self._renew(state, now)
            finally:
                state.inflight = None
                future.set_result(None)
        # Eight renewals raced away from us: take one token on our own.
        await self._renew(state, self._clock())
        if state.tokens <= 0:
            raise state.denial or RateLimited("quota used up")
        state.tokens -= 1

    def _next_size(self, state: _State, now: float) -> int:
        assert state.quotas is not None
        cap = max(1, min(self.lease_max, min(q.burst for q in state.quotas) // 8))
        if state.granted:
            if state.used >= state.granted and now < state.expires:
                state.size = min(cap, state.size * 2)
            elif state.used < state.granted:
                state.size = max(1, state.size // 2)
        return min(state.size, cap)

    async def _renew(self, state: _State, now: float) -> None:
        assert state.quotas is not None
        self._give_back(state, now)
        wanted = self._next_size(state, now)
        local = False
        try:
            if self._buckets is None:
                raise ConnectionError("no shared buckets configured")
            lease = await self._buckets.take(state.keys, state.quotas, wanted)
        except Exception as exc:
            lease, local = self._local_take(state, wanted, exc), True
        now = self._clock()
        if lease.granted <= 0:
            limiting = next((i for i, b in enumerate(lease.buckets) if b.remaining <= 0), 0)
            retry_s = lease.retry_after_us / 1e6
            state.denial = refusal(
                SCOPES[limiting],
                state.quotas[limiting],
                lease.buckets[limiting] if lease.buckets else None,
                retry_s,
            )
            state.denied_until = now + retry_s
            state.granted = state.used = 0
            return
        _LEASED.inc()
        state.local_lease = local
        state.tokens, state.granted, state.used = lease.granted, lease.granted, 0
        state.expires = now + self.lease_ttl_s
        state.denial, state.denied_until = None, 0.0

    def _local_take(self, state: _State, wanted: int, exc: Exception) -> Lease:
        _FALLBACK.inc()
        if self._clock() - self._warned_at > 10:
            self._warned_at = self._clock()
            log.warning(
                "shared rate limit unavailable; limiting per replica", extra={"error": type(exc).__name__}
            )
        assert state.quotas is not None
        now_us = int(time.time() * 1e6)
        tenant_key = state.keys[1]
        tats = (state.local_tat, self._tenant_tats.get(tenant_key, 0))
        grants = []
        for tat, quota in zip(tats, state.quotas, strict=True):
            _, grant = gcra.take(tat, now_us, quota.interval_us, quota.burst, wanted)
            grants.append(grant)
        granted = min(g.granted for g in grants)
        if granted > 0:
            connection_quota, tenant_quota = state.quotas
            state.local_tat, _ = gcra.take(
                tats[0], now_us, connection_quota.interval_us, connection_quota.burst, granted
            )
            self._tenant_tats[tenant_key], _ = gcra.take(
                tats[1], now_us, tenant_quota.interval_us, tenant_quota.burst, granted
            )
            self._tenant_tats.move_to_end(tenant_key)
            if len(self._tenant_tats) > self._max_entries:
                self._tenant_tats.popitem(last=False)
        retry = max((g.retry_after_us for g in grants if g.granted == 0), default=0)
        return Lease(granted, retry, tuple(BucketState(g.remaining, g.reset_us) for g in grants))

    def _give_back(self, state: _State, now: float) -> None:
        """Return a lease's unused tokens to Redis, only while that is still true to the shared
        bucket: not tokens a local fallback handed out (Redis never gave them), and not a lease
        expired for over a TTL (the bucket may have refilled meanwhile; a late refund would let the
        fleet exceed the quota). Expired tokens not given back are lost: never an excess."""
        unused, state.tokens = state.tokens, 0
        fresh = now <= state.expires + self.lease_ttl_s  # within a TTL of expiring: still exact
        if unused > 0 and fresh and not state.local_lease and state.quotas is not None:
            self._spawn(self._refund(state.keys, state.quotas, unused))

    async def _refund(self, keys: tuple[str, str], quotas: tuple[Quota, Quota], unused: int) -> None:
        if self._buckets is None:
            return
        try:
            await self._buckets.refund(keys, quotas, unused)
        except Exception as exc:
            log.debug("lease refund failed", extra={"error": type(exc).__name__})

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def status(self, tenant_id: str, connection_id: str, quotas: TierQuotas) -> tuple[BucketState, ...]:
        """Both buckets as they stand (takes nothing)."""
        keys = bucket_keys(tenant_id, connection_id)
        pair = (quotas.connection, quotas.tenant)
        if self._buckets is None:
            return tuple(BucketState(q.burst, 0) for q in pair)
        lease = await self._buckets.take(keys, pair, 0)
        return lease.buckets

    async def close(self) -> None:
        if self._background:
            await asyncio.gather(*self._background, return_exceptions=True)
