"""Group commit against real Postgres: deliveries verified together share a statement; each still
gets its own truthful answer, and one that Postgres refuses fails alone."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from prometheus_client import REGISTRY

from hub_common.db.outbox import OutboxRow
from hub_common.events import WebhookReceived
from hub_webhooks.config import SCHEMA
from hub_webhooks.repositories.inbound import Verified
from hub_webhooks.services.group_commit import GroupCommit

pytestmark = pytest.mark.integration


def _delivery(tenant: str, registration: uuid.UUID, delivery_id: str) -> Verified:
    event = WebhookReceived(
        tenant_id=tenant,
        connector_id="acme",
        registration_id=registration,
        connection_id=uuid.uuid4(),
        delivery_id=delivery_id,
        event_name="issues",
        headers={},
        body="{}",
        body_encoding="utf-8",
        trigger_ids=["issue_opened"],
        filter=None,
    )
    return Verified(registration, delivery_id, tenant, "issues", 2, OutboxRow.of(event, "/test"))


def _statements() -> float:
    return REGISTRY.get_sample_value("hub_webhook_intake_batch_size_count") or 0.0


async def test_a_burst_is_written_in_shared_statements_with_one_answer_each(container, tenant):
    group = GroupCommit(container.db, schema=SCHEMA, writers=2, max_batch=16)
    registration = uuid.uuid4()
    ids = [f"d-{n}" for n in range(60)]
    burst = [_delivery(tenant, registration, i) for i in ids + ids[:20]]  # 20 repeated in the burst
    statements_before = _statements()
    answers = await asyncio.gather(*(group.accept(d) for d in burst))
    assert _statements() - statements_before <= 80 // 16 + 2  # shared: batches of up to 16, not 80
    # Each delivery id is new exactly once (which of two concurrent copies wins is not defined).
    for i in ids:
        assert sum(a for d, a in zip(burst, answers, strict=True) if d.delivery_id == i) == 1, i

    again = await group.accept(_delivery(tenant, registration, "d-7"))
    assert again is False  # a provider's retry later: a duplicate, nothing written
    async with container.db.connection() as conn:
        winners = await conn.fetch(
            "SELECT delivery_id, event_id FROM webhook_inbound WHERE registration_id = $1", registration
        )
    assert len(winners) == 60
    accepted = {d.row.event_id for d, a in zip(burst, answers, strict=True) if a}
    assert {w["event_id"] for w in winners} == accepted  # the answer "new" is the row that stayed


async def test_a_delivery_postgres_refuses_fails_alone(container, tenant):
    group = GroupCommit(container.db, schema=SCHEMA, writers=1, max_batch=64)
    registration = uuid.uuid4()
    good = [_delivery(tenant, registration, f"ok-{n}") for n in range(10)]
    bad = _delivery(tenant, registration, "nul-\x00-id")  # text cannot hold NUL
    mixed = [*good[:5], bad, *good[5:]]
    results = await asyncio.gather(*(group.accept(d) for d in mixed), return_exceptions=True)
    assert [r for r in results if r is True] == [True] * 10
    assert isinstance(results[5], Exception)
    async with container.db.connection() as conn:
        stored = await conn.fetch(
            "SELECT delivery_id FROM webhook_inbound WHERE registration_id = $1", registration
        )
    assert sorted(r["delivery_id"] for r in stored) == sorted(d.delivery_id for d in good)
