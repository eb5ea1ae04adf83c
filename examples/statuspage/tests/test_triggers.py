from collections.abc import Callable
from typing import Any

import pytest

from hub_connector_sdk import ConnectorError, ProviderError, WebhookRegistration
from hub_connector_sdk.testkit import GatewayStub, parse_webhook, run_poll
from hub_connector_statuspage import StatuspageConnector

from .conftest import CONFIG

pytestmark = pytest.mark.unit
Cassette = Callable[[str], GatewayStub]
Payload = Callable[[str], dict[str, Any]]


# -- webhook triggers --
def test_an_incident_notification_fires_incident_updated(payload: Payload) -> None:
    (event,) = parse_webhook(StatuspageConnector, payload("incident_webhook"), config=CONFIG)

    assert event.trigger_id == "incident_updated"
    assert event.payload["page_id"] == "kctbh9vrtdwd"
    assert event.payload["page_status"] == "critical"
    assert event.payload["incident"]["id"] == "p31zjtct2jer"
    assert event.payload["incident"]["status"] == "identified"
    assert event.payload["incident"]["latest_update"]["body"].startswith("A faulty deploy")


def test_a_component_notification_fires_component_status_changed(payload: Payload) -> None:
    (event,) = parse_webhook(StatuspageConnector, payload("component_webhook"), config=CONFIG)

    assert event.trigger_id == "component_status_changed"
    assert event.payload == {
        "page_id": "kctbh9vrtdwd",
        "component_id": "8kbf7d35c070",
        "component_name": "API",
        "old_status": "major_outage",
        "new_status": "degraded_performance",
        "changed_at": "2026-03-02T10:30:02.811Z",
    }


def test_notifications_for_another_page_are_ignored(payload: Payload) -> None:
    assert parse_webhook(StatuspageConnector, payload("incident_webhook"), config={"page_id": "other"}) == []


def test_unknown_notifications_fire_nothing(payload: Payload) -> None:
    maintenance = {"meta": {}, "page": {"id": "kctbh9vrtdwd"}, "maintenance": {"id": "m1"}}

    assert parse_webhook(StatuspageConnector, maintenance, config=CONFIG) == []


def test_payloads_match_the_declared_schemas(payload: Payload) -> None:
    from jsonschema import Draft202012Validator

    manifest = StatuspageConnector.manifest()
    for name in ("incident_webhook", "component_webhook"):
        (event,) = parse_webhook(StatuspageConnector, payload(name), config=CONFIG)
        declared = manifest.trigger(event.trigger_id)
        assert declared is not None and declared.payload_schema is not None
        Draft202012Validator(declared.payload_schema).validate(event.payload)


async def test_webhook_subscription_and_removal(cassette: Cassette) -> None:
    stub = cassette("webhook_subscription")
    connector = stub.connector(StatuspageConnector, config=CONFIG)
    target = "https://hub.acme.test/webhooks/statuspage/reg_01HZX3"

    async with connector.client:
        registration = await connector.register_webhook(["incident_updated"], target, "unused-secret")
        await connector.unregister_webhook(registration)

    assert registration.external_id == "q5v0r9kz3xj2"
    assert registration.events == ["incident.updated", "component.updated"]
    subscribe, unsubscribe = stub.calls
    assert subscribe.json == {
        "subscriber": {"endpoint": target, "email": "ops@acme.test", "skip_confirmation_notification": True}
    }
    assert (unsubscribe.method, unsubscribe.path) == (
        "DELETE",
        "/pages/kctbh9vrtdwd/subscribers/q5v0r9kz3xj2",
    )


async def test_subscribing_needs_a_contact_email() -> None:
    connector = GatewayStub().connector(StatuspageConnector, config={"page_id": "kctbh9vrtdwd"})

    with pytest.raises(ConnectorError) as caught:
        await connector.register_webhook(["incident_updated"], "https://hub.test/w", "s")
    assert caught.value.code == "invalid_config"


