"""The webhook registration an automation's trigger needs (docs/adr/0029, "Webhook triggers").

Saving an automation whose trigger is a webhook trigger ensures that a registration covering the
trigger exists at the webhooks service: one already there (made by a user or for another
automation, without a filter) is used as it is; else one is made — ``auto`` (the hub registers
the URL at the provider) when the connector registers hooks by API, else ``manual`` (URL, secret
shown once, steps for the user). The ones made here are remembered (``automation_webhooks``), and
when the last automation on that (connection, trigger) is deleted or moved to another trigger,
they are deleted at the webhooks service too; a registration a user made is never touched.
Both run under one lock per (tenant, connection, trigger), in the transaction that saves or
deletes the automation.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from uuid import UUID

import asyncpg

from hub_common.errors import HubError
from hub_connector_sdk import BaseConnector, ConnectorTrigger
from hub_connectors.domain.connection import Connection
from hub_connectors.domain.webhook_registration import WebhookRegistration
from hub_connectors.registry.registry import RegisteredConnector
from hub_connectors.repositories import automation_webhooks as made
from hub_connectors.repositories import automations
from hub_connectors.services.caller import Caller
from hub_connectors.services.ports import WebhookRegistrations

log = logging.getLogger(__name__)
# The webhooks service's answers that mean "this provider is configured by hand".
AUTO_REFUSED = frozenset({"manual_only", "webhook_registration_unsupported"})


@dataclass(frozen=True)
class EnsuredWebhook:
    registration: WebhookRegistration
    created: bool  # made now (a manual one carries its secret and steps, shown once)


def registers_by_api(registered: RegisteredConnector) -> bool:
    """Whether the connector creates hooks at its provider. A plugin is not imported here: it is
    tried, and the webhooks service's refusal says when it does not."""
    cls = registered.connector_class
    return cls is None or cls.register_webhook is not BaseConnector.register_webhook


class TriggerWebhooks:
    def __init__(self, registrations: WebhookRegistrations) -> None:
        self._registrations = registrations

    async def ensure(
        self,
        conn: asyncpg.Connection,
        caller: Caller,
        connection: Connection,
        registered: RegisteredConnector,
        trigger: ConnectorTrigger,
    ) -> EnsuredWebhook | None:
        if not trigger.is_webhook_based:
            return None  # polled or nothing to register
        await made.lock_trigger(conn, caller.tenant_id, connection.id, trigger.id)
        for existing in await self._registrations.of_connection(caller, connection.id):
            if existing.covers(trigger.id):
                return EnsuredWebhook(existing, created=False)
        mode = "auto" if registers_by_api(registered) else "manual"
        try:
            registration = await self._registrations.create(caller, connection.id, [trigger.id], mode)
        except HubError as exc:
            if mode != "auto" or exc.code not in AUTO_REFUSED:
                raise
            registration = await self._registrations.create(caller, connection.id, [trigger.id], "manual")
        await made.record(conn, caller.tenant_id, registration.id, connection.id, trigger.id)
        return EnsuredWebhook(registration, created=True)

    async def undo(self, caller: Caller, ensured: EnsuredWebhook | None) -> None:
        """The automation was not saved after all: the registration made for it goes (its row
        goes with the rolled-back transaction)."""
        if ensured is None or not ensured.created:
            return
        try:
            await self._registrations.delete(caller, ensured.registration.id)
        except HubError:
            log.warning("a webhook registration made for an unsaved automation stayed", exc_info=True)

    async def release(
        self, conn: asyncpg.Connection, caller: Caller, connection_id: UUID, trigger_id: str
    ) -> None:
        """After an automation left (connection, trigger): when none is left there, the
        registrations made for automations go (a webhooks outage fails the caller's transaction,
        so nothing is left dangling unnoticed)."""
        await made.lock_trigger(conn, caller.tenant_id, connection_id, trigger_id)
        if await automations.count_on_trigger(conn, caller.tenant_id, connection_id, trigger_id):
            return
        for registration_id in await made.made_for(conn, caller.tenant_id, connection_id, trigger_id):
            await self._registrations.delete(caller, registration_id)  # already gone: fine
            await made.forget(conn, caller.tenant_id, registration_id)
