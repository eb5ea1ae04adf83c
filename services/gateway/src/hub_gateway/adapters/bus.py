"""A Redis pub/sub channel between the gateway's replicas (provider blocks, transform changes).

Best effort by design: a replica that misses a message still converges (provider blocks are also
read from Redis when a connection is first resolved; transforms have a short cache TTL).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from hub_common import jsonutil
from hub_common.background import BackgroundTask

log = logging.getLogger(__name__)
CHANNEL = "gw:bus"
Handler = Callable[[dict[str, Any]], Awaitable[None] | None]


class Bus:
    def __init__(self, redis: Any, channel: str = CHANNEL) -> None:
        self._redis = redis
        self._channel = channel
        self._handlers: dict[str, Handler] = {}
        self._listener = BackgroundTask("gateway-bus")
        self._subscribed = asyncio.Event()

    def on(self, kind: str, handler: Handler) -> None:
        self._handlers[kind] = handler

    async def publish(self, kind: str, **data: Any) -> None:
        await self._redis.publish(self._channel, jsonutil.dumps({"kind": kind, **data}))

    async def start(self) -> None:
        self._listener.start(self._run())
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._subscribed.wait(), 5)

    async def stop(self) -> None:
        await self._listener.stop()

    async def _run(self) -> None:
        while True:
            pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(self._channel)
                self._subscribed.set()
                while True:
                    message = await pubsub.get_message(timeout=1.0)
                    if message is not None:
                        await self._dispatch(message.get("data"))
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("gateway bus interrupted, resubscribing", extra={"error": type(exc).__name__})
                await asyncio.sleep(1)
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()

    async def _dispatch(self, raw: Any) -> None:
        try:
            data = jsonutil.loads(raw)
            handler = self._handlers.get(data.get("kind"))
            if handler is not None:
                result = handler(data)
                if result is not None:
                    await result
        except Exception:
            log.exception("gateway bus message not handled")