async def test_removing_a_subscriber_that_is_already_gone_succeeds() -> None:
    stub = GatewayStub().route(
        "DELETE", "/pages/{page_id}/subscribers/{sid}", status=404, json={"error": "Not found"}
    )
    connector = stub.connector(StatuspageConnector, config=CONFIG)

    await connector.unregister_webhook(WebhookRegistration(external_id="gone"))

    stub.route("DELETE", "/pages/{page_id}/subscribers/{sid}", status=500, json={"error": "boom"})
    with pytest.raises(ProviderError):
        await connector.unregister_webhook(WebhookRegistration(external_id="gone"))


# -- polling trigger --
async def test_polling_starts_from_now_then_reports_new_incidents_oldest_first(cassette: Cassette) -> None:
    stub = cassette("poll_incidents")

    first = await run_poll(StatuspageConnector, "incident_created", None, config=CONFIG, stub=stub)
    second = await run_poll(StatuspageConnector, "incident_created", first.cursor, config=CONFIG, stub=stub)

    assert first.events == []  # history is not news
    assert first.cursor == "2026-02-11T16:40:12.554000+00:00|b8x6wq3rvz1m"
    # 11:15:40+01:00 is 10:15:40 UTC: after the API incident's 10:01:07 UTC
    assert [e.payload["id"] for e in second.events] == ["p31zjtct2jer", "z0c4n7m2tq8v"]
    assert [e.dedupe_key for e in second.events] == [
        "statuspage:kctbh9vrtdwd:incident:p31zjtct2jer",
        "statuspage:kctbh9vrtdwd:incident:z0c4n7m2tq8v",
    ]
    assert second.cursor == "2026-03-02T10:15:40+00:00|z0c4n7m2tq8v"
    assert all(e.trigger_id == "incident_created" for e in second.events)


async def test_polling_with_nothing_new_keeps_the_cursor() -> None:
    old = {"id": "a1", "name": "old", "status": "resolved", "created_at": "2026-01-01T00:00:00Z"}
    cursor = "2026-01-01T00:00:00+00:00|a1"

    result = await run_poll(
        StatuspageConnector,
        "incident_created",
        cursor,
        config=CONFIG,
        responses={"GET /pages/{page_id}/incidents": [old]},
    )

    assert (result.events, result.cursor) == ([], cursor)


async def test_a_page_without_incidents_starts_from_the_beginning() -> None:
    stub = GatewayStub()
    stub.route("GET", "/pages/{page_id}/incidents", [])
    first_incident = {
        "id": "n1",
        "name": "first",
        "status": "investigating",
        "created_at": "2026-04-01T12:00:00Z",
    }
    stub.route("GET", "/pages/{page_id}/incidents", [first_incident])

    baseline = await run_poll(StatuspageConnector, "incident_created", None, config=CONFIG, stub=stub)
    later = await run_poll(StatuspageConnector, "incident_created", baseline.cursor, config=CONFIG, stub=stub)

    assert baseline.events == []
    assert [e.payload["id"] for e in later.events] == ["n1"]  # not lost to the empty baseline


async def test_polling_follows_pages_until_it_reaches_seen_incidents() -> None:
    def incident(n: int) -> dict[str, Any]:
        return {
            "id": f"i{n}",
            "name": f"#{n}",
            "status": "investigating",
            "created_at": f"2026-05-01T00:{n // 60:02}:{n % 60:02}Z",
        }

    newest_first = [incident(n) for n in range(150, 0, -1)]

    def pages(request: Any) -> list[dict[str, Any]]:
        page, limit = int(request.param("page")), int(request.param("limit"))
        return newest_first[(page - 1) * limit : page * limit]

    stub = GatewayStub().route("GET", "/pages/{page_id}/incidents", pages)
    cursor = "2026-05-01T00:00:20+00:00|i20"  # incidents 1..20 were seen

    result = await run_poll(StatuspageConnector, "incident_created", cursor, config=CONFIG, stub=stub)

    assert [e.payload["id"] for e in result.events] == [f"i{n}" for n in range(21, 151)]
    assert [c.param("page") for c in stub.calls] == ["1", "2"]
    assert result.cursor == "2026-05-01T00:02:30+00:00|i150"
