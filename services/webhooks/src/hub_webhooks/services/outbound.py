"""The outbound half wired together (docs/adr/0020): subscriptions, the fan-out consumer, the
dispatcher and the delivery log. The composition root builds one and starts it with the service."""

from __future__ import annotations

from typing import Any

import httpx

from hub_common.db import Database
from hub_common.kafka import ConsumerRunner, EventProducer, dlq_topic
from hub_common.kafka.admin import ensure_topics
from hub_webhooks.config import SCHEMA, WebhooksSettings
from hub_webhooks.domain.retry_schedule import RetrySchedule, parse_schedule
from hub_webhooks.domain.subscription import SUBSCRIBABLE_EVENT_TYPES
from hub_webhooks.services.delivery_log import DeliveryLog
from hub_webhooks.services.dispatcher import Dispatcher, DispatcherConfig
from hub_webhooks.services.fanout import Fanout
from hub_webhooks.services.secrets import SecretCache
from hub_webhooks.services.subscription_limits import SubscriptionLimits
from hub_webhooks.services.subscriptions import SubscriptionService


class Outbound:
    def __init__(
        self,
        settings: WebhooksSettings,
        db: Database,
        secrets: SecretCache,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.settings = settings
        allowlist = tuple(settings.outbound_allowlist_entries)
        self.dispatcher = Dispatcher(
            db,
            secrets,
            schema=SCHEMA,
            source=f"/integration-hub/{settings.service_name}",
            config=DispatcherConfig(
                schedule=RetrySchedule(
                    delays_s=parse_schedule(settings.webhooks_delivery_schedule),
                    jitter=settings.webhooks_delivery_jitter,
                ),
                timeout_s=settings.webhooks_delivery_timeout_s,
                disable_after_s=settings.webhooks_delivery_disable_after_s,
                concurrency=settings.webhooks_delivery_concurrency,
                lease_s=settings.webhooks_delivery_lease_s,
                poll_s=settings.webhooks_delivery_poll_s,
                outbound_allowlist=allowlist,
            ),
            transport=transport,
        )
        self.fanout = Fanout(db, on_queued=self.dispatcher.wake)
        self.subscriptions = SubscriptionService(
            db,
            secrets,
            outbound_allowlist=allowlist,
            rotation_overlap_s=settings.webhooks_rotation_overlap_s,
            on_change=self.fanout.forget,
        )
        self.delivery_log = DeliveryLog(db, wake=self.dispatcher.wake)
        self.consumer: ConsumerRunner | None = None

    async def start(self, producer: EventProducer, redis: Any | None = None) -> None:
        if not self.settings.webhooks_delivery:
            return
        if redis is not None:
            lease_s = self.settings.webhooks_delivery_lease_s
            self.dispatcher.limits = SubscriptionLimits(redis, lease_s=lease_s)
        topics = list(SUBSCRIBABLE_EVENT_TYPES)
        await ensure_topics(self.settings.kafka_bootstrap, sorted({*topics, *map(dlq_topic, topics)}))
        self.consumer = ConsumerRunner(
            bootstrap=self.settings.kafka_bootstrap,
            group_id=self.settings.webhooks_delivery_group,
            topics=topics,
            handler=self.fanout,
            dlq_producer=producer,
            auto_offset_reset=self.settings.webhooks_delivery_offset_reset,
        )
        await self.consumer.start()
        self.dispatcher.start()

    async def stop(self) -> None:
        if self.consumer is not None:
            await self.consumer.stop()
            self.consumer = None
            await self.dispatcher.stop()
