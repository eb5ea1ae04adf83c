"""Startup checks that turn an unreachable dependency into one line naming it."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from urllib.parse import urlsplit

from hub_common.db.pool import connect
from hub_common.errors import ConfigurationError
from hub_common.kafka.producer import EventProducer
from hub_common.settings import HubSettings


async def check_postgres(settings: HubSettings) -> None:
    conn = await connect(settings.postgres_dsn, timeout_s=5)
    await conn.close()


async def check_kafka(settings: HubSettings) -> None:
    producer = EventProducer(settings.kafka_bootstrap, source="preflight")
    await producer.start(timeout_s=10)
    await producer.stop()


async def check_redis(settings: HubSettings) -> None:
    from redis.asyncio import Redis

    client = Redis.from_url(settings.redis_url, socket_connect_timeout=3)
    try:
        await client.ping()
    except Exception as exc:
        parts = urlsplit(settings.redis_url)
        raise ConfigurationError(
            f"cannot reach Redis at {parts.hostname}:{parts.port} ({type(exc).__name__}); "
            "is the stack up? (hubctl stack up) or check HUB_REDIS_URL"
        ) from None
    finally:
        await client.aclose()


_CHECKS = {"postgres": check_postgres, "kafka": check_kafka, "redis": check_redis}


def preflight(settings: HubSettings, needs: Iterable[str]) -> None:
    async def run() -> None:
        for need in needs:
            await _CHECKS[need](settings)

    asyncio.run(run())
