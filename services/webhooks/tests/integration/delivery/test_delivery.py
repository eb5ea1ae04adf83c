"""Subscriptions and signed pushes against real Postgres, Kafka, vault and HTTP subscribers.

Pushes are verified with ``standardwebhooks`` (the Standard Webhooks reference library, which
shares no code with the hub)."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from standardwebhooks import Webhook, WebhookVerificationError

from hub_common.events import IntegrationTriggerFired
from hub_common.testing.events import expect_events

pytestmark = pytest.mark.integration


async def _subscribe(api, auth, tenant, receiver, name, **extra):
    body = {"url": f"{receiver.url}/hooks/{name}", **extra}
    resp = await api.post("/v1/webhooks/subscriptions", json=body, headers=auth(tenant))
    assert resp.status_code == 201, resp.text
    out = resp.json()
    assert out["secret"].startswith("whsec_")
    return out


def _fired(tenant, connection_id, n=0, trigger_id="issue_opened") -> IntegrationTriggerFired:
    return IntegrationTriggerFired(
        tenant_id=tenant,
        connection_id=connection_id,
        connector_id="github",
        trigger_id=trigger_id,
        payload={"n": n, "title": f"issue {n}"},
        source_delivery_id=f"gh-{uuid.uuid4()}",
    )


def _verify(secret, headers, body):
    return Webhook(secret).verify(
        body, {k: headers[k] for k in ("webhook-id", "webhook-timestamp", "webhook-signature")}
    )


async def test_a_push_is_signed_and_logged(api, auth, tenant, receiver, container, settings, wait_for):
    name = uuid.uuid4().hex
    sub = await _subscribe(api, auth, tenant, receiver, name, trigger_ids=["issue_opened"])
    connection = uuid.uuid4()
    async with expect_events(
        settings.kafka_bootstrap, "webhook.delivered", match=lambda e: e["tenant_id"] == tenant, timeout_s=30
    ) as delivered:
        await container.infra.producer.publish(_fired(tenant, connection, 1))
        await container.infra.producer.publish(_fired(tenant, connection, 2, trigger_id="push"))  # not wanted
        await wait_for(lambda: receiver.to(name))
    headers, body = receiver.to(name)[0]
    verified = _verify(sub["secret"], headers, body)
    assert verified["type"] == "integration.trigger-fired"
    assert verified["data"]["trigger_id"] == "issue_opened" and verified["data"]["payload"]["n"] == 1
    with pytest.raises(WebhookVerificationError):
        Webhook("whsec_" + "QUFB" * 8).verify(body, headers)
    assert delivered[0].data["webhook_id"] == headers["webhook-id"]

    log = await api.get(
        "/v1/webhooks/deliveries", params={"subscription_id": sub["id"]}, headers=auth(tenant)
    )
    assert log.status_code == 200, log.text
    [entry] = log.json()["deliveries"]
    assert entry["id"] == headers["webhook-id"] and entry["status"] == "delivered"
    assert [a["outcome"] for a in entry["attempt_log"]] == ["delivered"]
    async with container.infra.pool.acquire() as conn:  # stored as a JSON object, not a string
        stored = await conn.fetchval(
            "SELECT payload->>'trigger_id' FROM integrations_webhook_deliveries WHERE id = $1",
            uuid.UUID(entry["id"]),
        )
    assert stored == "issue_opened"
    # Another tenant sees nothing of it.
    other = await api.get(f"/v1/webhooks/deliveries/{entry['id']}", headers=auth("someone-else"))
    assert other.status_code == 404 and other.json()["error"]["code"] == "delivery_not_found"
    assert (
        await api.get(f"/v1/webhooks/subscriptions/{sub['id']}", headers=auth("someone-else"))
    ).status_code == 404


async def test_retries_keep_the_webhook_id_and_honour_retry_after(
    api, auth, tenant, receiver, container, wait_for
):
    name = uuid.uuid4().hex
    receiver.answers[name] = [(503, {"Retry-After": "1"}), (500, {})]
    sub = await _subscribe(api, auth, tenant, receiver, name)
    await container.infra.producer.publish(_fired(tenant, uuid.uuid4()))
    await wait_for(lambda: len(receiver.to(name)) == 3)
    ids = {h["webhook-id"] for h, _ in receiver.to(name)}
    assert len(ids) == 1
    delivery_id = ids.pop()

    async def logged():
        resp = await api.get(f"/v1/webhooks/deliveries/{delivery_id}", headers=auth(tenant))
        return resp.json() if resp.json()["status"] == "delivered" else None

    entry = await wait_for(logged)
    attempts = entry["attempt_log"]
    assert [(a["attempt_number"], a["status_code"], a["outcome"]) for a in attempts] == [
        (1, 503, "failed"),
        (2, 500, "failed"),
        (3, 200, "delivered"),
    ]
    # The subscriber asked for 1 s; the schedule said 0.2 s: Retry-After won.
    gap = datetime.fromisoformat(attempts[1]["started_at"]) - datetime.fromisoformat(
        attempts[0]["started_at"]
    )
    assert gap >= timedelta(seconds=1), gap
    assert entry["subscription_id"] == sub["id"]


async def test_410_disables_and_dead_letters_then_redrive_delivers(
    api, auth, tenant, receiver, container, settings, wait_for
):
    name = uuid.uuid4().hex
    receiver.answers[name] = [(410, {})]
    sub = await _subscribe(api, auth, tenant, receiver, name)
    async with expect_events(
        settings.kafka_bootstrap,
        "webhook.subscription-disabled",
        match=lambda e: e["subscription_id"] == sub["id"],
        timeout_s=30,
    ) as disabled:
        await container.infra.producer.publish(_fired(tenant, uuid.uuid4()))
    assert "410" in disabled[0].data["reason"]
    got = (await api.get(f"/v1/webhooks/subscriptions/{sub['id']}", headers=auth(tenant))).json()
    assert got["status"] == "disabled" and "410" in got["disabled_reason"]
    dead = await api.get("/v1/webhooks/deliveries", params={"status": "dead"}, headers=auth(tenant))
    assert [d["subscription_id"] for d in dead.json()["deliveries"]] == [sub["id"]]

    again = await api.patch(
        f"/v1/webhooks/subscriptions/{sub['id']}", json={"status": "active"}, headers=auth(tenant)
    )
    assert again.status_code == 200 and again.json()["status"] == "active"
    redriven = await api.post(
        "/v1/webhooks/deliveries/redrive", json={"subscription_id": sub["id"]}, headers=auth(tenant)
    )
    assert redriven.json() == {"replayed": 1}
    await wait_for(lambda: len(receiver.to(name)) == 2)
    first, second = receiver.to(name)
    assert first[0]["webhook-id"] == second[0]["webhook-id"]


async def test_exhausted_schedule_dead_letters_with_a_final_event(
    api, auth, tenant, receiver, container, settings, wait_for
):
    name = uuid.uuid4().hex
    receiver.answers[name] = [(500, {})] * 4
    await _subscribe(api, auth, tenant, receiver, name)
    async with expect_events(
        settings.kafka_bootstrap,
        "webhook.delivery-failed",
        match=lambda e: e["tenant_id"] == tenant,
        count=4,
        timeout_s=30,
    ) as failed:
        await container.infra.producer.publish(_fired(tenant, uuid.uuid4()))
    assert [(e.data["attempt_number"], e.data["final"]) for e in failed] == [
        (1, False),
        (2, False),
        (3, False),
        (4, True),
    ]
    replay = await api.post(
        "/v1/webhooks/deliveries/replay",
        json={"since": (datetime.now(UTC) - timedelta(minutes=5)).isoformat()},
        headers=auth(tenant),
    )
    assert replay.json() == {"replayed": 1}
    await wait_for(lambda: len(receiver.to(name)) == 5)


async def test_rotation_signs_with_both_secrets(api, auth, tenant, receiver, container, wait_for):
    name = uuid.uuid4().hex
    sub = await _subscribe(api, auth, tenant, receiver, name)
    rotated = await api.post(f"/v1/webhooks/subscriptions/{sub['id']}/rotate-secret", headers=auth(tenant))
    assert rotated.status_code == 200, rotated.text
    new = rotated.json()["secret"]
    assert new != sub["secret"] and rotated.json()["previous_secret_valid_until"]
    await container.infra.producer.publish(_fired(tenant, uuid.uuid4()))
    await wait_for(lambda: receiver.to(name))
    headers, body = receiver.to(name)[0]
    assert len(headers["webhook-signature"].split(" ")) == 2
    _verify(sub["secret"], headers, body)
    _verify(new, headers, body)


async def test_one_connection_arrives_in_order(api, auth, tenant, receiver, container, wait_for):
    name = uuid.uuid4().hex
    receiver.answers[name] = [(500, {})]  # the first fails: the rest must wait behind it
    await _subscribe(api, auth, tenant, receiver, name, max_concurrency=8)
    connection = uuid.uuid4()
    for n in range(20):
        await container.infra.producer.publish(_fired(tenant, connection, n))
    await wait_for(lambda: len(receiver.to(name)) == 21)
    order = [json.loads(b)["data"]["payload"]["n"] for _, b in receiver.to(name)]
    assert order == [0, *range(20)]


async def test_bad_input_and_tiers(api, auth, tenant, receiver):
    refused = await api.post(
        "/v1/webhooks/subscriptions", json={"url": "http://169.254.169.254/latest"}, headers=auth(tenant)
    )
    assert refused.status_code == 400 and refused.json()["error"]["code"] == "url_not_allowed"
    core = await api.post(
        "/v1/webhooks/subscriptions",
        json={"url": f"{receiver.url}/hooks/x"},
        headers=auth(tenant, tier="core"),
    )
    assert core.status_code == 403 and core.json()["error"]["details"]["required_tier"] == "writerpro"
    unknown = await api.post(
        "/v1/webhooks/subscriptions",
        json={"url": f"{receiver.url}/hooks/x", "event_types": ["nope"]},
        headers=auth(tenant),
    )
    assert unknown.status_code == 422 and unknown.json()["error"]["code"] == "unknown_event_type"
    assert (await api.get("/v1/webhooks/subscriptions/not-a-uuid", headers=auth(tenant))).status_code == 404


async def test_retention_purges_finished_deliveries_and_their_attempts(
    api, auth, tenant, receiver, container, wait_for
):
    name = uuid.uuid4().hex
    await _subscribe(api, auth, tenant, receiver, name)  # WriterPro: 30 days
    await container.infra.producer.publish(_fired(tenant, uuid.uuid4()))
    await wait_for(lambda: receiver.to(name))

    async def counts():
        async with container.infra.pool.acquire() as conn:
            return await conn.fetchrow(
                "SELECT (SELECT count(*) FROM integrations_webhook_deliveries WHERE tenant_id = $1) AS d,"
                " (SELECT count(*) FROM integrations_webhook_deliveries WHERE tenant_id = $1"
                " AND status = 'delivered') AS done,"
                " (SELECT count(*) FROM integrations_webhook_delivery_attempts WHERE tenant_id = $1) AS a",
                tenant,
            )

    await wait_for(lambda: _logged(counts))
    await container.retention.purge()
    assert tuple(await counts()) == (1, 1, 1)  # young: kept
    await container.retention.purge(now=datetime.now(UTC) + timedelta(days=31))
    assert tuple(await counts()) == (0, 0, 0)


async def _logged(counts) -> bool:
    row = await counts()
    return row["done"] == 1 and row["a"] == 1


async def test_a_rate_limited_subscription_gets_everything_and_the_log_has_no_phantom_attempts(
    api, auth, tenant, receiver, container, wait_for
):
    name = uuid.uuid4().hex
    sub = await _subscribe(api, auth, tenant, receiver, name, rate_limit=2, max_concurrency=8)
    for n in range(8):  # eight connections: eight queue heads due at once, two tokens a second
        await container.infra.producer.publish(_fired(tenant, uuid.uuid4(), n))
    await wait_for(lambda: len(receiver.to(name)) == 8, timeout_s=30)

    async def all_delivered():
        resp = await api.get(
            "/v1/webhooks/deliveries", params={"subscription_id": sub["id"]}, headers=auth(tenant)
        )
        found = resp.json()["deliveries"]
        return found if len(found) == 8 and all(d["status"] == "delivered" for d in found) else None

    found = await wait_for(all_delivered)
    # Claims the rate limit gave back left no attempt behind: one per push.
    assert all([a["outcome"] for a in d["attempt_log"]] == ["delivered"] for d in found)


async def test_subscriptions_page_by_cursor_and_never_show_another_tenant(api, auth, tenant, receiver):
    made = [(await _subscribe(api, auth, tenant, receiver, f"page-{n}"))["id"] for n in range(5)]
    await _subscribe(api, auth, f"{tenant}-other", receiver, "page-other")
    seen: list[str] = []
    cursor: str | None = None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        resp = await api.get("/v1/webhooks/subscriptions", params=params, headers=auth(tenant))
        assert resp.status_code == 200, resp.text
        seen += [s["id"] for s in resp.json()["subscriptions"]]
        cursor = resp.json()["next_cursor"]
        if cursor is None:
            break
    assert seen == list(reversed(made))
    bad = await api.get("/v1/webhooks/subscriptions", params={"cursor": "%%"}, headers=auth(tenant))
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_cursor"
