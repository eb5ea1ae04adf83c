"""Each trigger's parser on Linear's webhook payloads (conftest.py: the documented shape and
the documentation's comment example), parsed as the hub parses a verified delivery: the event id
is ``Linear-Delivery``, the time is the payload's ``createdAt`` (when it happened), and a status
change is an update whose ``updatedFrom`` names the previous ``stateId``."""

from __future__ import annotations

import uuid
from datetime import datetime

import pytest

from hub_connector_linear import LinearConnector
from hub_connector_sdk.testkit import parse_webhook

pytestmark = pytest.mark.unit


def headers(kind: str) -> dict[str, str]:
    return {"Linear-Delivery": str(uuid.uuid4()), "Linear-Event": kind, "Content-Type": "application/json"}


def test_issue_created(issue_created_payload):
    payload, sent = issue_created_payload, headers("Issue")
    (fired,) = parse_webhook(LinearConnector, payload, headers=sent)
    assert fired.trigger_id == "issue_created"
    assert fired.event_id == sent["Linear-Delivery"]
    assert fired.dedupe_key == f"linear:{sent['Linear-Delivery']}:issue_created"
    assert fired.occurred_at == datetime.fromisoformat("2020-01-23T12:40:02.301+00:00")
    issue = fired.payload["issue"]
    assert issue["identifier"] == "LIN-1778" and issue["state_name"] == "Todo" and issue["team_key"] == "LIN"
    assert fired.payload["actor"]["name"] == "Linear Rep" and fired.payload["changed"] == []


def test_a_state_change_fires_issue_updated_and_status_changed(issue_moved_payload):
    payload, sent = issue_moved_payload, headers("Issue")
    fired = {f.trigger_id: f for f in parse_webhook(LinearConnector, payload, headers=sent)}
    assert set(fired) == {"issue_updated", "status_changed"}
    change = fired["status_changed"].payload
    assert change["status"] == {
        "from_state_id": "2bd5b2b7-1a4a-4a4d-8b0c-7a2b7c3a4b5c",
        "to_state_id": "7c1f9d2e-3b4a-4c5d-8e6f-0a1b2c3d4e5f",
        "to_state_name": "Done",
        "to_state_type": "completed",
    }
    assert fired["issue_updated"].payload["changed"] == ["completedAt", "sortOrder", "stateId"]
    assert {f.event_id for f in fired.values()} == {sent["Linear-Delivery"]}
    assert len({f.dedupe_key for f in fired.values()}) == 2  # one delivery, two triggers
    assert fired["status_changed"].occurred_at == datetime.fromisoformat("2020-01-24T09:15:00+00:00")


def test_an_update_without_a_state_change_is_no_status_change(issue_retitled_payload):
    (fired,) = parse_webhook(LinearConnector, issue_retitled_payload, headers=headers("Issue"))
    assert fired.trigger_id == "issue_updated" and fired.payload["changed"] == ["title"]


def test_the_documentations_comment_example(comment_created):
    sent = headers("Comment")
    (fired,) = parse_webhook(LinearConnector, comment_created, headers=sent)
    assert fired.trigger_id == "comment_created" and fired.event_id == sent["Linear-Delivery"]
    comment = fired.payload["comment"]
    assert comment["body"] == "Indeed, now fixed."
    assert comment["issue_id"] == "539068e2-ae88-4d09-bd75-22eb4a59612f"
    assert comment["user_id"] == "aacdca22-6266-4c0a-ab3c-8fa70a26765c"
    assert fired.occurred_at == datetime.fromisoformat("2020-01-23T12:53:18.084+00:00")


def test_events_without_a_trigger_fire_nothing(issue_created_payload):
    removed = {**issue_created_payload, "action": "remove"}
    project = {**issue_created_payload, "type": "Project"}
    assert parse_webhook(LinearConnector, removed, headers=headers("Issue")) == []
    assert parse_webhook(LinearConnector, project, headers=headers("Project")) == []


def test_every_trigger_is_covered():
    covered = {"issue_created", "issue_updated", "status_changed", "comment_created"}
    assert covered == {t.id for t in LinearConnector.manifest().triggers}
