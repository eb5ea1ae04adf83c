"""Storing token sets: values in the vault, metadata + events in one database transaction.

Write order matters for crash safety: the refresh token is written before the access token, so
a crash between the two leaves a *valid* refresh token (the next refresh repairs the access
token) rather than a burned one.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from hub_common.clients.vault import VaultClient
from hub_common.credential_keys import ACCESS_TOKEN, REFRESH_TOKEN, secondary
from hub_common.db import Database
from hub_common.db.outbox import OutboxRow, channel_for, write_event
from hub_common.errors import HubError, NotFound, ServiceUnavailable
from hub_common.events import ConnectionStatusChanged, IntegrationConnected
from hub_oauth.adapters.locks import LockTimeout, RedisLocks
from hub_oauth.config import SCHEMA
from hub_oauth.domain.errors import FlowRevoked
from hub_oauth.domain.token_response import TokenSet
from hub_oauth.repositories import flows, tokens
from hub_oauth.repositories.tokens import TokenRow
from hub_oauth.services.oauth_context import OAuthContext

log = logging.getLogger(__name__)
SOURCE = "/integration-hub/oauth"


def expiry(token_set: TokenSet, now: datetime | None = None) -> datetime | None:
    if token_set.expires_in is None:
        return None
    return (now or datetime.now(UTC)) + timedelta(seconds=max(token_set.expires_in, 0))


async def write_values(
    vault: VaultClient,
    tenant_id: str,
    connection_id: UUID,
    token_set: TokenSet,
    *,
    expected_refresh_version: int | None = None,
    ordered: bool = True,
) -> dict[str, int]:
    """``ordered``: the refresh token strictly before the access token (rotation safety);
    unordered, the whole set is one vault call (all stored or none). Returns each key's row
    version as written."""
    values = token_values(token_set)
    values.pop(REFRESH_TOKEN, None)
    written: dict[str, int] = {}
    if token_set.refresh_token:
        if ordered or expected_refresh_version is not None:
            stored = await vault.store(
                tenant_id,
                connection_id,
                REFRESH_TOKEN,
                token_set.refresh_token,
                expected_version=expected_refresh_version,
            )
            written[stored.key] = stored.version
        else:
            values[REFRESH_TOKEN] = token_set.refresh_token
    for stored in await vault.store_many(tenant_id, connection_id, values):
        written[stored.key] = stored.version
    return written


def token_values(token_set: TokenSet) -> dict[str, str]:
    """Every vault key a token set writes, with its value."""
    values = {ACCESS_TOKEN: token_set.access_token}
    for name, value in token_set.extra_secrets.items():
        base, _, kind = name.partition("_")  # user_access_token -> access_token.user
        values[secondary(ACCESS_TOKEN if kind == "access_token" else REFRESH_TOKEN, base)] = value
    if token_set.refresh_token:
        values[REFRESH_TOKEN] = token_set.refresh_token
    return values


def previous_token_keys(row: TokenRow) -> set[str]:
    """The vault keys an earlier grant of this connection wrote, read from its token row (no
    vault round trip): the refresh token if it had one, Slack's user pair if it granted user
    scopes (``token_response`` records them as ``user_scopes``)."""
    keys = {ACCESS_TOKEN}
    if row.has_refresh_token:
        keys.add(REFRESH_TOKEN)
    if row.metadata.get("user_scopes"):
        keys |= {secondary(ACCESS_TOKEN, "user"), secondary(REFRESH_TOKEN, "user")}
    return keys


class TokenStore:
    def __init__(self, db: Database, vault: VaultClient, locks: RedisLocks) -> None:
        self.db = db
        self.vault = vault
        self.locks = locks

    async def store_initial(
        self,
        ctx: OAuthContext,
        token_set: TokenSet,
        *,
        external_account_id: str,
        metadata: dict[str, Any],
        grant_type: str = "authorization_code",
        flow_id: UUID | None = None,
    ) -> None:
        """Values to the vault, then metadata + event (+ the flow's completion) in one transaction.

        Under the connection's refresh lock: a refresh of the previous grant still in flight
        would otherwise write that grant's tokens over this one's once its provider answers, and
        two connects at once would each clear what the other wrote. What the previous grant
        wrote and this one does not replace is cleared, known from its token row (read under
        the lock; no vault listing), or, with no row, a refresh token a crashed connect left."""
        try:
            async with self.locks.hold(str(ctx.info.id)):
                await self._store_initial(ctx, token_set, external_account_id, metadata, grant_type, flow_id)
        except LockTimeout:
            raise ServiceUnavailable(
                "a refresh of this connection's previous grant is taking too long; connect again",
                code="refresh_in_progress",
            ) from None

    async def _store_initial(
        self,
        ctx: OAuthContext,
        token_set: TokenSet,
        external_account_id: str,
        metadata: dict[str, Any],
        grant_type: str,
        flow_id: UUID | None,
    ) -> None:
        info = ctx.info
        # Read under the lock, before anything is written: what the previous grant wrote, and
        # whether a revoke ended this flow while it was at the provider (then nothing is stored).
        previous, flow_open = await asyncio.gather(self._token_row(info.id), self._flow_open(flow_id))
        if not flow_open:
            raise FlowRevoked()
        # A new grant burns no older refresh token, so its values go in one call (all or none).
        versions = await write_values(self.vault, info.tenant_id, info.id, token_set, ordered=False)
        row = TokenRow(
            connection_id=info.id,
            tenant_id=info.tenant_id,
            connector_id=info.connector_id,
            grant_type=grant_type,
            token_type=token_set.token_type,
            expires_at=expiry(token_set),
            has_refresh_token=token_set.refresh_token is not None,
            granted_scopes=token_set.scopes,
            external_account_id=external_account_id,
            status="active",
            generation=0,
            last_refreshed_at=None,
            metadata=metadata,
        )
        event = OutboxRow.of(
            IntegrationConnected(
                tenant_id=info.tenant_id,
                connection_id=info.id,
                connector_id=info.connector_id,
                external_account_id=external_account_id,
                user_id=info.user_id or None,
                auth_method="oauth2",
            ),
            SOURCE,
        )
        async with self.db.connection() as conn:  # one statement: atomic on its own
            connected = await tokens.connect(
                conn, row, flow_id=flow_id, event=event, notify_channel=channel_for(SCHEMA)
            )
        written = set(token_values(token_set))
        if connected is None:  # a revoke ended the flow (only if the lock lapsed meanwhile)
            # Only the versions written here: a connect that took the lapsed lock since then
            # may have written newer values of these keys, and those stay.
            await self._forget(
                info.tenant_id, info.id, written, why="revoked during the connect", versions=versions
            )
            raise FlowRevoked()
        # Connected: what the previous grant wrote and this one does not replace goes now (its
        # refresh token, a Slack user token). Best effort: the connect stands either way.
        before = previous_token_keys(previous) if previous is not None else {REFRESH_TOKEN}
        await self._forget(info.tenant_id, info.id, before - written, why="stale after a reconnect")

    # The two reads before a connect run side by side, each on a connection of its own.
    async def _token_row(self, connection_id: UUID) -> TokenRow | None:
        async with self.db.connection() as conn:
            return await tokens.get_unscoped(conn, connection_id)

    async def _flow_open(self, flow_id: UUID | None) -> bool:
        """A connect without a flow (client credentials) has nothing a revoke could end."""
        if flow_id is None:
            return True
        async with self.db.connection() as conn:
            return await flows.is_exchanging(conn, flow_id)

    async def _forget(
        self,
        tenant_id: str,
        connection_id: UUID,
        keys: set[str],
        *,
        why: str,
        versions: Mapping[str, int] | None = None,
    ) -> None:
        """Best effort. With ``versions``, only the keys in it go, each only while still at its
        version there."""
        if versions is not None:
            keys = keys & versions.keys()
        ordered = sorted(keys)
        outcomes = await asyncio.gather(
            *(
                self.vault.delete(
                    tenant_id,
                    connection_id,
                    key,
                    expected_version=versions[key] if versions is not None else None,
                )
                for key in ordered
            ),
            return_exceptions=True,
        )
        newer = [key for key, o in zip(ordered, outcomes, strict=True) if _is_version_conflict(o)]
        failed = [
            key
            for key, o in zip(ordered, outcomes, strict=True)
            if isinstance(o, BaseException) and key not in newer
        ]
        if newer:
            log.info(
                "token values written since then kept",
                extra={"connection_id": str(connection_id), "keys": newer, "reason": why},
            )
        if failed:
            log.warning(
                "token values not deleted",
                extra={"connection_id": str(connection_id), "keys": failed, "reason": why},
            )

    async def metadata(self, tenant_id: str, connection_id: UUID) -> TokenRow:
        """The tenant's token metadata (expiry, scopes, status), never the token."""
        async with self.db.connection() as conn:
            row = await tokens.get(conn, tenant_id, connection_id)
        if row is None:
            raise NotFound("no OAuth token for this connection", code="token_not_found")
        return row

    async def mark_invalid(self, tenant_id: str, connection_id: UUID, connector_id: str, reason: str) -> None:
        async with self.db.transaction() as conn:
            changed = await tokens.set_status(conn, connection_id, "invalid", reason)
            if changed:
                await write_event(
                    conn,
                    ConnectionStatusChanged(
                        tenant_id=tenant_id,
                        connection_id=connection_id,
                        connector_id=connector_id,
                        status="token_invalid",
                        previous_status="active",
                        reason=reason,
                    ),
                    source=SOURCE,
                    schema=SCHEMA,
                )
        if changed:
            log.warning(
                "connection credentials invalid",
                extra={"connection_id": str(connection_id), "reason": reason},
            )


def _is_version_conflict(outcome: object) -> bool:
    return isinstance(outcome, HubError) and outcome.code == "version_conflict"
