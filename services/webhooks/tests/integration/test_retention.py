"""Retention per tier really deletes: each tenant's dedupe rows and refused-delivery audit older
than its tier keeps are gone after a pass; younger rows, and Enterprise's, stay."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from hub_webhooks.repositories import tenants

pytestmark = pytest.mark.integration


async def _seed(conn, tenant: str, tier: str, ages_days: list[int]) -> uuid.UUID:
    await tenants.observe(conn, tenant, tier)
    registration = uuid.uuid4()
    now = datetime.now(UTC)
    for n, age in enumerate(ages_days):
        at = now - timedelta(days=age, minutes=1)
        await conn.execute(
            "INSERT INTO webhook_inbound (registration_id, delivery_id, tenant_id, event_id, body_bytes, "
            "received_at) VALUES ($1, $2, $3, $4, 10, $5)",
            registration,
            f"d{n}",
            tenant,
            uuid.uuid4(),
            at,
        )
        await conn.execute(
            "INSERT INTO webhook_intake_audit (tenant_id, registration_id, connector_id, code, at) "
            "VALUES ($1, $2, 'acme', 'signature_mismatch', $3)",
            tenant,
            registration,
            at,
        )
    return registration


async def _left(conn, registration: uuid.UUID) -> tuple[int, int]:
    inbound = await conn.fetchval(
        "SELECT count(*) FROM webhook_inbound WHERE registration_id = $1", registration
    )
    audit = await conn.fetchval(
        "SELECT count(*) FROM webhook_intake_audit WHERE registration_id = $1", registration
    )
    return inbound, audit


async def test_each_tier_keeps_its_window_and_no_more(container):
    ages = [0, 29, 31, 89, 91, 400]
    async with container.db.connection() as conn:
        writerpro = await _seed(conn, f"wp-{uuid.uuid4().hex[:8]}", "writerpro", ages)
        teams = await _seed(conn, f"tm-{uuid.uuid4().hex[:8]}", "teams", ages)
        enterprise = await _seed(conn, f"en-{uuid.uuid4().hex[:8]}", "enterprise", ages)
        core = await _seed(conn, f"co-{uuid.uuid4().hex[:8]}", "core", ages)

    deleted = await container.retention.purge()

    async with container.db.connection() as conn:
        assert await _left(conn, writerpro) == (2, 2)  # 0 and 29 days
        assert await _left(conn, teams) == (4, 4)  # up to 89 days
        assert await _left(conn, enterprise) == (6, 6)  # kept
        assert await _left(conn, core) == (1, 1)  # a day
    assert deleted["webhook_inbound"] >= 4 + 2 + 5 and deleted["webhook_intake_audit"] >= 11
    await container.retention.purge()  # a second pass deletes nothing more of these
    async with container.db.connection() as conn:
        assert await _left(conn, writerpro) == (2, 2)
