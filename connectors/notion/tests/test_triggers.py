"""Each trigger's parser on Notion's webhook events, the ``notion`` signature verifier, and the
re-fetch that completes a thin event.

Notion publishes no machine-readable webhook description (none is in the specs folder), so the
event schema below is written from the field list of its reference ("Webhook events": every
event has ``id``, ``timestamp``, ``workspace_id``, ``workspace_name``, ``subscription_id``,
``integration_id``, ``authors``, ``attempt_number``, ``api_version``, ``type``, ``entity``,
``data``); the example events follow the examples of its "Event types & delivery" page. The
simulator's events are held to the same schema, so the e2e tests send what Notion sends.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from starlette.requests import Request

from hub_connector_notion import NotionConnector
from hub_connector_sdk import WebhookVerificationError, sign_webhook, verify_webhook
from hub_connector_sdk.testkit import GatewayStub, parse_webhook
from hub_e2e.simulators.notion import NotionSimulator
from hub_e2e.simulators.notion_objects import page

pytestmark = pytest.mark.unit
_UUID = {"type": "string", "pattern": "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"}
_REF = {"type": "object", "required": ["id", "type"], "properties": {"id": _UUID, "type": {"type": "string"}}}
EVENT_SCHEMA = Draft202012Validator(
    {
        "type": "object",
        "required": [
            "id",
            "timestamp",
            "workspace_id",
            "workspace_name",
            "subscription_id",
            "integration_id",
            "authors",
            "attempt_number",
            "type",
            "entity",
            "data",
        ],
        "properties": {
            "id": {"type": "string"},
            "timestamp": {"type": "string", "format": "date-time"},
            "workspace_id": _UUID,
            "workspace_name": {"type": "string"},
            "subscription_id": _UUID,
            "integration_id": _UUID,
            "authors": {"type": "array", "items": _REF, "maxItems": 100},
            "accessible_by": {"type": "array", "items": _REF, "maxItems": 100},
            "attempt_number": {"type": "integer", "minimum": 1, "maximum": 8},
            "api_version": {"enum": ["2022-06-28", "2025-09-03", "2026-03-11"]},
            "type": {"type": "string"},
            "entity": _REF,
            "data": {"type": "object"},
        },
    }
)
PAGE_ID = "153104cd-477e-809d-8dc4-ff2d96ae3090"


def example(kind: str, entity: str = "page", **data: Any) -> dict[str, Any]:
    return {
        "id": "367cba44-b6f3-4c92-81e7-6a2e9659efd4",
        "timestamp": "2024-12-05T23:55:34.285Z",
        "workspace_id": "13950b26-c203-4f3b-b97d-93ec06319565",
        "workspace_name": "Quantify Labs",
        "subscription_id": "29d75c0d-5546-4414-8459-7b7a92f1fc4b",
        "integration_id": "0ef2e755-4912-8096-91c1-00376a88a5ca",
        "type": kind,
        "authors": [{"id": "c7c11cca-1d73-471d-9b6e-bdef51470190", "type": "person"}],
        "accessible_by": [{"id": "556a1abf-4f08-40c6-878a-75890d2a88ba", "type": "person"}],
        "attempt_number": 1,
        "api_version": "2025-09-03",
        "entity": {
            "id": PAGE_ID if entity == "page" else "153104cd-477e-80ec-b2a7-001d8e0dc7f2",
            "type": entity,
        },
        "data": data,
    }


SPACE = {"parent": {"id": "13950b26-c203-4f3b-b97d-93ec06319565", "type": "space"}}
CASES = [
    ("page_created", example("page.created", **SPACE)),
    (
        "page_updated",
        example(
            "page.content_updated",
            **SPACE,
            updated_blocks=[{"id": "153104cd-477e-80ec-b2a7-001d8e0dc7f2", "type": "block"}],
        ),
    ),
    ("page_updated", example("page.properties_updated", **SPACE, updated_properties=["XGe%40", "bDf%5B"])),
    (
        "comment_created",
        example("comment.created", "comment", page_id=PAGE_ID, parent={"id": PAGE_ID, "type": "page"}),
    ),
]


@pytest.mark.parametrize(("trigger_id", "event"), CASES, ids=[c[1]["type"] for c in CASES])
def test_trigger_parses_notions_event_with_its_id_and_time(trigger_id, event):
    assert list(EVENT_SCHEMA.iter_errors(event)) == []
    (fired,) = parse_webhook(NotionConnector, event)
    assert fired.trigger_id == trigger_id and fired.event_id == event["id"]
    assert fired.dedupe_key == f"notion:{event['id']}:{trigger_id}"
    assert fired.occurred_at == datetime(2024, 12, 5, 23, 55, 34, 285000, tzinfo=UTC)
    assert fired.payload["page_id"] == PAGE_ID and fired.payload["event_type"] == event["type"]
    assert fired.payload["workspace_id"] == event["workspace_id"] and fired.payload["page"] is None


def test_what_changed_is_kept():
    (content,) = parse_webhook(NotionConnector, CASES[1][1])
    assert content.payload["updated_blocks"] == ["153104cd-477e-80ec-b2a7-001d8e0dc7f2"]
    (props,) = parse_webhook(NotionConnector, CASES[2][1])
    assert props.payload["updated_properties"] == ["XGe%40", "bDf%5B"]
    (comment,) = parse_webhook(NotionConnector, CASES[3][1])
    assert comment.payload["comment_id"] == "153104cd-477e-80ec-b2a7-001d8e0dc7f2"


def test_every_trigger_is_covered_and_other_events_fire_nothing():
    assert {c[0] for c in CASES} == {t.id for t in NotionConnector.manifest().triggers}
    assert parse_webhook(NotionConnector, example("page.deleted", **SPACE)) == []
    assert parse_webhook(NotionConnector, {"verification_token": "secret_" + "a" * 40}) == []


def test_the_simulators_events_have_notions_shape():
    sim = NotionSimulator.load()
    request = Request({"type": "http", "method": "POST", "path": "/", "headers": [], "query_string": b""})
    for kind in ("page.created", "page.content_updated", "page.properties_updated", "comment.created"):
        event = sim.build_event(request, kind, None, {})
        assert list(EVENT_SCHEMA.iter_errors(event)) == [], kind
        (fired,) = parse_webhook(NotionConnector, event)
        assert fired.event_id == event["id"]


# -- signatures ---------------------------------------------------------------------------------------
TOKEN = "secret_tMrlL1qK5vuQAh1b6cZGhFChZTSYJlce98V0pYn7yBl"


def test_notions_signature_verifies_as_its_reference_computes_it():
    """Notion's reference: ``X-Notion-Signature: sha256=`` + hex HMAC-SHA256 of the raw body with
    the verification token (computed here with hmac, independently of the SDK)."""
    body = json.dumps(CASES[0][1], separators=(",", ":")).encode()
    signature = "sha256=" + hmac.new(TOKEN.encode(), body, hashlib.sha256).hexdigest()
    headers = {"X-Notion-Signature": signature, "Content-Type": "application/json"}
    verify_webhook(NotionConnector.webhook_signature, TOKEN, headers, body)
    assert sign_webhook("notion", TOKEN, body) == {"X-Notion-Signature": signature}


@pytest.mark.parametrize(
    "tamper",
    ["body", "token", "missing", "prefix"],
)
def test_a_wrong_or_missing_signature_is_refused(tamper):
    body = json.dumps(CASES[0][1]).encode()
    headers = dict(sign_webhook("notion", TOKEN, body))
    token = TOKEN
    if tamper == "body":
        body = body.replace(b"page.created", b"page.deleted")
    elif tamper == "token":
        token = TOKEN + "x"
    elif tamper == "missing":
        headers = {}
    else:
        headers["X-Notion-Signature"] = headers["X-Notion-Signature"].removeprefix("sha256=")
    with pytest.raises(WebhookVerificationError):
        verify_webhook(NotionConnector.webhook_signature, token, headers, body)


# -- the re-fetch of thin events ------------------------------------------------------------------------
def fired_events() -> list[Any]:
    return [e for _, ev in CASES for e in parse_webhook(NotionConnector, ev)]


async def test_refetch_adds_the_page_as_it_is_now_once_per_page(stub: GatewayStub):
    stub.route("GET", "/pages/{page_id}", (200, page(PAGE_ID, "Now titled")))
    connector = stub.connector(NotionConnector)
    completed = await connector.refetch_trigger_events(fired_events())
    assert [e.payload["page"]["title"] for e in completed] == ["Now titled"] * 4
    assert [e.event_id for e in completed] == [e.event_id for e in fired_events()]
    assert len(stub.calls) == 1 and stub.calls[0].headers["notion-version"]


async def test_a_page_gone_still_fires_and_an_outage_raises(stub: GatewayStub):
    gone = {"object": "error", "status": 404, "code": "object_not_found", "message": "Could not find page"}
    stub.route("GET", "/pages/{page_id}", status=404, json=gone)
    connector = stub.connector(NotionConnector)
    (event,) = await connector.refetch_trigger_events(fired_events()[:1])
    assert event.payload["page"] is None and "object_not_found" in event.payload["page_unavailable"]

    down = GatewayStub()
    busy = {"object": "error", "status": 529, "code": "service_unavailable", "message": "overloaded"}
    down.route("GET", "/pages/{page_id}", status=529, json=busy, headers={"Retry-After": "5"})
    from hub_connector_sdk import ProviderError

    with pytest.raises(ProviderError) as raised:
        await down.connector(NotionConnector).refetch_trigger_events(fired_events()[:1])
    assert raised.value.code == "provider_unavailable" and raised.value.retry_after_s == 5
