"""Register a tenant's OAuth app: the id in the database, the secret in the vault."""

from __future__ import annotations

from hub_common.clients.vault import VaultClient
from hub_common.credential_keys import CLIENT_SECRET
from hub_common.db import Database
from hub_oauth.domain.apps import app_secret_owner
from hub_oauth.repositories import apps
from hub_oauth.repositories.apps import AppRow as AppRow  # the routes' type
from hub_oauth.services.app_webhook_secrets import AppWebhookSecrets
from hub_oauth.services.oauth_context import ContextResolver


class AppService:
    def __init__(
        self,
        db: Database,
        vault: VaultClient,
        resolver: ContextResolver,
        webhook_secrets: AppWebhookSecrets | None = None,
    ) -> None:
        self.db = db
        self.vault = vault
        self.resolver = resolver
        # The copy that verifies webhooks signed with the client secret follows every change (ADR 0030).
        self.webhook_secrets = webhook_secrets

    async def put(self, app: AppRow, client_secret: str | None) -> bool:
        owner = app_secret_owner(app.connector_id)
        if client_secret is not None:
            await self.vault.store(app.tenant_id, owner, CLIENT_SECRET, client_secret)
        else:
            async with self.db.connection() as conn:
                before = await apps.get(conn, app.tenant_id, app.connector_id)
            if before is not None and before.client_id != app.client_id:
                # A secret belongs to its client: a new client id without one has none (it would
                # otherwise be sent, with the new id, to the provider).
                await self.vault.delete(app.tenant_id, owner, CLIENT_SECRET)
        self.resolver.forget_app(app.tenant_id, app.connector_id)
        async with self.db.connection() as conn:
            created = await apps.upsert(conn, app)
        self.resolver.forget_app(app.tenant_id, app.connector_id)
        if self.webhook_secrets is not None:
            await self.webhook_secrets.sync(app.tenant_id, app.connector_id)
        return created

    async def get(self, tenant_id: str, connector_id: str) -> tuple[AppRow | None, bool]:
        async with self.db.connection() as conn:
            app = await apps.get(conn, tenant_id, connector_id)
        if app is None:
            return None, False
        keys = await self.vault.list_keys(tenant_id, app_secret_owner(connector_id))
        return app, CLIENT_SECRET in keys

    async def delete(self, tenant_id: str, connector_id: str) -> bool:
        async with self.db.connection() as conn:
            deleted = await apps.delete(conn, tenant_id, connector_id)
        self.resolver.forget_app(tenant_id, connector_id)
        await self.vault.delete(tenant_id, app_secret_owner(connector_id), CLIENT_SECRET)
        if self.webhook_secrets is not None:
            await self.webhook_secrets.sync(tenant_id, connector_id)
        return deleted
