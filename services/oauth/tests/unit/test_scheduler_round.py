"""A proactive refresh round survives one connection's unexpected failure."""

import uuid
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest

from hub_common.errors import Conflict
from hub_oauth.repositories import tokens
from hub_oauth.services import scheduler
from hub_oauth.services.refresh import RefreshOutcome

pytestmark = pytest.mark.unit


async def test_a_crashing_connection_is_deferred_and_the_others_still_refresh(monkeypatch, db):
    broken, refused, fine = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    order = [broken, refused, fine]
    failures: list[tuple] = []

    async def due(_conn, **_kw):
        return order

    async def get(_conn, cid):
        return SimpleNamespace(tenant_id="t1", connection_id=cid)

    async def record_failure(_conn, cid, error, retry_in_s):
        failures.append((cid, error, retry_in_s))

    monkeypatch.setattr(tokens, "due_for_refresh", due)
    monkeypatch.setattr(tokens, "get_unscoped", get)
    monkeypatch.setattr(tokens, "record_failure", record_failure)
    tried: list[uuid.UUID] = []

    async def release_claim(_conn, cid):
        pass

    monkeypatch.setattr(tokens, "release_claim", release_claim)

    class Locks:
        async def now(self):
            return datetime.now(UTC)

    class Refresher:
        locks = Locks()

        async def refresh(self, tenant_id, connection_id, force=False, asked_at=None):
            tried.append(connection_id)
            if connection_id == broken:
                raise ValueError("a bug in one connector's answer handling")
            if connection_id == refused:
                raise Conflict("not active", code="token_not_active")
            return RefreshOutcome(connection_id, True, None, 2)

    round_ = scheduler.RefreshScheduler(
        db=db, refresher=Refresher(), interval_s=60, margin_s=300, idle_s=3600
    )
    assert await round_.run_once() == 1
    assert tried == order
    assert failures == [(broken, "internal_error", scheduler.FAILED_RETRY_S)]
