"""Revocation: at the provider (RFC 7009 or its own call), then locally, whatever the provider said.

A provider failure is logged and reported, but never keeps a dead credential around.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from uuid import UUID

import asyncpg

from hub_common.clients.vault import VaultClient
from hub_common.credential_keys import ACCESS_TOKEN, ID_TOKEN, REFRESH_TOKEN
from hub_oauth.adapters.locks import RedisLocks
from hub_oauth.adapters.provider_http import ProviderOAuthClient
from hub_oauth.domain.token_response import OAuthProviderError
from hub_oauth.repositories import tokens
from hub_oauth.services.context import ContextResolver

log = logging.getLogger(__name__)
TOKEN_KEYS = frozenset({ACCESS_TOKEN, REFRESH_TOKEN, ID_TOKEN})


@dataclass(frozen=True)
class RevokeOutcome:
    connection_id: UUID
    provider_revoked: bool
    provider_error: str | None
    deleted_keys: list[str]


class Revoker:
    def __init__(
        self,
        *,
        pool: asyncpg.Pool,
        vault: VaultClient,
        resolver: ContextResolver,
        provider: ProviderOAuthClient,
        locks: RedisLocks,
    ) -> None:
        self.pool = pool
        self.vault = vault
        self.resolver = resolver
        self.provider = provider
        self.locks = locks

    async def revoke(self, tenant_id: str, connection_id: UUID) -> RevokeOutcome:
        ctx = await self.resolver.resolve(tenant_id, connection_id)
        provider_error: str | None = None
        revoked = False
        # Under the refresh lock, so a refresh cannot store a new pair while we revoke the old.
        async with self.locks.hold(str(connection_id)):
            access = await self.vault.read(tenant_id, connection_id, ACCESS_TOKEN)
            refresh = await self.vault.read(tenant_id, connection_id, REFRESH_TOKEN)
            if access or refresh:
                try:
                    await self.provider.revoke(
                        ctx.endpoints, ctx.oauth, ctx.client, access_token=access, refresh_token=refresh
                    )
                    revoked = ctx.oauth.revocation_style != "none" and bool(ctx.endpoints.revocation_url)
                except OAuthProviderError as exc:
                    provider_error = exc.error
                    log.warning(
                        "provider revocation failed; deleting local credentials anyway",
                        extra={"connection_id": str(connection_id), "error": exc.error},
                    )
            deleted = await self._delete_token_values(tenant_id, connection_id)
            await tokens.set_status(self.pool, connection_id, "revoked")
        return RevokeOutcome(connection_id, revoked, provider_error, deleted)

    async def _delete_token_values(self, tenant_id: str, connection_id: UUID) -> list[str]:
        """Only the OAuth token values: other credentials of the connection are not ours to drop."""
        deleted = []
        for key in await self.vault.list_keys(tenant_id, connection_id):
            if key.split(".")[0] in TOKEN_KEYS and await self.vault.delete(tenant_id, connection_id, key):
                deleted.append(key)
        return deleted
