"""Race-free token refresh, coalesced on time (ADR 0004, ADR 0014).

Exactly one refresh per connection at a time across all replicas, and one per burst:
1. every caller notes when its request began, on Redis' clock (one clock for all replicas);
2. in-process single flight: a caller joining a refresh under way takes its result when that
   refresh completed after the caller's request began (it did: it was still running);
3. a Redis lock per connection across processes; under it the token metadata is re-read, and a
   refresh that completed after the caller's request began (``last_refreshed_at``, written on the
   same clock by whichever replica did it) is that caller's result, ``force`` or not;
4. a plain request also needs no provider call while the token was refreshed in the last
   ``JUST_REFRESHED_S`` and has more than half its lifetime left, whatever that lifetime is;
5. the new pair is stored with compare-and-swap: the refresh token against the vault row
   version we read, the metadata against the generation we read;
6. a provider answer without a refresh token keeps the old one; 5xx/network errors back off and
   retry; ``invalid_grant`` re-reads (a concurrent winner is fine) and otherwise marks the
   connection ``token_invalid`` with an event.

Each answer says what happened (``outcome``): ``refreshed`` for the one caller whose request made
the provider call, ``coalesced`` for those given a refresh that completed after they asked,
``not_needed`` when the stored token was already fresh enough for a plain request.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import hmac
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal
from uuid import UUID

from hub_common.clients.vault import VaultClient
from hub_common.credential_keys import ACCESS_TOKEN, REFRESH_TOKEN
from hub_common.db import Database
from hub_common.errors import Conflict, HubError, NotFound, ServiceUnavailable
from hub_oauth.adapters.locks import LockTimeout, RedisLocks
from hub_oauth.adapters.provider_http import ProviderOAuthClient
from hub_oauth.domain.token_response import OAuthProviderError
from hub_oauth.repositories import tokens
from hub_oauth.services.oauth_context import ContextResolver
from hub_oauth.services.token_store import TokenStore, expiry, write_values

log = logging.getLogger(__name__)
# A plain request within this long of the last refresh is not_needed while the token still has
# more than half its lifetime left (a 30 s token refreshed 1 s ago as much as a 1 h one).
JUST_REFRESHED_S = 30

Outcome = Literal["refreshed", "coalesced", "not_needed"]


@dataclass(frozen=True)
class RefreshOutcome:
    connection_id: UUID
    # True when the stored token comes from a refresh that completed after the request began
    # (``refreshed`` or ``coalesced``); False for ``not_needed``.
    refreshed: bool
    expires_at: datetime | None
    generation: int
    outcome: Outcome = "refreshed"
    refreshed_at: datetime | None = None  # completion of the refresh behind the stored token

    @property
    def performed(self) -> bool:
        """This caller's request made the provider call."""
        return self.outcome == "refreshed"

    def completed_since(self, asked_at: datetime) -> bool:
        return self.refreshed_at is not None and self.refreshed_at >= asked_at


class RefreshFailed(HubError):
    status_code = 502
    code = "refresh_failed"


