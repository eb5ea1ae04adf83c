"""The floor of a durable webhook intake: the smallest ASGI app that reads the body, awaits one
acks=all produce of it to Kafka, and answers 200. No verification, no dedupe, no auth, no
framework: what ``hub-webhooks`` adds to that is what its intake costs (bench/webhooks_bench.py).
"""

from __future__ import annotations

import os
from typing import Any

from aiokafka import AIOKafkaProducer

TOPIC = "bench.webhooks-floor"
_producer: AIOKafkaProducer | None = None


async def _lifespan(receive: Any, send: Any) -> None:
    global _producer
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            _producer = AIOKafkaProducer(
                bootstrap_servers=os.environ["FLOOR_KAFKA_BOOTSTRAP"], acks="all", enable_idempotence=True
            )
            await _producer.start()
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            if _producer is not None:
                await _producer.stop()
            await send({"type": "lifespan.shutdown.complete"})
            return


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        await _lifespan(receive, send)
        return
    body = b""
    more = True
    while more:
        message = await receive()
        body += message.get("body", b"")
        more = message.get("more_body", False)
    if scope["method"] == "POST":
        assert _producer is not None
        await _producer.send_and_wait(TOPIC, body)
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]})
    await send({"type": "http.response.body", "body": b"ok"})
