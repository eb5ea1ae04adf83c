"""The faust-streaming agent that runs automations on ``integration.trigger-fired``
(docs/adr/0029), built like the trigger agent (docs/adr/0020): in this service's event loop,
offsets committed only after a record is handled, outages retried, unreadable records
dead-lettered to ``integration.trigger-fired.dlq``. The engine dedupes on the event's ``ce_id``,
so a record handled twice runs no action twice."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from hub_common.events import IntegrationTriggerFired
from hub_common.events.envelope import EnvelopeError, decode
from hub_common.kafka import EventProducer, RetryPolicy
from hub_connectors.consumers.trigger_agent import TriggerAgent, _headers
from hub_connectors.services.automation_engine import AutomationEngine


class AutomationAgent(TriggerAgent):
    topic_name = IntegrationTriggerFired.topic
    agent_name = "automations"

    def __init__(
        self,
        *,
        bootstrap: str,
        group_id: str,
        engine: AutomationEngine,
        dlq_producer: EventProducer,
        auto_offset_reset: str = "earliest",
        retry: RetryPolicy | None = None,
    ) -> None:
        super().__init__(
            bootstrap=bootstrap,
            group_id=group_id,
            processor=None,
            dlq_producer=dlq_producer,
            auto_offset_reset=auto_offset_reset,
            retry=retry,
        )
        self._engine = engine

    async def _handle(self, message: Any) -> None:
        try:
            cloud_event = decode(message.value, _headers(message))
            fired = cloud_event.parse(IntegrationTriggerFired)
        except (EnvelopeError, ValidationError, ValueError) as exc:
            await self._dead_letter(message, exc, attempts=1)
            return
        await self._retrying(
            message,
            lambda: self._engine.handle(cloud_event.id, fired),
            context={"event_id": cloud_event.id},
        )
