"""Stopping the proactive refresh lets the refresh in hand finish (bounded) and starts no other:
cancelled at the provider, a rotated refresh token would be lost."""

import asyncio
import uuid
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest

from hub_oauth.services import scheduler as scheduler_module
from hub_oauth.services.scheduler import RefreshScheduler

pytestmark = pytest.mark.unit


class SlowRefresher:
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.started: list[uuid.UUID] = []
        self.finished: list[uuid.UUID] = []
        self.busy = asyncio.Event()
        self.locks = SimpleNamespace(now=self._now)

    @staticmethod
    async def _now():
        return datetime.now(UTC)

    async def refresh(self, _tenant, connection_id, force, asked_at=None):
        self.started.append(connection_id)
        self.busy.set()
        await asyncio.sleep(self.seconds)  # the provider rotating the refresh token
        self.finished.append(connection_id)
        return SimpleNamespace(refreshed=True, performed=True)


def scheduler_over(refresher, monkeypatch, db, due: list[uuid.UUID]) -> RefreshScheduler:
    async def due_for_refresh(_conn, **_k):
        return due

    async def get(_conn, cid):
        return SimpleNamespace(tenant_id="t", connection_id=cid)

    async def purge(_conn, **_k):
        return 0

    async def release_claim(_conn, _cid):
        return None

    monkeypatch.setattr(scheduler_module.tokens, "due_for_refresh", due_for_refresh)
    monkeypatch.setattr(scheduler_module.tokens, "get_unscoped", get)
    monkeypatch.setattr(scheduler_module.flows, "purge", purge)
    monkeypatch.setattr(scheduler_module.tokens, "release_claim", release_claim)
    return RefreshScheduler(db=db, refresher=refresher, interval_s=60, margin_s=300, idle_s=3600)


async def test_stop_lets_the_refresh_in_hand_finish_and_starts_no_other(monkeypatch, db):
    due = [uuid.uuid4(), uuid.uuid4(), uuid.uuid4()]
    refresher = SlowRefresher(0.2)
    scheduler = scheduler_over(refresher, monkeypatch, db, due)
    scheduler.start()
    await refresher.busy.wait()
    await scheduler.stop(grace_s=5)
    assert refresher.started == due[:1] and refresher.finished == due[:1]


async def test_stop_cancels_a_refresh_that_outlasts_the_grace(monkeypatch, db):
    refresher = SlowRefresher(30)
    scheduler = scheduler_over(refresher, monkeypatch, db, [uuid.uuid4()])
    scheduler.start()
    await refresher.busy.wait()
    await asyncio.wait_for(scheduler.stop(grace_s=0.1), 2)
    assert refresher.finished == []
