"""webhook.received → integration.trigger-fired through the faust agent, against real Kafka and
Postgres: the connector's parser, the registration's triggers and filter, a durable dedupe that
makes a redelivered event fire nothing, counts per registration, and a dead letter for a body
the connector cannot read."""

import json
import uuid

import pytest

from hub_common.events import WebhookReceived
from hub_common.testing.events import expect_events

pytestmark = pytest.mark.component  # neighbouring services stood in (docs/testing.md)


async def _connection(api, auth, tenant) -> str:
    body = {
        "connector_id": "pagerlike",
        "name": f"pd-{uuid.uuid4().hex[:6]}",
        "credentials": {"api_key": "good-pd"},
    }
    created = await api.post("/v1/connections", json=body, headers=auth(tenant, "enterprise"))
    assert created.status_code == 201 and created.json()["status"] == "active", created.text
    return created.json()["id"]


def _received(tenant, cid, registration, delivery, incident, **extra) -> WebhookReceived:
    body = {"event": {"event_type": "incident.triggered", "data": {"id": incident}}}
    return WebhookReceived(
        tenant_id=tenant,
        connector_id="pagerlike",
        registration_id=registration,
        connection_id=uuid.UUID(cid),
        delivery_id=delivery,
        headers={"x-test": "1"},
        body=json.dumps(body),
        **extra,
    )


async def _counts(container, tenant, registration):
    async with container.infra.pool.acquire() as conn:
        row = await conn.fetchrow(
            "SELECT fired, filtered, duplicates FROM trigger_counts"
            " WHERE tenant_id = $1 AND registration_id = $2",
            tenant,
            registration,
        )
    return dict(row) if row else None


async def test_a_redelivered_event_fires_once(api, auth, tenant, container, settings, wait_for):
    cid = await _connection(api, auth, tenant)
    registration = uuid.uuid4()
    delivery = f"d-{uuid.uuid4().hex}"
    producer = container.infra.producer
    async with expect_events(
        settings.kafka_bootstrap,
        "integration.trigger-fired",
        match=lambda e: e["connection_id"] == cid,
        count=1,
        exact=True,
        timeout_s=30,
        settle_s=2.0,
    ) as seen:
        # The same provider delivery three times (a provider retry, a replay of the topic).
        for _ in range(3):
            await producer.publish(_received(tenant, cid, registration, delivery, "P1"))
        await wait_for(lambda: _counts(container, tenant, registration), timeout_s=30)
        await wait_for(lambda: _has(container, tenant, registration, fired=1, duplicates=2), timeout_s=30)
    fired = seen[0].data
    assert fired["trigger_id"] == "incident_triggered" and fired["payload"] == {"id": "P1"}
    assert fired["registration_id"] == str(registration) and fired["source_delivery_id"] == delivery
    assert fired["tenant_id"] == tenant


async def _has(container, tenant, registration, **expected):
    counts = await _counts(container, tenant, registration)
    return counts is not None and all(counts[k] == v for k, v in expected.items())


async def test_filter_and_trigger_ids_select_what_fires(api, auth, tenant, container, settings, wait_for):
    cid = await _connection(api, auth, tenant)
    registration = uuid.uuid4()
    producer = container.infra.producer
    async with expect_events(
        settings.kafka_bootstrap,
        "integration.trigger-fired",
        match=lambda e: e["connection_id"] == cid,
        count=1,
        exact=True,
        timeout_s=30,
        settle_s=2.0,
    ) as seen:
        wanted = {"id": ["P-keep"]}
        await producer.publish(_received(tenant, cid, registration, "d-1", "P-drop", filter=wanted))
        await producer.publish(_received(tenant, cid, registration, "d-2", "P-keep", filter=wanted))
        # A registration for other triggers: nothing fires, nothing is counted.
        await producer.publish(_received(tenant, cid, registration, "d-3", "P-keep", trigger_ids=["other"]))
        await wait_for(lambda: _has(container, tenant, registration, fired=1, filtered=1), timeout_s=30)
    assert [s.data["payload"]["id"] for s in seen] == ["P-keep"]


async def test_an_unreadable_body_is_dead_lettered_and_the_stream_goes_on(
    api, auth, tenant, container, settings, wait_for
):
    cid = await _connection(api, auth, tenant)
    registration = uuid.uuid4()
    producer = container.infra.producer
    bad = _received(tenant, cid, registration, "d-bad", "x").model_copy(update={"body": "{not json"})
    async with (
        expect_events(
            settings.kafka_bootstrap,
            "webhook.received.dlq",
            match=lambda e: e.get("delivery_id") == "d-bad" and e["tenant_id"] == tenant,
            timeout_s=30,
        ) as dead,
        expect_events(
            settings.kafka_bootstrap,
            "integration.trigger-fired",
            match=lambda e: e["connection_id"] == cid,
            timeout_s=30,
        ),
    ):
        await producer.publish(bad)
        await producer.publish(_received(tenant, cid, registration, "d-good", "P2"))
    assert b"invalid_webhook_body" in dead[0].headers["x-hub-dlq-error"]


async def test_dedupe_keys_past_their_retention_are_purged(api, auth, tenant, container, wait_for):
    from hub_connectors.services.triggers import TriggerProcessor

    cid = await _connection(api, auth, tenant)
    registration = uuid.uuid4()
    await container.infra.producer.publish(_received(tenant, cid, registration, "d-old", "P-old"))
    await wait_for(lambda: _has(container, tenant, registration, fired=1), timeout_s=30)

    async def keys() -> int:
        async with container.infra.pool.acquire() as conn:
            return await conn.fetchval("SELECT count(*) FROM trigger_firings WHERE tenant_id = $1", tenant)

    assert await keys() == 1
    await container.triggers.forget_old_firings()  # 14 days: a key of now is kept
    assert await keys() == 1
    purger = TriggerProcessor(container.db, container.registry, container.runtime, dedupe_retention_days=0)
    assert await purger.forget_old_firings() >= 1
    assert await keys() == 0
