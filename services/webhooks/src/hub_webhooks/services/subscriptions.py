"""Subscriptions: create (the ``whsec_`` secret is shown once and kept in the vault), read,
change, delete, rotate the secret (docs/adr/0020). Every query is scoped by the caller's tenant;
subscriber URLs pass the SSRF policy (hub_common.ssrf) when they are set, and again when each
push connects."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from hub_common.credential_keys import WEBHOOK_SECRET, secondary
from hub_common.db import Database
from hub_common.errors import NotFound, Unprocessable
from hub_common.pagination import Cursor, Page
from hub_common.ssrf import check_url
from hub_webhooks.domain.subscription import SUBSCRIBABLE_EVENT_TYPES, Subscription
from hub_webhooks.domain.tiers import require_webhooks
from hub_webhooks.repositories import subscriptions as repo
from hub_webhooks.repositories import tenants
from hub_webhooks.services.registrations import Caller
from hub_webhooks.services.secrets import SecretCache, new_secret


class SubscriptionNotFound(NotFound):
    code = "subscription_not_found"

    def __init__(self) -> None:
        super().__init__("no such webhook subscription")


class InvalidSubscription(Unprocessable):
    code = "invalid_subscription"


def subscription_key(subscription_id: UUID, version: int = 0) -> str:
    """The vault key of a subscription's secret (kept under the subscription's id); every rotation
    gets a new name, so a cached value is never a stale version of its key."""
    base = secondary(WEBHOOK_SECRET, f"sub-{subscription_id.hex}")
    return base if version == 0 else f"{base}-v{version}"


def _version_of(key: str) -> int:
    head, _, tail = key.rpartition("-v")
    return int(tail) if head and tail.isdigit() else 0


@dataclass(frozen=True)
class CreatedSubscription:
    subscription: Subscription
    secret: str


class SubscriptionService:
    def __init__(
        self,
        db: Database,
        secrets: SecretCache,
        *,
        outbound_allowlist: Sequence[str],
        rotation_overlap_s: int,
        on_change: Any = None,
    ) -> None:
        self._db = db
        self._secrets = secrets
        self._allowlist = list(outbound_allowlist)
        self._overlap = timedelta(seconds=rotation_overlap_s)
        self._on_change = on_change or (lambda tenant_id: None)

    async def _checked_url(self, url: str) -> str:
        return await check_url(url, allowlist=self._allowlist)

    @staticmethod
    def _check_event_types(event_types: Sequence[str]) -> None:
        unknown = sorted(set(event_types) - set(SUBSCRIBABLE_EVENT_TYPES))
        if unknown:
            raise InvalidSubscription(
                f"unknown event types: {', '.join(unknown)}",
                code="unknown_event_type",
                details={"allowed": list(SUBSCRIBABLE_EVENT_TYPES)},
            )

    async def create(
        self,
        caller: Caller,
        *,
        url: str,
        event_types: Sequence[str],
        trigger_ids: Sequence[str],
        connection_ids: Sequence[UUID],
        rate_limit: int | None,
        max_concurrency: int,
    ) -> CreatedSubscription:
        require_webhooks(caller.tier)
        self._check_event_types(event_types)
        url = await self._checked_url(url)
        subscription_id = uuid.uuid4()
        key = subscription_key(subscription_id)
        secret = new_secret("standard-webhooks")
        # The vault first: a row never names a secret that does not exist.
        await self._secrets.store(caller.tenant_id, subscription_id, key, secret)
        async with self._db.connection() as conn, conn.transaction():
            await tenants.observe(conn, caller.tenant_id, str(caller.tier))
            created = await repo.insert(
                conn,
                id=subscription_id,
                tenant_id=caller.tenant_id,
                user_id=caller.user_id,
                url=url,
                event_types=event_types,
                trigger_ids=trigger_ids,
                connection_ids=connection_ids,
                rate_limit=rate_limit,
                max_concurrency=max_concurrency,
                secret_key=key,
            )
        self._on_change(caller.tenant_id)
        return CreatedSubscription(created, secret)

    async def get(self, caller: Caller, subscription_id: UUID) -> Subscription:
        require_webhooks(caller.tier)
        async with self._db.connection() as conn:
            found = await repo.get(conn, caller.tenant_id, subscription_id)
        if found is None:
            raise SubscriptionNotFound()
        return found

    async def list(
        self, caller: Caller, *, limit: int = 100, cursor: str | None = None
    ) -> Page[Subscription]:
        require_webhooks(caller.tier)
        after = Cursor.decode_optional(cursor)
        async with self._db.connection() as conn:
            found = await repo.list_for_tenant(conn, caller.tenant_id, limit=limit, after=after)
        return Page.of(found, limit)

    async def update(self, caller: Caller, subscription_id: UUID, changes: dict[str, Any]) -> Subscription:
        require_webhooks(caller.tier)
        if "url" in changes:
            changes["url"] = await self._checked_url(changes["url"])
        if "event_types" in changes:
            self._check_event_types(changes["event_types"])
        if changes.get("status") not in (None, "active", "disabled"):
            raise InvalidSubscription("status is active or disabled", code="invalid_status")
        async with self._db.connection() as conn:
            updated = await repo.update(conn, caller.tenant_id, subscription_id, changes)
        if updated is None:
            raise SubscriptionNotFound()
        self._on_change(caller.tenant_id)
        return updated

    async def delete(self, caller: Caller, subscription_id: UUID) -> None:
        require_webhooks(caller.tier)
        async with self._db.connection() as conn, conn.transaction():
            found = await repo.get(conn, caller.tenant_id, subscription_id)
            if found is None or not await repo.mark_deleted(conn, caller.tenant_id, subscription_id):
                raise SubscriptionNotFound()
            await conn.execute(
                "UPDATE integrations_webhook_deliveries SET status = 'cancelled', lease_until = NULL"
                " WHERE tenant_id = $1 AND subscription_id = $2 AND status = 'pending'",
                caller.tenant_id,
                subscription_id,
            )
        self._on_change(caller.tenant_id)
        for key in filter(None, (found.secret_key, found.previous_secret_key)):
            await self._secrets.delete(caller.tenant_id, subscription_id, key)

    async def rotate_secret(self, caller: Caller, subscription_id: UUID) -> CreatedSubscription:
        """A new secret; pushes carry both signatures until the overlap (24 h) ends."""
        current = await self.get(caller, subscription_id)
        key = subscription_key(subscription_id, _version_of(current.secret_key) + 1)
        secret = new_secret("standard-webhooks")
        await self._secrets.store(caller.tenant_id, subscription_id, key, secret)
        async with self._db.connection() as conn:
            rotated = await repo.rotate(
                conn, caller.tenant_id, subscription_id, key, datetime.now(UTC) + self._overlap
            )
        if rotated is None:
            raise SubscriptionNotFound()
        if current.previous_secret_key:  # the one before is past its use now
            await self._secrets.delete(caller.tenant_id, subscription_id, current.previous_secret_key)
        self._on_change(caller.tenant_id)
        return CreatedSubscription(rotated, secret)
