"""Race-free token refresh.

Exactly one refresh per connection at a time across all replicas:
1. in-process single flight: concurrent callers in one process share one attempt;
2. a Redis lock per connection across processes;
3. after taking the lock, re-read the token metadata: if its generation moved since we
   looked (someone else refreshed while we waited), return the stored token instead;
4. the new pair is stored with compare-and-swap: the refresh token against the vault row
   version we read, the metadata against the generation we read;
5. a provider answer without a refresh token keeps the old one; 5xx/network errors back off and
   retry; ``invalid_grant`` re-reads (a concurrent winner is fine) and otherwise marks the
   connection ``token_invalid`` with an event.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from uuid import UUID

import asyncpg

from hub_common.clients.vault import VaultClient
from hub_common.credential_keys import ACCESS_TOKEN, REFRESH_TOKEN
from hub_common.errors import Conflict, HubError, NotFound, ServiceUnavailable
from hub_oauth.adapters.locks import LockTimeout, RedisLocks
from hub_oauth.adapters.provider_http import ProviderOAuthClient
from hub_oauth.domain.token_response import OAuthProviderError
from hub_oauth.repositories import tokens
from hub_oauth.services.context import ContextResolver
from hub_oauth.services.token_store import TokenStore, expiry, write_values

log = logging.getLogger(__name__)
# A token refreshed this recently and still valid is not refreshed again on a plain request.
JUST_REFRESHED_S = 30


@dataclass(frozen=True)
class RefreshOutcome:
    connection_id: UUID
    refreshed: bool  # False: another caller had already refreshed, the stored token is current
    expires_at: datetime | None
    generation: int


class RefreshFailed(HubError):
    status_code = 502
    code = "refresh_failed"


class Refresher:
    def __init__(
        self,
        *,
        pool: asyncpg.Pool,
        vault: VaultClient,
        resolver: ContextResolver,
        provider: ProviderOAuthClient,
        locks: RedisLocks,
        store: TokenStore,
    ) -> None:
        self.pool = pool
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
    ) -> RefreshOutcome:
        existing = self._in_flight.get(connection_id)
        if existing is not None:
            return await asyncio.shield(existing)
        future: asyncio.Future[RefreshOutcome] = asyncio.get_running_loop().create_future()
        self._in_flight[connection_id] = future
        try:
            outcome = await self._refresh_locked(tenant_id, connection_id, stale_token_sha256, force)
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
        self, tenant_id: str, connection_id: UUID, stale_sha: str | None, force: bool
    ) -> RefreshOutcome:
        before = await tokens.get(self.pool, connection_id)
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
                current = await tokens.get(self.pool, connection_id)
                if current is None or current.status != "active":
                    raise Conflict("the connection's token is no longer active", code="token_not_active")
                if not force and await self._already_replaced(
                    tenant_id, connection_id, before, current, stale_sha
                ):
                    return RefreshOutcome(connection_id, False, current.expires_at, current.generation)
                return await self._do_refresh(tenant_id, connection_id, current.generation)
        except LockTimeout:
            raise ServiceUnavailable(
                "another refresh of this connection is taking too long", code="refresh_in_progress"
            ) from None

    async def _already_replaced(
        self,
        tenant_id: str,
        connection_id: UUID,
        before: tokens.TokenRow,
        current: tokens.TokenRow,
        stale_sha: str | None,
    ) -> bool:
        """True when someone else refreshed since the caller looked: no provider call needed."""
        if current.generation != before.generation:
            return True
        if stale_sha is not None:
            # The caller names the token that failed: refresh only if it is still the stored one.
            return not await self._is_current(tenant_id, connection_id, stale_sha)
        just_refreshed = current.last_refreshed_at is not None and (
            datetime.now(UTC) - current.last_refreshed_at < timedelta(seconds=JUST_REFRESHED_S)
        )
        still_valid = current.expires_at is None or current.expires_at > datetime.now(UTC) + timedelta(
            seconds=60
        )
        return just_refreshed and still_valid

    async def _is_current(self, tenant_id: str, connection_id: UUID, stale_sha: str) -> bool:
        value = await self.vault.read(tenant_id, connection_id, ACCESS_TOKEN)
        if value is None:
            return True
        digest = hashlib.sha256(value.encode()).hexdigest()
        return hmac.compare_digest(digest, stale_sha.lower())

    async def _do_refresh(self, tenant_id: str, connection_id: UUID, generation: int) -> RefreshOutcome:
        ctx = await self.resolver.resolve(tenant_id, connection_id)
        row = await tokens.get(self.pool, connection_id)
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
        advanced = await tokens.advance(
            self.pool,
            connection_id,
            expected_generation=generation,
            expires_at=expiry(token_set),
            has_refresh_token=bool(token_set.refresh_token) or row.has_refresh_token,
            granted_scopes=token_set.scopes or None,
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
        after = await tokens.get(self.pool, connection_id)
        assert after is not None
        log.info(
            "token refreshed", extra={"connection_id": str(connection_id), "generation": after.generation}
        )
        return RefreshOutcome(connection_id, True, after.expires_at, after.generation)

    async def _failed(
        self, tenant_id: str, connection_id: UUID, connector_id: str, generation: int, exc: OAuthProviderError
    ) -> RefreshOutcome:
        if exc.error == "invalid_grant":
            current = await tokens.get(self.pool, connection_id)
            if current is not None and current.generation != generation and current.status == "active":
                return RefreshOutcome(connection_id, False, current.expires_at, current.generation)
            await self.store.mark_invalid(tenant_id, connection_id, connector_id, "invalid_grant")
            raise RefreshFailed(
                "the provider refused the refresh token (invalid_grant); reconnect",
                code="invalid_grant",
                status_code=409,
            )
        retry_in = 60.0 if exc.retryable else 3600.0
        await tokens.record_failure(self.pool, connection_id, exc.error, retry_in)
        raise RefreshFailed(
            f"refresh failed: {exc.error}",
            code="refresh_failed",
            status_code=502 if exc.retryable else 409,
            details={"provider_error": exc.error},
        )
