"""The audit projector (its own consumer group) turns integration events into audit rows,
exactly once per event; GET /v1/audit pages through them; retention is purged per tier."""

import asyncio
import base64
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from hub_common.db.pool import connect
from hub_common.events import ActionResultSummary, IntegrationActionExecuted, IntegrationConnected
from hub_common.kafka import EventProducer
from hub_connectors.domain.audit import AuditEntry
from hub_connectors.repositories import audit as audit_rows

pytestmark = pytest.mark.component  # neighbouring services stood in (docs/testing.md)


@pytest.fixture
async def producer(kafka_bootstrap):
    p = EventProducer(kafka_bootstrap, source="/tests/audit")
    await p.start()
    yield p
    await p.stop()


@pytest.fixture
async def db(migrated_dsn):
    conn = await connect(migrated_dsn, schema="connectors")  # with the service's JSON codecs
    yield conn
    await conn.close()


async def entries(api, headers, query=""):
    resp = await api.get(f"/v1/audit{query}", headers=headers)
    assert resp.status_code == 200, resp.text
    return resp.json()


async def test_lifecycle_events_are_projected_and_paginated(api, auth, tenant, wait_for, producer):
    headers = auth(tenant, "teams")
    cid = (
        await api.post(
            "/v1/connections",
            json={"connector_id": "echoapi", "name": "audited", "credentials": {"api_key": "good-key"}},
            headers=headers,
        )
    ).json()["id"]
    await api.post(
        f"/v1/connections/{cid}/actions/echo", json={"parameters": {"message": "a"}}, headers=headers
    )
    await api.post(
        f"/v1/connections/{cid}/actions/echo", json={"parameters": {}}, headers=headers
    )  # 422: no event
    await api.delete(f"/v1/connections/{cid}", headers=headers)

    wanted = {
        "integration.connected",
        "integration.action-executed",
        "integration.disconnected",
        "credential.changed",
    }

    async def all_projected():
        body = await entries(api, headers)
        return body if wanted <= {e["event_type"] for e in body["entries"]} else None

    body = await wait_for(all_projected)
    # More of these events may still be on their way (the credentials' deletion): page through
    # the log once it stopped growing, or a late entry reads as a paging error.
    for _ in range(50):
        await asyncio.sleep(0.3)
        again = await entries(api, headers)
        if [e["id"] for e in again["entries"]] == [e["id"] for e in body["entries"]]:
            break
        body = again
    by_type = {e["event_type"]: e for e in body["entries"]}
    action = by_type["integration.action-executed"]
    assert action["action_id"] == "echo" and action["status"] == "success"
    assert action["connection_id"] == cid and action["connector_id"] == "echoapi"
    assert action["details"]["duration_ms"] >= 0
    assert by_type["integration.disconnected"]["details"] == {"reason": "user"}
    assert by_type["credential.changed"]["connector_id"] == "echoapi"  # filled in from the connection
    assert "good-key" not in str(body)
    created = [e["created_at"] for e in body["entries"]]
    assert created == sorted(created, reverse=True)

    # Keyset pages of one, following next_cursor, list every entry once.
    seen, cursor = [], None
    while True:
        page = await entries(api, headers, f"?limit=1{'&cursor=' + cursor if cursor else ''}")
        seen += [e["id"] for e in page["entries"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [e["id"] for e in body["entries"]]

    only = await entries(api, headers, f"?event_type=integration.action-executed&connection_id={cid}")
    assert [e["event_type"] for e in only["entries"]] == ["integration.action-executed"]
    future = (datetime.now(UTC) + timedelta(hours=1)).isoformat().replace("+00:00", "Z")
    assert (await entries(api, headers, f"?since={future}"))["entries"] == []
    bad = await api.get("/v1/audit?cursor=garbage", headers=headers)
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_cursor"
    # A time without an offset is UTC; times that do not exist in UTC and odd types are 4xx.
    naive = (datetime.now(UTC) + timedelta(hours=1)).replace(tzinfo=None).isoformat()
    assert (await entries(api, headers, f"?since={naive}"))["entries"] == []
    far_back = base64.urlsafe_b64encode(f"0001-01-01T00:00:00+14:00|{uuid.uuid4()}".encode()).decode()
    overflow = await api.get(f"/v1/audit?cursor={far_back}", headers=headers)
    assert overflow.status_code == 400 and overflow.json()["error"]["code"] == "invalid_cursor"
    early = await api.get("/v1/audit", params={"since": "0001-01-01T00:00:00+14:00"}, headers=headers)
    assert early.status_code == 400 and early.json()["error"]["code"] == "invalid_since"
    nul = await api.get("/v1/audit", params={"event_type": "a\x00b"}, headers=headers)
    assert nul.status_code == 422

    # A redelivered event (same ce_id) adds nothing; a later one on the same key is projected.
    event_id = action["event_id"]
    repeat = IntegrationActionExecuted(
        tenant_id=tenant, connection_id=uuid.UUID(cid), connector_id="echoapi", action_id="echo",
        result=ActionResultSummary(success=True), duration_ms=1,
    )  # fmt: skip
    await producer.publish(repeat, event_id=event_id)
    marker = IntegrationActionExecuted(
        tenant_id=tenant, connection_id=uuid.UUID(cid), connector_id="echoapi", action_id="marker",
        result=ActionResultSummary(success=False, error_code="x", error_message="failed"), duration_ms=2,
    )  # fmt: skip
    await producer.publish(marker)

    async def marker_projected():
        body = await entries(api, headers, "?event_type=integration.action-executed")
        return body if any(e["action_id"] == "marker" for e in body["entries"]) else None

    actions = (await wait_for(marker_projected))["entries"]
    assert sorted(e["action_id"] for e in actions) == ["echo", "marker"]
    assert next(e for e in actions if e["action_id"] == "marker")["status"] == "failure"


async def test_core_has_no_audit_log(api, auth, tenant, container):
    headers = auth(tenant, "core")
    resp = await api.get("/v1/audit", headers=headers)
    assert resp.status_code == 403
    assert resp.json()["error"]["code"] == "feature_not_in_tier"
    assert resp.json()["error"]["details"]["required_tier"] == "writerpro"
    cid = (
        await api.post(
            "/v1/connections",
            json={"connector_id": "echoapi", "name": "x", "credentials": {"api_key": "good-key"}},
            headers=headers,
        )
    ).json()["id"]
    event = IntegrationConnected(tenant_id=tenant, connection_id=uuid.UUID(cid), connector_id="echoapi",
                                 external_account_id="a")  # fmt: skip
    assert await container.audit.project(str(uuid.uuid4()), event) is False


async def test_events_for_connections_the_tenant_does_not_own_are_not_audited(api, auth, tenant, container):
    await api.get("/v1/license", headers=auth(tenant, "enterprise"))
    stray = IntegrationConnected(tenant_id=tenant, connection_id=uuid.uuid4(), connector_id="echoapi",
                                 external_account_id="a")  # fmt: skip
    assert await container.audit.project(str(uuid.uuid4()), stray) is False


async def test_retention_is_purged_per_tier(api, auth, container, db):
    now = datetime.now(UTC)
    tenants = {
        tier: f"ret-{tier}-{uuid.uuid4().hex[:6]}" for tier in ("core", "writerpro", "teams", "enterprise")
    }
    for tier, tenant in tenants.items():
        await api.get("/v1/license", headers=auth(tenant, tier))
    ages = [1, 29, 31, 89, 91, 400]
    for tenant in tenants.values():
        for days in ages:
            entry = AuditEntry(
                event_id=f"{tenant}-{days}",
                tenant_id=tenant,
                connection_id=None,
                event_type="integration.connected",
                created_at=now - timedelta(days=days),
            )
            assert await audit_rows.insert(db, entry)

    # Before the purge, the API already hides what the tier no longer keeps.
    shown = (await api.get("/v1/audit?limit=200", headers=auth(tenants["writerpro"], "writerpro"))).json()
    assert sorted(e["event_id"] for e in shown["entries"]) == sorted(
        f"{tenants['writerpro']}-{d}" for d in (1, 29)
    )

    await container.audit.purge(now)

    async def kept(tenant):
        rows = await db.fetch("SELECT event_id FROM integrations_audit_log WHERE tenant_id = $1", tenant)
        return sorted(int(r["event_id"].rsplit("-", 1)[1]) for r in rows)

    assert await kept(tenants["core"]) == []
    assert await kept(tenants["writerpro"]) == [1, 29]
    assert await kept(tenants["teams"]) == [1, 29, 31, 89]
    assert await kept(tenants["enterprise"]) == ages


async def test_consumer_dedupe_ids_are_forgotten_after_their_retention(container, db):
    now = datetime.now(UTC)
    consumer = f"test-{uuid.uuid4().hex[:8]}"
    ages = {"fresh": 1, "week": 7, "old": 15, "older": 90}
    for name, days in ages.items():
        await db.execute(
            "INSERT INTO processed_events (consumer, event_id, processed_at) VALUES ($1, $2, $3)",
            consumer,
            name,
            now - timedelta(days=days),
        )
    forgotten = await container.connection_events.forget_old_ids(now)
    assert forgotten >= 2  # other tests' rows may be old enough too
    left = await db.fetch("SELECT event_id FROM processed_events WHERE consumer = $1", consumer)
    assert sorted(r["event_id"] for r in left) == ["fresh", "week"]  # 14 days by default
    index = await db.fetchval(
        "SELECT 1 FROM pg_indexes WHERE schemaname = 'connectors' "
        "AND indexname = 'processed_events_processed_at'"
    )
    assert index == 1
