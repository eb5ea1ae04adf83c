"""Revocation: at the provider (RFC 7009 or its own call), then locally, whatever the provider said.

A provider failure is logged and reported, but never keeps a dead credential around: neither an
error answer, nor a network error or timeout, nor a provider that cannot be worked out any more
(OAuth app deleted, discovery down, manifest missing).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from uuid import UUID

from hub_common.clients.vault import VaultClient
from hub_common.credential_keys import ACCESS_TOKEN, ID_TOKEN, REFRESH_TOKEN, secondary
from hub_common.db import Database
from hub_common.db.outbox import write_event
from hub_common.errors import HubError, ServiceUnavailable
from hub_common.events import ConnectionStatusChanged
from hub_oauth.adapters.connections import ConnectionInfo
from hub_oauth.adapters.locks import LockTimeout, RedisLocks
from hub_oauth.adapters.provider_http import ProviderOAuthClient
from hub_oauth.config import SCHEMA
from hub_oauth.domain.token_response import OAuthProviderError
from hub_oauth.repositories import flows, tokens
from hub_oauth.services.oauth_context import ContextResolver, OAuthContext
from hub_oauth.services.token_store import SOURCE

log = logging.getLogger(__name__)
TOKEN_KEYS = frozenset({ACCESS_TOKEN, REFRESH_TOKEN, ID_TOKEN})


@dataclass(frozen=True)
class RevokeOutcome:
    connection_id: UUID
    provider_revoked: bool
    provider_error: str | None
    deleted_keys: list[str]


async def revoke_each(
    provider: ProviderOAuthClient,
    ctx: OAuthContext,
    grants: list[tuple[str | None, str | None]],
    *,
    failed: str,
) -> str | None:
    """Revoke each (access, refresh) grant at the provider on its own, so one failing stops no
    other (Slack's user token is a grant of its own); the first provider error, logged as
    ``failed``, or None."""
    first_error: str | None = None
    for access_token, refresh_token in grants:
        try:
            await provider.revoke(
                ctx.endpoints, ctx.oauth, ctx.client, access_token=access_token, refresh_token=refresh_token
            )
        except OAuthProviderError as exc:
            log.warning(failed, extra={"connection_id": str(ctx.info.id), "error": exc.error})
            first_error = first_error or exc.error
    return first_error


class Revoker:
    def __init__(
        self,
        *,
        db: Database,
        vault: VaultClient,
        resolver: ContextResolver,
        provider: ProviderOAuthClient,
        locks: RedisLocks,
        lock_wait_s: float = 30.0,
    ) -> None:
        self.db = db
        self.vault = vault
        self.resolver = resolver
        self.provider = provider
        self.locks = locks
        self.lock_wait_s = lock_wait_s

    async def revoke(self, tenant_id: str, connection_id: UUID) -> RevokeOutcome:
        # Not found is still 404: only a connection of the caller's tenant is touched.
        info = await self.resolver.connection(tenant_id, connection_id)
        ctx, provider_error = await self._context(info)
        revoked = False
        try:
            # Under the refresh lock, so a refresh cannot store a new pair while we revoke the old.
            async with self.locks.hold(str(connection_id), wait_s=self.lock_wait_s):
                async with self.db.connection() as conn:
                    await flows.end_open(conn, connection_id)
                if ctx is not None:
                    revoked, provider_error = await self._at_provider(ctx)
                deleted = await self._delete_token_values(tenant_id, connection_id)
                await self._mark_revoked(info)
        except LockTimeout:
            # A refresh held the lock for the whole wait. Deleting without it could let that
            # refresh store a fresh pair after us: a live token behind a "revoked" status. Nothing
            # has been touched and revoking again is safe, so the caller retries (503).
            raise ServiceUnavailable(
                "a refresh of this connection is taking too long; revoke again shortly",
                code="refresh_in_progress",
            ) from None
        return RevokeOutcome(connection_id, revoked, provider_error, deleted)

    async def _mark_revoked(self, info: ConnectionInfo) -> None:
        """The token row says revoked, and the connectors service hears of it (the connection goes
        ``token_invalid``, reason ``revoked``: it needs a reconnect) in the same transaction."""
        async with self.db.transaction() as conn:
            previous = await tokens.mark_revoked(conn, info.id)
            if previous == "active":
                await write_event(
                    conn,
                    ConnectionStatusChanged(
                        tenant_id=info.tenant_id,
                        connection_id=info.id,
                        connector_id=info.connector_id,
                        status="token_invalid",
                        previous_status="active",
                        reason="revoked",
                    ),
                    source=SOURCE,
                    schema=SCHEMA,
                )

    async def _context(self, info: ConnectionInfo) -> tuple[OAuthContext | None, str | None]:
        """The provider to revoke at, or why there is none (the local credentials go anyway)."""
        try:
            return await self.resolver.context(info), None
        except HubError as exc:
            if exc.status_code >= 500:
                # The vault or the issuer's metadata is briefly unavailable: skipping the
                # provider now would leave the grant alive there for good. Nothing is touched.
                raise ServiceUnavailable(
                    "the provider's details cannot be read right now; revoke again shortly",
                    code="provider_context_unavailable",
                ) from None
            log.warning(
                "provider unknown for revocation; deleting local credentials anyway",
                extra={"connection_id": str(info.id), "error": exc.code},
            )
            return None, exc.code

    async def _at_provider(self, ctx: OAuthContext) -> tuple[bool, str | None]:
        """(revoked, provider error). Network errors and timeouts arrive as OAuthProviderError."""
        tenant_id, connection_id = ctx.info.tenant_id, ctx.info.id
        access = await self.vault.read(tenant_id, connection_id, ACCESS_TOKEN)
        refresh = await self.vault.read(tenant_id, connection_id, REFRESH_TOKEN)
        # Slack's user token is a grant of its own: auth.revoke with the bot token leaves it live.
        user = await self.vault.read(tenant_id, connection_id, secondary(ACCESS_TOKEN, "user"))
        if not (access or refresh or user):
            return False, None
        grants = [(access, refresh)] if access or refresh else []
        if user:
            grants.append((user, None))
        first_error = await revoke_each(
            self.provider, ctx, grants, failed="provider revocation failed; deleting local credentials anyway"
        )
        if first_error is not None:
            return False, first_error
        return ctx.oauth.revocation_style != "none" and bool(ctx.endpoints.revocation_url), None

    async def _delete_token_values(self, tenant_id: str, connection_id: UUID) -> list[str]:
        """Only the OAuth token values: other credentials of the connection are not ours to drop."""
        deleted = []
        for key in await self.vault.list_keys(tenant_id, connection_id):
            if key.split(".")[0] in TOKEN_KEYS and await self.vault.delete(tenant_id, connection_id, key):
                deleted.append(key)
        return deleted
