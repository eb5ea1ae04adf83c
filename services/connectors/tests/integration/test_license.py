"""License gating on the real database: the limit holds under concurrency, refusals name the
tier that would allow the request, and /v1/license reports what is left."""

import asyncio
import uuid

import asyncpg
import pytest

pytestmark = pytest.mark.component  # neighbouring services stood in (docs/testing.md)


async def create(api, headers, connector_id="echoapi", **extra):
    body = {"connector_id": connector_id, "name": f"c-{uuid.uuid4().hex[:8]}", **extra}
    if connector_id == "echoapi":
        body.setdefault("credentials", {"api_key": "good-key"})
    return await api.post("/v1/connections", json=body, headers=headers)


async def test_twenty_simultaneous_creates_at_a_limit_of_five_yield_exactly_five(
    api, auth, tenant, migrated_dsn
):
    headers = auth(tenant, "writerpro")
    responses = await asyncio.gather(*(create(api, headers) for _ in range(20)))
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201] * 5 + [403] * 15, statuses
    refused = next(r for r in responses if r.status_code == 403).json()["error"]
    assert refused["code"] == "license_limit"
    assert refused["details"] == {
        "current_tier": "writerpro",
        "required_tier": "teams",
        "limit": 5,
        "used": 5,
    }
    conn = await asyncpg.connect(migrated_dsn)
    try:
        rows = await conn.fetchval(
            "SELECT count(*) FROM connectors.integrations_connections WHERE tenant_id = $1", tenant
        )
    finally:
        await conn.close()
    assert rows == 5

    license_ = (await api.get("/v1/license", headers=headers)).json()
    assert license_["tier"] == "writerpro" and license_["connections_used"] == 5
    assert license_["remaining_connections"] == 0 and license_["limits"]["connections"] == 5


async def test_disconnecting_frees_a_slot_and_oauth_pending_ones_count(api, auth, tenant):
    headers = auth(tenant, "core")
    first = await create(api, headers)
    pending = await create(api, headers, connector_id="oauththing")
    assert first.status_code == pending.status_code == 201
    third = await create(api, headers)
    assert third.status_code == 403
    assert third.json()["error"]["details"]["required_tier"] == "writerpro"
    assert (await api.delete(f"/v1/connections/{first.json()['id']}", headers=headers)).status_code == 200
    assert (await create(api, headers)).status_code == 201


async def test_license_describes_each_tier(api, auth, tenant):
    expected = {
        "core": (2, False, False, "none", False, None, []),
        "writerpro": (5, True, False, "basic", True, 30, ["webhooks", "gateway", "audit_log"]),
        "teams": (None, True, False, "full", True, 90, ["webhooks", "gateway", "audit_log"]),
        "enterprise": (
            None,
            True,
            True,
            "full_custom",
            True,
            None,
            ["webhooks", "custom_connectors", "gateway", "audit_log"],
        ),
    }
    for tier, (limit, webhooks, custom, gateway, audit, days, features) in expected.items():
        body = (await api.get("/v1/license", headers=auth(f"{tenant}-{tier}", tier))).json()
        assert body["tier"] == tier
        assert body["limits"] == {
            "connections": limit, "webhooks": webhooks, "custom_connectors": custom, "gateway": gateway,
            "audit_log": audit, "audit_retention_days": days,
        }  # fmt: skip
        assert body["remaining_connections"] == limit and body["features"] == features


async def test_a_tier_change_is_recorded_for_background_work(api, auth, tenant, migrated_dsn):
    await api.get("/v1/license", headers=auth(tenant, "writerpro"))
    await api.get("/v1/license", headers=auth(tenant, "enterprise"))
    conn = await asyncpg.connect(migrated_dsn)
    try:
        tier = await conn.fetchval("SELECT tier FROM connectors.tenants WHERE tenant_id = $1", tenant)
    finally:
        await conn.close()
    assert tier == "enterprise"
