"""What the intake learns from other services' events.

- ``credential.changed`` (deleted, revoked, deleted_all): cached signing secrets of that
  connection are dropped at once instead of living out their cache time;
- ``credential.changed`` of an OAuth app's webhook copy (``client_secret.webhooks-v*``, ADR
  0030): the tenant's references to those copies are asked again, so a rotation verifies at once;
- ``integration.disconnected``: the connection's registrations end (status ``deleted``); their
  URLs answer 404 from then on. The provider's hook cannot be removed any more (the credentials
  are gone) — deliveries to it are refused and audited.
"""

from __future__ import annotations

from aiokafka import ConsumerRecord

from hub_common.credential_keys import CLIENT_SECRET_WEBHOOKS
from hub_common.db import Database
from hub_common.events.envelope import CloudEvent, EnvelopeError
from hub_common.events.models import CredentialChanged, IntegrationDisconnected, model_for_type
from hub_common.kafka import NonRetryableError
from hub_webhooks.services.app_secrets import AppSecretDirectory
from hub_webhooks.services.intake import RegistrationCache
from hub_webhooks.services.secrets import SecretCache

TOPICS = (CredentialChanged.topic, IntegrationDisconnected.topic)
_GONE = frozenset({"deleted", "revoked", "deleted_all"})


class IntakeEvents:
    def __init__(
        self,
        db: Database,
        secrets: SecretCache,
        cache: RegistrationCache,
        app_secrets: AppSecretDirectory | None = None,
    ) -> None:
        self._app_secrets = app_secrets
        self._db = db
        self._secrets = secrets
        self._cache = cache

    async def __call__(self, event: CloudEvent, record: ConsumerRecord[bytes, bytes]) -> None:
        model = model_for_type(event.type)
        if model not in (CredentialChanged, IntegrationDisconnected):
            return
        try:
            parsed = event.parse(model)
        except (EnvelopeError, ValueError) as exc:
            raise NonRetryableError(f"{event.type} {event.id} does not match its model") from exc
        if isinstance(parsed, CredentialChanged):
            key_changed = parsed.credential_key or ""
            if self._app_secrets is not None and key_changed.startswith(CLIENT_SECRET_WEBHOOKS):
                self._app_secrets.forget_tenant(parsed.tenant_id)
            if parsed.change in _GONE:
                key = None if parsed.change == "deleted_all" else parsed.credential_key
                self._secrets.forget(parsed.tenant_id, str(parsed.connection_id), key)
            return
        assert isinstance(parsed, IntegrationDisconnected)
        self._secrets.forget(parsed.tenant_id, str(parsed.connection_id))
        async with self._db.connection() as conn:
            ended = await conn.fetch(
                "UPDATE webhook_registrations SET status = 'deleted', deleted_at = now(), updated_at = now() "
                "WHERE tenant_id = $1 AND connection_id = $2 AND status <> 'deleted' RETURNING id",
                parsed.tenant_id,
                parsed.connection_id,
            )
        for row in ended:
            self._cache.forget(row["id"])
