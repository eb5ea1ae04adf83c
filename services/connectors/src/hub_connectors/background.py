"""Work that runs beside the API: two consumer groups, five periodic jobs (health, audit purge,
initializing sweep, dedupe purge, polling triggers) and content exports.

Runs inside ``serve`` by default (so one process is a complete service) or alone with
``hub-connectors worker``. Replicas share it safely: consumer groups split partitions, health
checks are claimed with ``FOR UPDATE SKIP LOCKED``, and the retention purge is idempotent.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from hub_common.background import cancel_and_wait, every, jittered
from hub_common.events import AutomationRun, IntegrationContent, IntegrationTriggerFired, WebhookReceived
from hub_common.kafka import ConsumerRunner, EventProducer, dlq_topic
from hub_common.kafka.admin import ensure_topics
from hub_connectors.config import ConnectorsSettings
from hub_connectors.consumers.automation_agent import AutomationAgent
from hub_connectors.consumers.handlers import STATUS_TOPICS, AuditProjectionHandler, ConnectionStatusHandler
from hub_connectors.consumers.trigger_agent import TriggerAgent
from hub_connectors.services.audit import AuditService
from hub_connectors.services.automation_engine import AutomationEngine
from hub_connectors.services.connected_checks import ConnectedChecks
from hub_connectors.services.connection_events import ConnectionEvents
from hub_connectors.services.content_exports import ExportRunner
from hub_connectors.services.health import HealthService
from hub_connectors.services.sweeper import InitializingSweeper
from hub_connectors.services.trigger_polls import TriggerPolls
from hub_connectors.services.triggers import TriggerProcessor
from hub_connectors.services.ui_sessions import UiSessions

log = logging.getLogger(__name__)


def _every(name: str, interval_s: float, job: Callable[[], Awaitable[object]]) -> asyncio.Task[None]:
    # A random first delay spreads replicas that start together.
    return asyncio.create_task(
        every(
            interval_s,
            job,
            what="periodic job failed",
            first_delay_s=jittered(interval_s),
            logger=log,
            with_traceback=True,
            extra={"job": name},
        ),
        name=f"connectors-{name}",
    )


class BackgroundWorkers:
    def __init__(
        self,
        settings: ConnectorsSettings,
        producer: EventProducer,
        *,
        health: HealthService,
        audit: AuditService,
        connection_events: ConnectionEvents,
        sweeper: InitializingSweeper,
        export_runner: ExportRunner | None = None,
        trigger_polls: TriggerPolls | None = None,
        triggers: TriggerProcessor | None = None,
        automation_engine: AutomationEngine | None = None,
        ui_sessions: UiSessions | None = None,
    ) -> None:
        self._ui_sessions = ui_sessions
        prefix = settings.connectors_consumer_group_prefix
        self.settings = settings
        self._health = health
        self._audit = audit
        self._connection_events = connection_events
        self._sweeper = sweeper
        self.export_runner = export_runner
        self._trigger_polls = trigger_polls
        self._triggers = triggers
        self.status_consumer = ConsumerRunner(
            bootstrap=settings.kafka_bootstrap,
            group_id=f"{prefix}.connection-status",
            topics=STATUS_TOPICS,
            handler=ConnectionStatusHandler(
                connection_events,
                after_connected=lambda tenant, cid: self.connected_checks.start(tenant, cid),
            ),
            dlq_producer=producer,
            auto_offset_reset=settings.connectors_consumer_offset_reset,
            batch_wait_ms=settings.connectors_consumer_batch_wait_ms,
        )
        self.audit_consumer = ConsumerRunner(
            bootstrap=settings.kafka_bootstrap,
            group_id=f"{prefix}.audit-projector",
            topics=settings.connectors_audit_topics,
            handler=AuditProjectionHandler(audit),
            dlq_producer=producer,
            auto_offset_reset=settings.connectors_consumer_offset_reset,
            batch_wait_ms=settings.connectors_consumer_batch_wait_ms,
        )
        # webhook.received → integration.trigger-fired (a faust agent, docs/adr/0020)
        self.trigger_agent = (
            TriggerAgent(
                bootstrap=settings.kafka_bootstrap,
                group_id=f"{prefix}.triggers",
                processor=triggers,
                dlq_producer=producer,
                auto_offset_reset=settings.connectors_consumer_offset_reset,
            )
            if triggers is not None and settings.connectors_triggers
            else None
        )
        # integration.trigger-fired → automation runs (a faust agent, docs/adr/0029)
        self.automation_agent = (
            AutomationAgent(
                bootstrap=settings.kafka_bootstrap,
                group_id=f"{prefix}.automations",
                engine=automation_engine,
                dlq_producer=producer,
                auto_offset_reset=settings.connectors_consumer_offset_reset,
            )
            if automation_engine is not None and settings.connectors_automations
            else None
        )
        self._tasks: list[asyncio.Task[None]] = []
        # An OAuth connect is health-checked as an API-key connection's creation is.
        self.connected_checks = ConnectedChecks(health)

    @property
    def consumers(self) -> list[ConsumerRunner]:
        return [self.status_consumer, self.audit_consumer]

    async def start(self) -> None:
        s = self.settings
        topics = {
            *STATUS_TOPICS,
            *s.connectors_audit_topics,
            IntegrationContent.topic,
            IntegrationTriggerFired.topic,
            WebhookReceived.topic,
            AutomationRun.topic,
        }
        await ensure_topics(s.kafka_bootstrap, sorted(topics | {dlq_topic(t) for t in topics}))
        for consumer in self.consumers:
            await consumer.start()
        if self.trigger_agent is not None:
            await self.trigger_agent.start()
        if self.automation_agent is not None:
            await self.automation_agent.start()
        self._tasks = [
            _every("health", s.connectors_health_interval_s / 2, self._health.run_due),
            _every("audit-purge", s.connectors_audit_purge_interval_s, self._audit.purge),
            _every("initializing-sweep", s.connectors_sweep_interval_s, self._sweeper.run),
            _every(
                "dedupe-purge",
                s.connectors_audit_purge_interval_s,
                self._connection_events.forget_old_ids,
            ),
        ]
        if self._trigger_polls is not None:
            polls = self._trigger_polls
            self._tasks.append(_every("trigger-polls", s.connectors_trigger_poll_every_s, polls.poll_due))
        if self._triggers is not None:
            self._tasks.append(
                _every(
                    "trigger-dedupe-purge",
                    s.connectors_audit_purge_interval_s,
                    self._triggers.forget_old_firings,
                )
            )
        if self._ui_sessions is not None:
            self._tasks.append(
                _every("ui-session-purge", s.connectors_audit_purge_interval_s, self._ui_sessions.purge)
            )
        if self.export_runner is not None:
            self.export_runner.start()

    async def wait_assigned(self, timeout_s: float = 30.0) -> None:
        await asyncio.gather(*(c.wait_assigned(timeout_s) for c in self.consumers))
        if self.trigger_agent is not None:
            await self.trigger_agent.wait_assigned(timeout_s)
        if self.automation_agent is not None:
            await self.automation_agent.wait_assigned(timeout_s)

    async def stop(self) -> None:
        if self.export_runner is not None:
            await self.export_runner.stop()
        await cancel_and_wait(*self._tasks)
        if self.trigger_agent is not None:
            await self.trigger_agent.stop()
        if self.automation_agent is not None:
            await self.automation_agent.stop()
        for consumer in self.consumers:
            await consumer.stop()
        await self.connected_checks.stop()
