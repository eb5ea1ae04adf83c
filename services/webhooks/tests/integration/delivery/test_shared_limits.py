"""A subscription's ``max_concurrency`` holds across dispatcher replicas (Redis), not per process."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from hub_webhooks.config import SCHEMA
from hub_webhooks.services.dispatcher import Dispatcher
from hub_webhooks.services.subscription_limits import SubscriptionLimits

from .conftest import serve
from .test_delivery import _fired, _subscribe

pytestmark = pytest.mark.integration


@dataclass
class SlowSubscriber:
    """Holds each push a moment and remembers how many it held at once."""

    url: str = ""
    held: int = 0
    most_at_once: int = 0
    received: list[str] = field(default_factory=list)

    async def hook(self, request: Request) -> Response:
        self.held += 1
        self.most_at_once = max(self.most_at_once, self.held)
        try:
            await asyncio.sleep(0.3)
            self.received.append(request.headers["webhook-id"])
            return Response(status_code=200)
        finally:
            self.held -= 1

    def to(self, _name: str) -> list[str]:
        return self.received


@pytest.fixture
async def slow() -> AsyncIterator[SlowSubscriber]:
    sub = SlowSubscriber()
    async with serve(Starlette(routes=[Route("/hooks/{name}", sub.hook, methods=["POST"])])) as url:
        sub.url = url
        yield sub


@pytest.fixture
async def second_replica(container) -> AsyncIterator[Dispatcher]:
    """Another process's dispatcher: same database and Redis, its own in-flight counts."""
    config = container.dispatcher.config
    replica = Dispatcher(container.db, container.secrets, schema=SCHEMA, source="/test/r2", config=config)
    replica.limits = SubscriptionLimits(container.infra.redis, lease_s=config.lease_s)
    replica.start()
    yield replica
    await replica.stop()


async def test_two_replicas_together_keep_a_subscriptions_concurrency(
    api, auth, tenant, slow, container, second_replica, wait_for
):
    assert container.dispatcher.limits is not None  # the service wires the shared limits itself
    await _subscribe(api, auth, tenant, slow, "slow", max_concurrency=2)
    for n in range(12):  # twelve connections: twelve queue heads due at once, on two replicas
        await container.infra.producer.publish(_fired(tenant, uuid.uuid4(), n))
    await wait_for(lambda: len(slow.received) == 12, timeout_s=60)
    assert slow.most_at_once == 2  # never more, though each replica alone would allow two
