"""Keep the vault's webhook-verifying copy of each app's client secret in step with the app
(docs/adr/0030), and answer the webhooks service where it is — never what it is.

The copy is made the first time the webhooks service asks for a connection (a registration),
follows every change of the tenant's app at once (``sync`` after PUT/DELETE of the app), and is
checked against the app on every ask, so a changed deployment app (``HUB_OAUTH_DEFAULT_APPS``,
new on restart) is followed too. A changed secret is written under a new key; the previous copy
keeps verifying for ``overlap_s`` (deliveries Jira signed before the rotation, and its retries).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from uuid import UUID

from hub_common.clients.vault import VaultClient
from hub_common.db import Database
from hub_common.errors import Conflict, HubError, ServiceUnavailable
from hub_oauth.domain import endpoints as ep
from hub_oauth.domain.app_webhook_secret import (
    AppKind,
    Mirror,
    fingerprint,
    mirror_key,
    signed_with_client_secret,
)
from hub_oauth.domain.apps import app_secret_owner
from hub_oauth.repositories import app_webhook_secrets as mirrors
from hub_oauth.services.oauth_context import ContextResolver

log = logging.getLogger(__name__)


class NotSignedWithClientSecret(Conflict):
    code = "webhook_secret_not_from_app"


class ClientSecretMissing(Conflict):
    code = "client_secret_missing"


@dataclass(frozen=True, slots=True)
class Reference:
    """Where the verifying secret of a connection's webhooks is: the vault owner id and keys."""

    connection_id: UUID
    connector_id: str
    owner_id: UUID
    keys: list[str]
    app: AppKind
    client_id: str
    rotated_at: datetime
    previous_valid_until: datetime | None


class AppWebhookSecrets:
    def __init__(
        self, db: Database, vault: VaultClient, resolver: ContextResolver, *, overlap_s: int
    ) -> None:
        self.db = db
        self.vault = vault
        self.resolver = resolver
        self.overlap = timedelta(seconds=overlap_s)

    async def reference(self, tenant_id: str, connection_id: UUID) -> Reference:
        """The copy for this connection's app, made or brought up to date first. Refused when the
        connector's webhooks are not signed with the app's client secret, or the app has none."""
        info = await self.resolver.connection(tenant_id, connection_id)
        if not signed_with_client_secret(info.manifest):
            raise NotSignedWithClientSecret(
                f"{info.connector_id} webhooks are not signed with its OAuth app's client secret"
            )
        assert info.manifest is not None and info.manifest.auth.oauth is not None
        _, overridden = ep.from_config(info.manifest.auth.oauth, info.config)
        kind, client = await self.resolver.app_of(tenant_id, info.connector_id, overridden=bool(overridden))
        if not client.client_secret:
            raise ClientSecretMissing(
                f"the {kind} OAuth app of {info.connector_id} has no client secret: "
                f"PUT /v1/oauth/apps/{info.connector_id} with client_secret"
            )
        mirror = await self._ensure(
            tenant_id, info.connector_id, kind, client.client_id, client.client_secret
        )
        return Reference(
            connection_id=connection_id,
            connector_id=info.connector_id,
            owner_id=app_secret_owner(info.connector_id),
            keys=mirror.keys(datetime.now(UTC)),
            app=mirror.app_kind,
            client_id=mirror.client_id,
            rotated_at=mirror.rotated_at,
            previous_valid_until=mirror.previous_valid_until
            if mirror.previous_valid(datetime.now(UTC))
            else None,
        )

    async def sync(self, tenant_id: str, connector_id: str) -> None:
        """After the tenant's app changed: an existing copy follows it (a new secret under a new
        key, the old one for the overlap), or goes when no app with a secret serves the tenant."""
        async with self.db.connection() as conn:
            existing = await mirrors.get(conn, tenant_id, connector_id)
        if existing is None:
            return  # nobody verifies with it yet; the first ask makes the copy
        try:
            kind, client = await self.resolver.app_of(tenant_id, connector_id)
        except HubError:  # no app any more (oauth_app_missing)
            kind, client = "tenant", None
        if client is None or not client.client_secret:
            await self.remove(tenant_id, connector_id)
            return
        await self._ensure(tenant_id, connector_id, kind, client.client_id, client.client_secret)

    async def remove(self, tenant_id: str, connector_id: str) -> None:
        async with self.db.connection() as conn:
            gone = await mirrors.delete(conn, tenant_id, connector_id)
        if gone is not None:
            for key in (gone.current_key, gone.previous_key):
                if key:
                    await self._delete_key(tenant_id, connector_id, key)

    async def _ensure(
        self, tenant_id: str, connector_id: str, kind: AppKind, client_id: str, secret: str
    ) -> Mirror:
        owner = app_secret_owner(connector_id)
        digest = fingerprint(kind, client_id, secret)
        for _ in range(3):
            async with self.db.connection() as conn:
                found = await mirrors.get(conn, tenant_id, connector_id)
            now = datetime.now(UTC)
            if found is not None and found.fingerprint == digest:
                return await self._expire_previous(found, now)
            key = mirror_key(time.time_ns())
            await self.vault.store(tenant_id, owner, key, secret)
            async with self.db.connection() as conn:
                if found is None:
                    made = await mirrors.insert(conn, tenant_id, connector_id, kind, client_id, digest, key)
                else:
                    made = await mirrors.rotate(
                        conn,
                        tenant_id,
                        connector_id,
                        expected_key=found.current_key,
                        app_kind=kind,
                        client_id=client_id,
                        fingerprint=digest,
                        key=key,
                        previous_valid_until=now + self.overlap,
                    )
            if made is not None:
                if found is not None and found.previous_key:
                    # One previous copy at a time (as a registration's secret): a second change
                    # within the overlap ends the first one's.
                    await self._delete_key(tenant_id, connector_id, found.previous_key)
                return made
            await self._delete_key(tenant_id, connector_id, key)  # another replica wrote first
        raise ServiceUnavailable(
            "the OAuth app's webhook secret is being changed concurrently; try again",
            code="app_secret_conflict",
        )

    async def _expire_previous(self, mirror: Mirror, now: datetime) -> Mirror:
        if mirror.previous_key is None or mirror.previous_valid(now):
            return mirror
        async with self.db.connection() as conn:
            cleared = await mirrors.clear_previous(
                conn, mirror.tenant_id, mirror.connector_id, mirror.previous_key
            )
        await self._delete_key(mirror.tenant_id, mirror.connector_id, mirror.previous_key)
        return cleared or mirror

    async def _delete_key(self, tenant_id: str, connector_id: str, key: str) -> None:
        try:
            await self.vault.delete(tenant_id, app_secret_owner(connector_id), key)
        except Exception:
            # Unreferenced, so never used to verify again; an orphaned copy is logged, not fatal.
            log.warning("a replaced webhook copy of an OAuth app secret stayed in the vault", exc_info=True)
