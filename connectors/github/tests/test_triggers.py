"""Each trigger's parser on GitHub's webhook payloads: payloads built by the GitHub simulator
and checked against github-webhooks.json's payload schemas first (the description carries an
example only for ``ping``), then parsed as the hub parses a verified delivery. Each event carries
the delivery id (``X-GitHub-Delivery``) and the event's own time, not the time of receipt."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import pytest

from hub_connector_github import GitHubConnector
from hub_connector_sdk.testkit import parse_webhook

pytestmark = pytest.mark.unit

CASES = [
    # trigger, GitHub event, action, where the payload says when it happened
    ("issue_opened", "issues", "opened", ("issue", "created_at")),
    ("issue_closed", "issues", "closed", ("issue", "closed_at")),
    ("issue_commented", "issue_comment", "created", ("comment", "created_at")),
    ("pull_request_opened", "pull_request", "opened", ("pull_request", "created_at")),
    ("pull_request_merged", "pull_request", "closed", ("pull_request", "merged_at")),
    ("push", "push", None, ("head_commit", "timestamp")),
]


def delivery(simulator, sim_request, event: str, action: str | None, **data: Any) -> tuple[dict, dict]:
    payload = simulator.build_event(sim_request, event, action, data)
    schema = simulator.payload_schema(event, action)
    assert simulator.webhook_guard.problems(schema, payload) == [], f"{schema} payload breaks the description"
    headers = {"X-GitHub-Event": event, "X-GitHub-Delivery": str(uuid.uuid4()), "X-GitHub-Hook-ID": "1"}
    return payload, headers


@pytest.mark.parametrize(("trigger_id", "event", "action", "time_at"), CASES)
def test_trigger_parses_githubs_payload_with_delivery_id_and_event_time(
    simulator, sim_request, trigger_id, event, action, time_at
):
    payload, headers = delivery(simulator, sim_request, event, action)
    (fired,) = parse_webhook(GitHubConnector, payload, headers=headers)
    assert fired.trigger_id == trigger_id
    assert fired.event_id == headers["X-GitHub-Delivery"]
    assert fired.dedupe_key == f"github:{headers['X-GitHub-Delivery']}:{trigger_id}"
    part, name = time_at
    assert fired.occurred_at == datetime.fromisoformat(payload[part][name])
    assert fired.payload["repository"]["full_name"] == payload["repository"]["full_name"]


def test_every_trigger_is_covered():
    assert {c[0] for c in CASES} == {t.id for t in GitHubConnector.manifest().triggers}


def test_closing_a_pull_request_without_merging_fires_nothing(simulator, sim_request):
    payload, headers = delivery(simulator, sim_request, "pull_request", "closed", merged=False)
    assert payload["pull_request"]["merged"] is False and payload["pull_request"]["state"] == "closed"
    assert parse_webhook(GitHubConnector, payload, headers=headers) == []


def test_the_descriptions_ping_example_fires_nothing(simulator):
    example = simulator.webhook_guard.document["components"]["examples"]["ping"]["value"]
    headers = {"X-GitHub-Event": "ping", "X-GitHub-Delivery": str(uuid.uuid4())}
    assert parse_webhook(GitHubConnector, example, headers=headers) == []


def test_issue_payload_is_normalised(simulator, sim_request):
    payload, headers = delivery(simulator, sim_request, "issues", "opened", title="Normalised", login="mona")
    (fired,) = parse_webhook(GitHubConnector, payload, headers=headers)
    issue = fired.payload["issue"]
    assert issue["title"] == "Normalised" and issue["author"] == "mona" and issue["is_pull_request"] is False
    assert fired.payload["sender"]["login"] == "mona"
