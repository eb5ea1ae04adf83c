"""The shared half of every service's composition root: pool, producer, outbox relay, Redis.

A service's ``inject.py`` builds one ``Infrastructure`` with what it needs and adds its own
repositories and use cases on top; the lifespan starts and stops it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import Any

import asyncpg

from hub_common.db.outbox import OutboxRelay
from hub_common.db.pool import create_pool
from hub_common.db.relay_process import RelayProcess
from hub_common.kafka.producer import EventProducer
from hub_common.settings import HubSettings
from hub_common.web.health import ReadinessCheck, kafka_check, postgres_check, redis_check


class Infrastructure:
    def __init__(
        self,
        settings: HubSettings,
        *,
        schema: str,
        needs: Sequence[str] = ("postgres", "kafka"),
        outbox: bool = True,
    ) -> None:
        self.settings = settings
        self.schema = schema
        self.needs = tuple(needs)
        self.use_outbox = outbox and "postgres" in self.needs and "kafka" in self.needs
        self._pool: asyncpg.Pool | None = None
        self._producer: EventProducer | None = None
        self._redis: Any = None
        self._relay: OutboxRelay | RelayProcess | None = None

    @property
    def pool(self) -> asyncpg.Pool:
        if self._pool is None:
            raise RuntimeError("postgres is not started")
        return self._pool

    @property
    def producer(self) -> EventProducer:
        if self._producer is None:
            raise RuntimeError("kafka is not started")
        return self._producer

    @property
    def redis(self) -> Any:
        if self._redis is None:
            raise RuntimeError("redis is not started")
        return self._redis

    async def start(self) -> None:
        s = self.settings
        if "postgres" in self.needs:
            self._pool = await create_pool(
                s.postgres_dsn,
                schema=self.schema,
                application_name=f"hub-{s.service_name}",
                min_size=s.postgres_pool_min,
                max_size=s.postgres_pool_max,
            )
        if "kafka" in self.needs:
            self._producer = EventProducer(s.kafka_bootstrap, source=f"/integration-hub/{s.service_name}")
            await self._producer.start()
        if "redis" in self.needs:
            from redis.asyncio import Redis

            self._redis = Redis.from_url(s.redis_url, socket_connect_timeout=3, health_check_interval=30)
        if self.use_outbox and s.outbox_relay == "process":
            self._relay = RelayProcess(s, self.schema)
            await self._relay.start()
        elif self.use_outbox:
            self._relay = OutboxRelay(
                pool=self.pool,
                dsn=s.postgres_dsn,
                schema=self.schema,
                producer=self.producer,
                poll_interval_s=s.outbox_poll_interval_s,
            )
            await self._relay.start()

    async def stop(self) -> None:
        if self._relay is not None:
            await self._relay.stop()
        if self._producer is not None:
            await self._producer.stop()
        if self._redis is not None:
            with contextlib.suppress(Exception):
                await self._redis.aclose()
        if self._pool is not None:
            await self._pool.close()

    def readiness(self) -> list[ReadinessCheck]:
        checks: list[ReadinessCheck] = []
        if "postgres" in self.needs:
            checks.append(postgres_check(lambda: self.pool))
        if "kafka" in self.needs:
            checks.append(kafka_check(lambda: self.producer))
        if "redis" in self.needs:
            checks.append(redis_check(lambda: self.redis))
        return checks
