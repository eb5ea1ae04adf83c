"""Jira trigger parsers on the example payloads of Atlassian's webhook documentation
(developer.atlassian.com, Jira Cloud platform → Webhooks: "Example callback for an issue-related
event" and the comment event), and the ``atlassian-jwt`` verification of a delivery."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from hub_connector_atlassian import JiraConnector
from hub_connector_sdk import WebhookVerificationError, verify_webhook
from hub_connector_sdk.testkit import parse_webhook
from hub_e2e.simulators.atlassian import jwt_hs256

pytestmark = pytest.mark.unit
HEADERS = {"X-Atlassian-Webhook-Identifier": "b7d6c5e4-0000-4000-8000-000000000001"}
USER = {
    "self": "https://your-domain.atlassian.net/rest/api/2/user?accountId=99:27935d01",
    "accountId": "99:27935d01-92a7-4687-8272-a9b8d3b2ae2e",
    "displayName": "Bryan Rollins [Atlassian]",
    "active": True,
}
ISSUE = {
    "id": "99291",
    "self": "https://your-domain.atlassian.net/rest/api/2/issue/99291",
    "key": "JRA-20002",
    "fields": {
        "summary": "I feel the need for speed",
        "created": "2009-12-16T23:46:10.612-0600",
        "description": "Make the issue nav load 10x faster",
        "labels": ["UI", "dialogue", "move"],
        "priority": {"name": "Minor"},
        "status": {"name": "In Progress"},
        "issuetype": {"name": "Bug"},
        "project": {"key": "JRA"},
        "assignee": {"accountId": "99:27935d01", "displayName": "Bryan"},
    },
}
UPDATED = {
    "timestamp": 1525698237764,
    "webhookEvent": "jira:issue_updated",
    "issue_event_type_name": "issue_generic",
    "user": USER,
    "issue": ISSUE,
    "changelog": {
        "id": "10010",
        "items": [
            {
                "toString": "A new summary.",
                "to": None,
                "fromString": "What is going on here?????",
                "from": None,
                "fieldtype": "jira",
                "field": "summary",
            },
            {
                "toString": "In Progress",
                "to": "10001",
                "fromString": "To Do",
                "from": "10000",
                "fieldtype": "jira",
                "field": "status",
            },
        ],
    },
}


def test_issue_updated_fires_updated_and_status_changed_with_the_event_time_and_id():
    events = {e.trigger_id: e for e in parse_webhook(JiraConnector, UPDATED, headers=HEADERS)}
    assert set(events) == {"issue_updated", "status_changed"}
    moved = events["status_changed"]
    assert moved.payload["from_status"] == "To Do" and moved.payload["to_status"] == "In Progress"
    assert moved.payload["issue"]["key"] == "JRA-20002"
    assert moved.payload["issue"]["description"] == "Make the issue nav load 10x faster"
    assert moved.event_id == HEADERS["X-Atlassian-Webhook-Identifier"]
    assert moved.occurred_at == datetime.fromtimestamp(1525698237.764, UTC)
    assert events["issue_updated"].payload["changes"][0]["field"] == "summary"


def test_an_assignee_change_fires_issue_assigned():
    payload = {
        **UPDATED,
        "changelog": {
            "items": [
                {
                    "field": "assignee",
                    "fieldtype": "jira",
                    "from": None,
                    "fromString": None,
                    "to": "99:27935d01",
                    "toString": "Bryan",
                }
            ]
        },
    }
    (assigned,) = [
        e for e in parse_webhook(JiraConnector, payload, headers=HEADERS) if e.trigger_id != "issue_updated"
    ]
    assert assigned.trigger_id == "issue_assigned"
    assert (
        assigned.payload["to_assignee_account_id"] == "99:27935d01"
        and assigned.payload["to_assignee"] == "Bryan"
    )


def test_issue_created_and_comment_created():
    created = {**UPDATED, "webhookEvent": "jira:issue_created", "issue_event_type_name": "issue_created"}
    del created["changelog"]
    (event,) = parse_webhook(JiraConnector, created, headers=HEADERS)
    assert event.trigger_id == "issue_created" and event.payload["changes"] == []
    comment = {
        "timestamp": 1525698237764,
        "webhookEvent": "comment_created",
        "comment": {
            "self": "https://your-domain.atlassian.net/rest/api/2/issue/99291/comment/252789",
            "id": "252789",
            "author": USER,
            "created": "2018-05-07T13:03:57.764+0000",
            "body": {
                "type": "doc",
                "version": 1,
                "content": [
                    {
                        "type": "paragraph",
                        "content": [
                            {"type": "text", "text": "Looks good, "},
                            {"type": "mention", "attrs": {"id": "1", "text": "@Ada"}},
                        ],
                    }
                ],
            },
        },
        "issue": ISSUE,
    }
    (event,) = parse_webhook(JiraConnector, comment, headers=HEADERS)
    assert event.trigger_id == "comment_created"
    assert (
        event.payload["comment"]["body"] == "Looks good, @Ada" and event.payload["comment"]["id"] == "252789"
    )


def test_an_update_without_status_or_assignee_change_fires_only_issue_updated():
    payload = {**UPDATED, "changelog": {"items": [UPDATED["changelog"]["items"][0]]}}
    assert [e.trigger_id for e in parse_webhook(JiraConnector, payload, headers=HEADERS)] == ["issue_updated"]


def test_a_delivery_verifies_with_the_app_client_secret_and_nothing_else():
    body = json.dumps(UPDATED).encode()
    now = 1_800_000_000
    token = jwt_hs256({"iss": "jira", "iat": now, "exp": now + 180}, "client-secret")
    headers = {**HEADERS, "Authorization": f"Bearer {token}"}
    spec = JiraConnector.manifest().webhook_signature
    assert spec is not None
    verified = verify_webhook(spec, "client-secret", headers, body, now=now)
    assert verified.delivery_id == HEADERS["X-Atlassian-Webhook-Identifier"]
    with pytest.raises(WebhookVerificationError):
        verify_webhook(spec, "another-secret", headers, body, now=now)
