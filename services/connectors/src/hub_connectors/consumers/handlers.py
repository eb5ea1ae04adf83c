"""The two consumer groups of this service and what each does with a record."""

from __future__ import annotations

from collections.abc import Callable
from uuid import UUID

from aiokafka import ConsumerRecord

from hub_common.events import (
    CloudEvent,
    ConnectionStatusChanged,
    HubEvent,
    IntegrationConnected,
    model_for_type,
)
from hub_common.events.envelope import EnvelopeError
from hub_common.kafka import NonRetryableError
from hub_connectors.services.audit import AuditService
from hub_connectors.services.connection_events import ConnectionEvents
from hub_connectors.services.database import EVENT_SOURCE

STATUS_TOPICS = (IntegrationConnected.topic, ConnectionStatusChanged.topic)


def _parse(event: CloudEvent) -> HubEvent | None:
    model = model_for_type(event.type)
    if model is None:
        return None  # another version or a foreign type: not ours to judge
    try:
        return event.parse(model)
    except (EnvelopeError, ValueError) as exc:
        raise NonRetryableError(f"{event.type} {event.id} does not match its model") from exc


class ConnectionStatusHandler:
    def __init__(
        self,
        service: ConnectionEvents,
        after_connected: Callable[[str, UUID], None] | None = None,
    ) -> None:
        self._service = service
        self._after_connected = after_connected

    async def __call__(self, event: CloudEvent, record: ConsumerRecord[bytes, bytes]) -> None:
        if event.source == EVENT_SOURCE:
            return  # our own report of a change already made
        parsed = _parse(event)
        if isinstance(parsed, IntegrationConnected):
            if await self._service.on_connected(event.id, parsed) and self._after_connected is not None:
                self._after_connected(parsed.tenant_id, parsed.connection_id)
        elif isinstance(parsed, ConnectionStatusChanged):
            await self._service.on_status_changed(event.id, parsed)


class AuditProjectionHandler:
    def __init__(self, service: AuditService) -> None:
        self._service = service

    async def __call__(self, event: CloudEvent, record: ConsumerRecord[bytes, bytes]) -> None:
        parsed = _parse(event)
        if isinstance(parsed, HubEvent):
            await self._service.project(event.id, parsed)
