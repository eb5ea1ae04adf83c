"""One refresh per stale token and process, also for a 401 that comes back after the refresh ended
(its request left with the stale token while the refresh was running)."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any, cast

import pytest

from hub_gateway.domain.injection import Injection
from hub_gateway.services.proxy import ProxyService, ProxySettings

pytestmark = pytest.mark.unit

STALE = Injection(header=("authorization", "Bearer stale"), token="stale")
FRESH = Injection(header=("authorization", "Bearer fresh"), token="fresh")


class Refresher:
    def __init__(self) -> None:
        self.calls: list[str] = []

    async def refresh(self, tenant_id: str, connection_id: uuid.UUID, stale_token: str) -> bool:
        self.calls.append(stale_token)
        await asyncio.sleep(0.01)
        return True


class Resolver:
    def __init__(self) -> None:
        self.current = STALE

    def invalidate(self, connection_id: uuid.UUID, reason: str, *, credentials_only: bool = False) -> None:
        self.current = FRESH  # the vault holds the refreshed token by now

    async def injection(self, target: Any) -> Injection:
        return self.current


class Target:
    id = uuid.uuid4()
    tenant_id = "t"


def service(refresher: Refresher, resolver: Resolver) -> ProxyService:
    none = cast(Any, None)
    return ProxyService(
        client=none,
        resolver=cast(Any, resolver),
        limiter=none,
        budgets=none,
        snapshots=none,
        circuits=none,
        refresher=cast(Any, refresher),
        transforms=None,
        settings=ProxySettings(),
    )


async def test_concurrent_and_late_401s_of_one_token_cause_one_refresh():
    refresher, resolver = Refresher(), Resolver()
    proxy = service(refresher, resolver)
    target = cast(Any, Target())
    together = await asyncio.gather(*(proxy._refresh(target, STALE) for _ in range(5)))
    late = await proxy._refresh(target, STALE)
    assert together == [FRESH] * 5 and late == FRESH
    assert refresher.calls == ["stale"]
    resolver.current = FRESH
    await proxy._refresh(target, FRESH)  # the refreshed token failing in turn is refreshed again
    assert refresher.calls == ["stale", "fresh"]
