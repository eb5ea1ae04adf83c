"""Registrations: create (auto at the provider through the connector, or manual with steps),
read with counters, store a provider-issued secret (with a 24 h overlap), delete (unregistering
at the provider). Every operation is scoped to the caller's tenant; another tenant's id is 404."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

from hub_common.db import Database
from hub_common.errors import Conflict, NotFound
from hub_common.pagination import Cursor, Page
from hub_common.web.auth import Tier
from hub_webhooks.domain.registration import (
    MANUAL_ONLY_CONNECTORS,
    MANUAL_ONLY_PRESETS,
    PROVIDER_ISSUED_PRESETS,
    Mode,
    Registration,
    RegistrationNotFound,
    RegistrationRefused,
    SecretSource,
    Status,
)
from hub_webhooks.domain.tiers import require_webhooks
from hub_webhooks.repositories import registrations, tenants
from hub_webhooks.services.app_secrets import AppSecretDirectory, AppSecretRef, NotSignedWithAppSecret
from hub_webhooks.services.connectors_client import ConnectionInfo, ConnectorsClient
from hub_webhooks.services.intake import RegistrationCache
from hub_webhooks.services.secrets import SecretCache, new_secret, registration_key

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Caller:
    tenant_id: str
    user_id: str
    tier: Tier


@dataclass(frozen=True, slots=True)
class Created:
    registration: Registration
    secret: str | None  # shown once (manual mode with a hub-generated secret)
    steps: list[str] | None
    app_secret: AppSecretRef | None = None  # verified with the OAuth app's client secret (ADR 0030)


class ConnectionNotFound(NotFound):
    code = "connection_not_found"


class SecretFromOAuthApp(Conflict):
    code = "secret_from_oauth_app"


def manual_steps(
    connector_id: str, url: str, has_secret: bool, preset: str | None, *, app_secret: bool = False
) -> list[str]:
    if preset == "slack-v0" and not has_secret:
        return slack_steps(url)
    steps = [f"Open the webhook settings of your {connector_id} app or project."]
    steps.append(f"Set the webhook (request) URL to: {url}")
    if app_secret:
        steps.append(
            "Nothing to paste: deliveries are signed with your OAuth app's client secret, which the hub "
            "already holds (see secret_source and oauth_app in this answer)."
        )
    elif has_secret:
        steps.append(
            "Paste the secret shown in this answer as the webhook's signing secret; it is shown once."
        )
    elif preset == "notion":
        steps.append(
            "Notion posts a verification token to that URL once; the hub keeps it as the signing secret. "
            "Copy the token Notion shows into its 'Verify' dialog."
        )
    else:
        steps.append(
            "Copy the signing secret the provider shows and store it with "
            "PUT /v1/webhooks/registrations/{id}/secret; deliveries are refused until then."
        )
    steps.append("Choose the events of the triggers you registered, save, and send a test delivery.")
    return steps


def slack_steps(url: str) -> list[str]:
    """Slack checks the Request URL the moment it is entered (a signed ``url_verification``
    challenge the intake answers), so the signing secret must be stored before the URL is set."""
    return [
        "In your Slack app's settings (api.slack.com/apps), open Basic Information → App Credentials "
        "and copy the Signing Secret.",
        "Store it with PUT /v1/webhooks/registrations/{id}/secret; until then every delivery is "
        "refused, Slack's URL check included.",
        f"Open Event Subscriptions, turn Enable Events on and set the Request URL to: {url} — Slack "
        "sends a url_verification challenge, the hub answers it and Slack shows Verified.",
        "Under Subscribe to bot events add the events of your triggers (message.channels for "
        "message_posted, app_mention, reaction_added; see docs/connectors/slack.md), save, and "
        "reinstall the app if Slack asks.",
    ]


class RegistrationService:
    def __init__(
        self,
        db: Database,
        connectors: ConnectorsClient,
        secrets: SecretCache,
        cache: RegistrationCache,
        *,
        public_url: str,
        rotation_overlap_s: int,
        app_secrets: AppSecretDirectory | None = None,
    ) -> None:
        self._app_secrets = app_secrets
        self._db = db
        self._connectors = connectors
        self._secrets = secrets
        self._cache = cache
        self._public_url = public_url.rstrip("/")
        self._overlap = timedelta(seconds=rotation_overlap_s)

    def url_of(self, registration: Registration) -> str:
        return f"{self._public_url}/webhooks/{registration.connector_id}/{registration.id}"

    async def _connection(self, caller: Caller, connection_id: UUID) -> ConnectionInfo:
        info = await self._connectors.connection(connection_id)
        if info is None or info.tenant_id != caller.tenant_id:
            raise ConnectionNotFound("no such connection")
        return info

    async def create(
        self,
        caller: Caller,
        connection_id: UUID,
        trigger_ids: list[str],
        filter: dict[str, Any] | None,
        mode: Mode,
    ) -> Created:
        require_webhooks(caller.tier)
        async with self._db.connection() as conn:
            await tenants.observe(conn, caller.tenant_id, str(caller.tier))
        info = await self._connection(caller, connection_id)
        spec = info.signature_spec
        if spec is None:
            raise RegistrationRefused(
                f"{info.connector_id} declares no webhook signature scheme", code="webhooks_unsupported"
            )
        unknown = sorted(set(trigger_ids) - info.webhook_triggers)
        if unknown:
            raise RegistrationRefused(
                f"not webhook triggers of {info.connector_id}: {', '.join(unknown)}",
                code="unknown_trigger",
                details={"unknown": unknown, "known": sorted(info.webhook_triggers)},
            )
        preset = spec.get("preset")
        if mode is Mode.AUTO and (
            preset in MANUAL_ONLY_PRESETS or info.connector_id in MANUAL_ONLY_CONNECTORS
        ):
            raise RegistrationRefused(
                f"{info.connector_id} webhooks are configured in the provider's settings: use mode manual",
                code="manual_only",
            )
        if mode is Mode.AUTO and info.status != "active":
            raise RegistrationRefused(
                f"the connection is {info.status}, not active", code="connection_not_active"
            )
        app_secret = await self._app_secret(caller.tenant_id, connection_id, spec)
        registration_id = uuid4()
        waits_for_provider = mode is Mode.MANUAL and preset in PROVIDER_ISSUED_PRESETS and app_secret is None
        secret = None if waits_for_provider or app_secret else new_secret(preset)
        key = registration_key(registration_id) if secret else None
        if secret and key:
            await self._secrets.store(caller.tenant_id, connection_id, key, secret)
        # The row exists (with its secret) before the provider hears of the URL: GitHub pings at once.
        async with self._db.connection() as conn:
            registration = await registrations.insert(
                conn,
                id=registration_id,
                tenant_id=caller.tenant_id,
                user_id=caller.user_id,
                connection_id=connection_id,
                connector_id=info.connector_id,
                mode=mode,
                status=Status.PENDING_SECRET if waits_for_provider else Status.ACTIVE,
                trigger_ids=trigger_ids,
                filter=filter,
                routing_key=info.external_account_id if preset in MANUAL_ONLY_PRESETS else None,
                signature_spec=spec,
                secret_key=key,
                secret_source=SecretSource.OAUTH_APP if app_secret else SecretSource.REGISTRATION,
            )
        if mode is Mode.MANUAL:
            steps = manual_steps(
                info.connector_id,
                self.url_of(registration),
                secret is not None,
                preset,
                app_secret=app_secret is not None,
            )
            return Created(registration, secret, steps, app_secret)
        try:
            hook = await self._connectors.register(
                caller.tenant_id,
                connection_id,
                trigger_ids,
                self.url_of(registration),
                # The provider signs with the app's secret and ignores this one (kept nowhere).
                secret or new_secret(preset),
            )
        except Exception:
            async with self._db.connection() as conn:
                await registrations.mark_deleted(conn, caller.tenant_id, registration_id)
            if key:
                await self._secrets.delete(caller.tenant_id, connection_id, key)
            raise
        async with self._db.connection() as conn:
            registration = await registrations.record_provider(
                conn,
                registration_id,
                external_id=hook.external_id,
                events=hook.events,
                expires_at=hook.expires_at,
                metadata=hook.metadata,
                secret_key=hook.provider_secret_key,
            )
        self._cache.forget(registration_id)
        if key and hook.provider_secret_key and hook.provider_secret_key != key:
            # The provider signs with its own secret (Linear): ours was never used; drop it.
            try:
                await self._secrets.delete(caller.tenant_id, connection_id, key)
            except Exception:
                log.warning("an unused generated webhook secret stayed in the vault", exc_info=True)
        return Created(registration, None, None, app_secret)

    async def _app_secret(
        self, tenant_id: str, connection_id: UUID, spec: dict[str, Any]
    ) -> AppSecretRef | None:
        """For a JWT scheme (signed with the app's client secret): the oauth service's reference
        to its copy, made now; None when the connection's webhooks are not signed that way.
        An app without a client secret refuses the registration with oauth's code."""
        if self._app_secrets is None or spec.get("kind") != "jwt":
            return None
        try:
            return await self._app_secrets.reference(tenant_id, connection_id)
        except NotSignedWithAppSecret:
            return None

    async def app_secret_of(self, registration: Registration) -> AppSecretRef | None:
        """Which app secret verifies this registration (None for its own secret, or when the
        oauth service cannot say right now): shown on the registration, never the value. Asked
        afresh (a read is no hot path), which also updates what the intake holds."""
        if registration.secret_source is not SecretSource.OAUTH_APP or self._app_secrets is None:
            return None
        try:
            return await self._app_secrets.reference(
                registration.tenant_id, registration.connection_id, force=True
            )
        except Exception:
            log.warning("the OAuth app secret of a registration could not be looked up", exc_info=True)
            return None

    async def get(self, caller: Caller, registration_id: UUID) -> Registration:
        async with self._db.connection() as conn:
            found = await registrations.get(conn, caller.tenant_id, registration_id)
        if found is None:
            raise RegistrationNotFound()
        return found

    async def list(
        self, caller: Caller, connection_id: UUID | None, *, limit: int = 100, cursor: str | None = None
    ) -> Page[Registration]:
        after = Cursor.decode_optional(cursor)
        async with self._db.connection() as conn:
            found = await registrations.list_for(
                conn, caller.tenant_id, connection_id, limit=limit, after=after
            )
        return Page.of(found, limit)

    async def put_secret(self, caller: Caller, registration_id: UUID, secret: str) -> Registration:
        """Store a provider-issued secret; the previous one keeps verifying for the overlap."""
        current = await self.get(caller, registration_id)
        if current.secret_source is SecretSource.OAUTH_APP:
            raise SecretFromOAuthApp(
                f"this registration is verified with the {current.connector_id} OAuth app's client secret: "
                f"change it with PUT /v1/oauth/apps/{current.connector_id}"
            )
        key = registration_key(registration_id, version=int(datetime.now(UTC).timestamp() * 1000))
        await self._secrets.store(caller.tenant_id, current.connection_id, key, secret)
        async with self._db.connection() as conn:
            updated = await registrations.rotate_secret(
                conn, caller.tenant_id, registration_id, key, datetime.now(UTC) + self._overlap
            )
        self._cache.forget(registration_id)
        if updated is None:
            await self._secrets.delete(caller.tenant_id, current.connection_id, key)
            raise RegistrationNotFound()
        return updated

    async def delete(self, caller: Caller, registration_id: UUID) -> None:
        current = await self.get(caller, registration_id)
        if current.mode is Mode.AUTO and current.external_id:
            await self._connectors.unregister(
                caller.tenant_id, current.connection_id, current.external_id, current.provider_metadata
            )
        async with self._db.connection() as conn:
            gone = await registrations.mark_deleted(conn, caller.tenant_id, registration_id)
        self._cache.forget(registration_id)
        if gone is None:
            raise RegistrationNotFound()
        for key in {gone.secret_key, gone.previous_secret_key} - {None}:
            assert key is not None
            try:
                await self._secrets.delete(caller.tenant_id, gone.connection_id, key)
            except Exception:
                log.warning("a deleted registration's secret stayed in the vault", exc_info=True)

    async def renew(self, registration: Registration) -> Registration:
        """Re-register an expiring provider hook (Jira's dynamic webhooks live 30 days): same
        registration, URL and secret; the new hook replaces the old one, which is then removed."""
        if registration.secret_source is SecretSource.OAUTH_APP:
            values = [new_secret(registration.preset)]  # the provider signs with the app's secret
        else:
            keys = registration.secret_keys(datetime.now(UTC))
            values = await self._secrets.values(registration.tenant_id, registration.connection_id, keys[:1])
        if not values:
            raise RegistrationRefused("the registration has no secret to renew with", code="no_secret")
        hook = await self._connectors.register(
            registration.tenant_id,
            registration.connection_id,
            registration.trigger_ids,
            self.url_of(registration),
            values[0],
        )
        async with self._db.connection() as conn:
            renewed = await registrations.record_provider(
                conn,
                registration.id,
                external_id=hook.external_id,
                events=hook.events,
                expires_at=hook.expires_at,
                metadata=hook.metadata,
                secret_key=hook.provider_secret_key,
            )
        self._cache.forget(registration.id)
        if registration.external_id and registration.external_id != hook.external_id:
            try:
                await self._connectors.unregister(
                    registration.tenant_id,
                    registration.connection_id,
                    registration.external_id,
                    registration.provider_metadata,
                )
            except Exception:
                log.warning("the replaced hook could not be removed at the provider", exc_info=True)
        return renewed

    async def renew_expiring(self, before_s: float) -> int:
        """Renew every ``auto`` registration expiring within ``before_s``; returns how many."""
        async with self._db.connection() as conn:
            due = await registrations.expiring(conn, datetime.now(UTC) + timedelta(seconds=before_s))
        renewed = 0
        for registration in due:
            try:
                await self.renew(registration)
                renewed += 1
            except Exception as exc:
                # The registration keeps its current hook until it expires; the reason is shown
                # on it (last_error) and the next pass tries again.
                log.warning("a webhook registration could not be renewed", exc_info=True)
                code = getattr(exc, "code", type(exc).__name__)
                async with self._db.connection() as conn:
                    await registrations.record_error(conn, registration.id, f"renewal_failed: {code}")
        return renewed

    async def run_renewals(self, interval_s: float, before_s: float) -> None:
        while True:
            await self.renew_expiring(before_s)
            await asyncio.sleep(interval_s)