class Refresher:
    def __init__(
        self,
        *,
        db: Database,
        vault: VaultClient,
        resolver: ContextResolver,
        provider: ProviderOAuthClient,
        locks: RedisLocks,
        store: TokenStore,
    ) -> None:
        self.db = db
        self.vault = vault
        self.resolver = resolver
        self.provider = provider
        self.locks = locks
        self.store = store
        self._in_flight: dict[UUID, asyncio.Future[RefreshOutcome]] = {}

    async def refresh(
        self,
        tenant_id: str,
        connection_id: UUID,
        *,
        stale_token_sha256: str | None = None,
        force: bool = False,
        asked_at: datetime | None = None,
    ) -> RefreshOutcome:
        """``asked_at``: when the caller's request began (default: now, on the shared clock)."""
        if asked_at is None:
            asked_at = await self.locks.now()
        while (existing := self._in_flight.get(connection_id)) is not None:
            shared = await asyncio.shield(existing)
            if shared.completed_since(asked_at):
                return dataclasses.replace(shared, refreshed=True, outcome="coalesced")
            # The flight judged for an earlier request (e.g. not_needed, or a refresh done before
            # this request began): judge this one on its own, as a flight of its own.
        future: asyncio.Future[RefreshOutcome] = asyncio.get_running_loop().create_future()
        self._in_flight[connection_id] = future
        try:
            outcome = await self._refresh_locked(
                tenant_id, connection_id, stale_token_sha256, force, asked_at
            )
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # mark retrieved: callers that joined get it through shield
            raise
        else:
            future.set_result(outcome)
            return outcome
        finally:
            self._in_flight.pop(connection_id, None)

    async def _refresh_locked(
        self, tenant_id: str, connection_id: UUID, stale_sha: str | None, force: bool, asked_at: datetime
    ) -> RefreshOutcome:
        before = await self._token_row(connection_id)
        if before is None or before.tenant_id != tenant_id:
            raise NotFound("no OAuth token for this connection", code="token_not_found")
        if before.status != "active":
            raise Conflict(
                f"the connection's token is {before.status}",
                code="token_not_active",
                details={"status": before.status},
            )
        try:
            async with self.locks.hold(str(connection_id)):
                current = await self._token_row(connection_id)
                if current is None or current.status != "active":
                    raise Conflict("the connection's token is no longer active", code="token_not_active")
                if current.last_refreshed_at is not None and current.last_refreshed_at >= asked_at:
                    return _stored(current, "coalesced")  # someone's refresh ended after we asked
                if current.generation != before.generation:
                    return _stored(current, "coalesced")  # a reconnect stored new tokens meanwhile
                if not force and await self._not_needed(tenant_id, connection_id, current, stale_sha):
                    return _stored(current, "not_needed")
                return await self._do_refresh(tenant_id, connection_id, current.generation)
        except LockTimeout:
            raise ServiceUnavailable(
                "another refresh of this connection is taking too long", code="refresh_in_progress"
            ) from None

    async def _token_row(self, connection_id: UUID) -> tokens.TokenRow | None:
        async with self.db.connection() as conn:
            return await tokens.get_unscoped(conn, connection_id)

    async def _not_needed(
        self, tenant_id: str, connection_id: UUID, current: tokens.TokenRow, stale_sha: str | None
    ) -> bool:
        """For a plain request: the stored token is fresh enough, no provider call."""
        if stale_sha is not None:
            # The caller names the token that failed: refresh only if it is still the stored one.
            return not await self._is_current(tenant_id, connection_id, stale_sha)
        if current.last_refreshed_at is None:
            return False
        now = await self.locks.now()
        recent = now - current.last_refreshed_at < timedelta(seconds=JUST_REFRESHED_S)
        return recent and current.more_than_half_life_left(now)

    async def _is_current(self, tenant_id: str, connection_id: UUID, stale_sha: str) -> bool:
        value = await self.vault.read(tenant_id, connection_id, ACCESS_TOKEN)
        if value is None:
            return True
        digest = hashlib.sha256(value.encode()).hexdigest()
        return hmac.compare_digest(digest, stale_sha.lower())

    async def _do_refresh(self, tenant_id: str, connection_id: UUID, generation: int) -> RefreshOutcome:
        ctx = await self.resolver.resolve(tenant_id, connection_id)
        row = await self._token_row(connection_id)
        assert row is not None
        try:
            if row.grant_type == "client_credentials":
                token_set = await self.provider.client_credentials(
                    ctx.endpoints, ctx.oauth, ctx.client, scopes=row.granted_scopes
                )
                refresh_version = None
            else:
                # Only a refresh token this grant recorded: one left behind by an earlier grant
                # (its delete failed after a reconnect) belongs to another grant, maybe another
                # account, and must never be used for this connection.
                stored = (
                    await self.vault.read_versioned(tenant_id, connection_id, REFRESH_TOKEN)
                    if row.has_refresh_token
                    else None
                )
                if stored is None:
                    await self.store.mark_invalid(
                        tenant_id, connection_id, row.connector_id, "no refresh token"
                    )
                    raise RefreshFailed(
                        "the connection has no refresh token; reconnect it",
                        code="no_refresh_token",
                        status_code=409,
                    )
                old_refresh, refresh_version = stored
                token_set = await self.provider.refresh(
                    ctx.endpoints, ctx.oauth, ctx.client, refresh_token=old_refresh
                )
                # A provider answer without a refresh token keeps the stored one (write_values
                # writes only what came back).
        except OAuthProviderError as exc:
            return await self._failed(tenant_id, connection_id, row.connector_id, generation, exc)
        await write_values(
            self.vault,
            tenant_id,
            connection_id,
            token_set,
            expected_refresh_version=refresh_version if token_set.refresh_token else None,
        )
        expires_at = expiry(token_set)
        completed_at = await self.locks.now()  # before a connection is taken: no Redis wait holds one
        async with self.db.connection() as conn:
            advanced = await tokens.advance(
                conn,
                connection_id,
                expected_generation=generation,
                expires_at=expires_at,
                has_refresh_token=bool(token_set.refresh_token) or row.has_refresh_token,
                granted_scopes=token_set.scopes or None,
                completed_at=completed_at,
            )
        if not advanced:  # cannot happen while we hold the lock, unless it expired under us
            log.error(
                "token generation moved during a locked refresh", extra={"connection_id": str(connection_id)}
            )
            # Someone else wrote this connection's tokens meanwhile: do not claim this refresh
            # succeeded (the caller re-reads and tries again).
            raise ServiceUnavailable(
                "the connection's tokens changed during the refresh; try again", code="refresh_conflict"
            )
        after = await self._token_row(connection_id)
        assert after is not None
        log.info(
            "token refreshed", extra={"connection_id": str(connection_id), "generation": after.generation}
        )
        return _stored(after, "refreshed")

    async def _failed(
        self, tenant_id: str, connection_id: UUID, connector_id: str, generation: int, exc: OAuthProviderError
    ) -> RefreshOutcome:
        if exc.error == "invalid_grant":
            current = await self._token_row(connection_id)
            if current is not None and current.generation != generation and current.status == "active":
                return _stored(current, "coalesced")
            await self.store.mark_invalid(tenant_id, connection_id, connector_id, "invalid_grant")
            raise RefreshFailed(
                "the provider refused the refresh token (invalid_grant); reconnect",
                code="invalid_grant",
                status_code=409,
            )
        retry_in = 60.0 if exc.retryable else 3600.0
        async with self.db.connection() as conn:
            await tokens.record_failure(conn, connection_id, exc.error, retry_in)
        raise RefreshFailed(
            f"refresh failed: {exc.error}",
            code="refresh_failed",
            status_code=502 if exc.retryable else 409,
            details={"provider_error": exc.error},
        )


def _stored(row: tokens.TokenRow, outcome: Outcome) -> RefreshOutcome:
    return RefreshOutcome(
        row.connection_id,
        outcome != "not_needed",
        row.expires_at,
        row.generation,
        outcome,
        row.last_refreshed_at,
    )
