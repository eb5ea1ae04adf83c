"""The intake: verify before parsing, fail closed, make the delivery durable, then answer.

Order of a delivery (ADR 0019): registration by URL → the connector's declared scheme →
signature-relevant headers must be single → secrets (current, and the previous one during a
rotation) → ``verify_webhook``; any refusal is a 401 with a machine-readable code and nothing
stored but a rate-limited audit row. Only then is the body read: Slack's challenge is answered,
the delivery id found, and ONE statement writes the dedupe row and the outbox row of
``webhook.received``; the 2xx goes out after that statement committed. A duplicate delivery id
writes nothing and still gets 2xx.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from hub_common.db import Database
from hub_common.db.outbox import OutboxRow
from hub_common.errors import HubError, NotFound, PayloadTooLarge, Unauthorized, Unprocessable
from hub_common.events.models import WebhookReceived
from hub_connector_sdk import WebhookVerificationError, verify_webhook
from hub_connector_sdk.webhook_signatures import VerifiedWebhook, webhook_signature
from hub_webhooks.domain import inbound
from hub_webhooks.domain.registration import Registration, SecretSource, Status
from hub_webhooks.repositories import registrations
from hub_webhooks.repositories.inbound import Verified
from hub_webhooks.services.app_secrets import AppSecretDirectory, NotSignedWithAppSecret
from hub_webhooks.services.counters import Counters
from hub_webhooks.services.group_commit import GroupCommit
from hub_webhooks.services.refusals import RefusalAudit
from hub_webhooks.services.secrets import SecretCache, registration_key

log = logging.getLogger(__name__)
# A one-URL-per-app delivery that names no workspace is tried against this many registrations.
MAX_CANDIDATES = 20


class UnknownRegistration(NotFound):
    code = "registration_not_found"


class EventTooLarge(PayloadTooLarge):
    code = "event_too_large"


class RegistrationCache:
    """Registrations by id for the intake, for ``ttl_s`` (a rotation keeps the old secret valid
    for 24 h, a deletion takes effect within ``ttl_s`` on other replicas)."""

    def __init__(self, db: Database, *, ttl_s: float) -> None:
        self._db = db
        self._ttl = ttl_s
        self._items: dict[UUID, tuple[Registration | None, float]] = {}
        # One lookup in flight per id: when an entry expires under load, the deliveries arriving
        # meanwhile wait for that one query instead of each taking a pool connection for it.
        self._loading: dict[UUID, asyncio.Future[Registration | None]] = {}

    async def get(self, registration_id: UUID) -> Registration | None:
        hit = self._items.get(registration_id)
        if hit is not None and hit[1] > time.monotonic():
            return hit[0]
        pending = self._loading.get(registration_id)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[Registration | None] = asyncio.get_running_loop().create_future()
        self._loading[registration_id] = future
        try:
            async with self._db.connection() as conn:
                found = await registrations.get_for_intake(conn, registration_id)
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: no "never retrieved" warning when nobody waited
            raise
        finally:
            self._loading.pop(registration_id, None)
        if len(self._items) > 50_000:
            self._items.clear()
        self._items[registration_id] = (found, time.monotonic() + self._ttl)
        future.set_result(found)
        return found

    def forget(self, registration_id: UUID) -> None:
        self._items.pop(registration_id, None)


class Intake:
    def __init__(
        self,
        db: Database,
        *,
        schema: str,
        source: str,
        secrets: SecretCache,
        cache: RegistrationCache,
        counters: Counters,
        refusals: RefusalAudit,
        clock: Callable[[], float] = time.time,
        app_secrets: AppSecretDirectory | None = None,
    ) -> None:
        self._clock = clock
        self._app_secrets = app_secrets
        self._specs: dict[tuple[UUID, datetime], inbound.Spec] = {}
        self._db = db
        self._schema = schema
        self._source = source
        self._secrets = secrets
        self._cache = cache
        self._counters = counters
        self._refusals = refusals
        self._group_commit = GroupCommit(db, schema=schema)

    async def receive(
        self,
        connector_id: str,
        registration_id: str | None,
        raw_headers: Iterable[tuple[bytes, bytes]],
        body: bytes,
        remote_addr: str | None,
    ) -> dict[str, Any]:
        raw = list(raw_headers)
        if registration_id is not None:
            registration = await self._by_id(connector_id, registration_id, remote_addr)
            return await self._handle(registration, raw, body, remote_addr)
        return await self._per_app(connector_id, raw, body, remote_addr)

    async def _by_id(self, connector_id: str, registration_id: str, remote_addr: str | None) -> Registration:
        try:
            rid = UUID(registration_id)
        except ValueError:
            rid = None
        found = await self._cache.get(rid) if rid else None
        if found is None or found.connector_id != connector_id:
            await self._refusals.record(
                connector_id=connector_id, code="registration_not_found", remote_addr=remote_addr
            )
            raise UnknownRegistration("no webhook registration at this URL")
        return found

    async def _per_app(
        self, connector_id: str, raw: list[tuple[bytes, bytes]], body: bytes, remote_addr: str | None
    ) -> dict[str, Any]:
        """One URL per app (Slack): the payload's workspace picks the registration. This reads
        one field before verification; the registration's secret then decides, as for any URL."""
        key = inbound.routing_key(inbound.json_body(body))
        async with self._db.connection() as conn:
            if key is not None:
                found = await registrations.by_routing_key(conn, connector_id, key)
                candidates = [found] if found else []
            else:
                candidates = await registrations.by_connector(conn, connector_id, limit=MAX_CANDIDATES)
        if not candidates:
            await self._refusals.record(
                connector_id=connector_id, code="registration_not_found", remote_addr=remote_addr
            )
            raise UnknownRegistration(f"no {connector_id} webhook registration for this workspace")
        last: HubError | None = None
        for registration in candidates:
            try:
                return await self._handle(registration, raw, body, remote_addr, audit=len(candidates) == 1)
            except Unauthorized as exc:
                last = exc
        assert last is not None
        await self._refusals.record(connector_id=connector_id, code=last.code, remote_addr=remote_addr)
        raise last

    def _spec_of(self, registration: Registration) -> inbound.Spec:
        """The registration's scheme, validated once per version of the row (not per delivery)."""
        slot = (registration.id, registration.updated_at)
        spec = self._specs.get(slot)
        if spec is None:
            if len(self._specs) > 50_000:
                self._specs.clear()
            spec = self._specs[slot] = webhook_signature(registration.signature_spec)
        return spec

    async def _refuse(
        self, registration: Registration, code: str, message: str, remote_addr: str | None, audit: bool
    ) -> Unauthorized:
        if audit:  # a per-app delivery tried against several tenants' registrations marks none of them
            self._counters.refused(registration.id, code)
            await self._refusals.record(
                connector_id=registration.connector_id,
                code=code,
                tenant_id=registration.tenant_id,
                registration_id=registration.id,
                remote_addr=remote_addr,
            )
        return Unauthorized(message, code=code)

    async def _handle(
        self,
        registration: Registration,
        raw: list[tuple[bytes, bytes]],
        body: bytes,
        remote_addr: str | None,
        *,
        audit: bool = True,
    ) -> dict[str, Any]:
        if registration.signature_spec is None:
            raise await self._refuse(
                registration, "no_scheme", "the connector declares no webhook signature", remote_addr, audit
            )
        spec = self._spec_of(registration)
        try:
            headers = inbound.single_headers(raw, spec)
        except WebhookVerificationError as exc:
            raise await self._refuse(registration, exc.code, exc.message, remote_addr, audit) from None
        if registration.status is Status.PENDING_SECRET:
            return await self._handshake(registration, body, remote_addr, audit)
        try:
            verified = await self._verify(registration, spec, headers, body)
        except WebhookVerificationError as exc:
            raise await self._refuse(registration, exc.code, exc.message, remote_addr, audit) from None
        # Verified: from here on the body may be read.
        payload = inbound.json_body(body)
        challenge = inbound.slack_challenge(payload)
        if challenge is not None:
            return {"challenge": challenge}
        delivery_id = verified.delivery_id or inbound.delivery_id(spec, headers, payload, body)
        delivery_id = delivery_id[:200]
        name = inbound.event_name(headers, payload)
        encoded = inbound.encode_body(body)
        event = WebhookReceived(
            tenant_id=registration.tenant_id,
            connector_id=registration.connector_id,
            registration_id=registration.id,
            connection_id=registration.connection_id,
            delivery_id=delivery_id,
            event_name=name,
            headers=inbound.kept_headers(headers, spec),
            body=encoded.text,
            body_encoding=encoded.encoding,
            trigger_ids=registration.trigger_ids,
            filter=registration.filter,
        )
        try:
            row = OutboxRow.of(event, self._source)
        except ValueError:
            raise EventTooLarge(
                "the delivery is larger than an event on the bus may be", details={"bytes": len(body)}
            ) from None
        new = await self._group_commit.accept(
            Verified(registration.id, delivery_id, registration.tenant_id, name, len(body), row)
        )
        if new:
            self._counters.received(registration.id)
        return {"status": "accepted" if new else "duplicate", "delivery_id": delivery_id}

    async def _verify(
        self, registration: Registration, spec: inbound.Spec, headers: dict[str, str], body: bytes
    ) -> VerifiedWebhook:
        if registration.secret_source is not SecretSource.OAUTH_APP:
            now = datetime.fromtimestamp(self._clock(), UTC)
            values = await self._secrets.values(
                registration.tenant_id, registration.connection_id, registration.secret_keys(now)
            )
            return verify_webhook(spec, values, headers, body, now=self._clock())
        try:
            values = await self._app_secret_values(registration, fresh=False)
            return verify_webhook(spec, values, headers, body, now=self._clock())
        except WebhookVerificationError as exc:
            if exc.code != "signature_mismatch":
                raise
        # The app's secret may have just changed (a rotation): ask once more where it is.
        values = await self._app_secret_values(registration, fresh=True)
        return verify_webhook(spec, values, headers, body, now=self._clock())

    async def _app_secret_values(self, registration: Registration, *, fresh: bool) -> list[str]:
        """The copies of the connection's OAuth app client secret (ADR 0030). An oauth service
        that cannot answer is a 503 (the provider retries); an app without a secret is no_secret."""
        if self._app_secrets is None:
            return []
        try:
            ref = await self._app_secrets.reference(
                registration.tenant_id, registration.connection_id, fresh=fresh
            )
        except (NotSignedWithAppSecret, NotFound, Unprocessable):
            return []
        return await self._secrets.values(registration.tenant_id, ref.owner_id, ref.keys)

    async def _handshake(
        self, registration: Registration, body: bytes, remote_addr: str | None, audit: bool
    ) -> dict[str, Any]:
        """Notion posts its verification token once, unsigned: it becomes the secret of a
        registration that has none yet. Anything else before a secret exists is refused."""
        token = inbound.notion_verification_token(body) if registration.preset == "notion" else None
        if token is None:
            raise await self._refuse(
                registration,
                "no_secret",
                "no signing secret is configured for this webhook",
                remote_addr,
                audit,
            )
        # A key of its own: a late or forged second handshake can never overwrite the secret in use.
        key = registration_key(registration.id, version=time.time_ns())
        await self._secrets.store(registration.tenant_id, registration.connection_id, key, token)
        async with self._db.connection() as conn:
            taken = await registrations.activate_with_secret(conn, registration.id, key)
        self._cache.forget(registration.id)
        if not taken:
            await self._secrets.delete(registration.tenant_id, registration.connection_id, key)
            raise await self._refuse(
                registration, "secret_exists", "this webhook already has a secret", remote_addr, audit
            )
        return {"status": "verification_token_stored"}
