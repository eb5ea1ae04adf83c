"""Confluence trigger parsers on webhook payloads shaped as Confluence documents them
("Managing webhooks" / Confluence webhook events: ``page_created``, ``page_updated`` with
``timestamp``, ``userAccountId`` and ``page``), and the ``X-Hub-Signature`` verification."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from hub_connector_atlassian import ConfluenceConnector
from hub_connector_sdk import WebhookVerificationError, verify_webhook
from hub_connector_sdk.testkit import parse_webhook, signed_delivery

pytestmark = pytest.mark.unit
PAGE = {
    "id": 557059,
    "title": "Runbook",
    "spaceKey": "OPS",
    "creatorAccountId": "557058:1b2c",
    "lastModifierAccountId": "557058:9f8e",
    "creationDate": 1594752539000,
    "modificationDate": 1594752600000,
    "version": 2,
    "self": "https://your-domain.atlassian.net/wiki/spaces/OPS/pages/557059/Runbook",
    "contentType": "page",
}


def test_page_updated_carries_the_page_and_its_modification_time():
    payload = {
        "event": "page_updated",
        "timestamp": 1594752601000,
        "userAccountId": "557058:9f8e",
        "updateTrigger": "edit_page",
        "page": PAGE,
    }
    body, headers = signed_delivery(ConfluenceConnector, payload, "admin-typed-secret")
    (event,) = parse_webhook(ConfluenceConnector, body, headers=headers, secret="admin-typed-secret")
    assert event.trigger_id == "page_updated"
    assert event.payload["page"]["id"] == "557059" and event.payload["page"]["version"] == 2
    assert event.payload["user_account_id"] == "557058:9f8e"
    assert event.occurred_at == datetime.fromtimestamp(1594752600, UTC)


def test_page_created_uses_the_creation_time_and_other_events_fire_nothing():
    created = {
        "event": "page_created",
        "timestamp": 1594752539500,
        "userAccountId": "557058:1b2c",
        "page": PAGE,
    }
    (event,) = parse_webhook(ConfluenceConnector, created)
    assert event.trigger_id == "page_created" and event.occurred_at == datetime.fromtimestamp(1594752539, UTC)
    assert parse_webhook(ConfluenceConnector, {**created, "event": "page_trashed"}) == []


def test_a_wrong_secret_is_refused():
    body = json.dumps({"event": "page_created", "page": PAGE}).encode()
    _, headers = signed_delivery(ConfluenceConnector, body, "right")
    spec = ConfluenceConnector.manifest().webhook_signature
    assert spec is not None
    with pytest.raises(WebhookVerificationError):
        verify_webhook(spec, "wrong", headers, body)
