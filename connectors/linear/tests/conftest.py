"""Fixtures for the Linear connector's tests: a gateway stub that validates every GraphQL
document (with its variables) against linear-schema.graphql (the SDK's contract harness; the
tests are skipped without the schema, see HUB_SPECS_DIR)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from hub_connector_sdk.testkit import GatewayStub
from hub_connector_sdk.testkit.contract import provider_contract


@pytest.fixture
def stub() -> GatewayStub:
    return GatewayStub(spec=provider_contract("linear"), check_responses=True)


# -- webhook payloads ----------------------------------------------------------------------------------
# Linear webhook payloads of the documented shape (Linear's developer documentation, "Webhooks":
# ``action``, ``actor``, ``createdAt``, ``data``, ``updatedFrom``, ``url``, ``type``, ``organizationId``,
# ``webhookTimestamp``, ``webhookId``). Linear publishes no machine-readable webhook description,
# so these are written out here: ``COMMENT_CREATED`` is the comment example of that page, the issue
# payloads carry the fields Linear's Issue webhooks carry (ids plus embedded ``state`` and ``team``).

ACTOR = {
    "id": "2e6eea91-1111-0000-9486-acea0603064d",
    "type": "user",
    "name": "Linear Rep",
    "email": "rep@linear.app",
    "url": "https://linear.app/linear/profiles/rep",
}
ORGANIZATION = "c8f8aea6-8c7c-4e0d-9b84-3f43d5b1c0f0"
WEBHOOK = "000042e3-d123-4980-b49f-8e140eef9329"

COMMENT_CREATED: dict[str, Any] = {
    "action": "create",
    "actor": ACTOR,
    "createdAt": "2020-01-23T12:53:18.084Z",
    "data": {
        "id": "2174add1-f7c8-44e3-bbf3-2d60b5ea8bc9",
        "createdAt": "2020-01-23T12:53:18.084Z",
        "updatedAt": "2020-01-23T12:53:18.084Z",
        "archivedAt": None,
        "body": "Indeed, now fixed.",
        "edited": False,
        "issueId": "539068e2-ae88-4d09-bd75-22eb4a59612f",
        "userId": "aacdca22-6266-4c0a-ab3c-8fa70a26765c",
    },
    "url": "https://linear.app/issue/LIN-1778/foo-bar#comment-77a7e1e9",
    "type": "Comment",
    "organizationId": ORGANIZATION,
    "webhookTimestamp": 1676056940508,
    "webhookId": WEBHOOK,
}

_ISSUE_DATA: dict[str, Any] = {
    "id": "539068e2-ae88-4d09-bd75-22eb4a59612f",
    "createdAt": "2020-01-23T12:40:02.301Z",
    "updatedAt": "2020-01-23T12:40:02.301Z",
    "archivedAt": None,
    "number": 1778,
    "identifier": "LIN-1778",
    "title": "Foo bar",
    "description": "Steps to reproduce...",
    "priority": 2,
    "priorityLabel": "High",
    "boardOrder": 0,
    "sortOrder": -1234.5,
    "url": "https://linear.app/linear/issue/LIN-1778/foo-bar",
    "teamId": "72b2a2dc-6f4f-4423-9d34-24b5bd10634a",
    "team": {"id": "72b2a2dc-6f4f-4423-9d34-24b5bd10634a", "key": "LIN", "name": "Linear"},
    "stateId": "2bd5b2b7-1a4a-4a4d-8b0c-7a2b7c3a4b5c",
    "state": {
        "id": "2bd5b2b7-1a4a-4a4d-8b0c-7a2b7c3a4b5c",
        "color": "#e2e2e2",
        "name": "Todo",
        "type": "unstarted",
    },
    "assigneeId": None,
    "creatorId": "aacdca22-6266-4c0a-ab3c-8fa70a26765c",
    "labelIds": ["f2a3b4c5-0000-4000-8000-000000000001"],
    "labels": [{"id": "f2a3b4c5-0000-4000-8000-000000000001", "color": "#eb5757", "name": "Bug"}],
    "subscriberIds": ["aacdca22-6266-4c0a-ab3c-8fa70a26765c"],
}


def issue_created() -> dict[str, Any]:
    return {
        "action": "create",
        "actor": ACTOR,
        "createdAt": "2020-01-23T12:40:02.301Z",
        "data": copy.deepcopy(_ISSUE_DATA),
        "url": _ISSUE_DATA["url"],
        "type": "Issue",
        "organizationId": ORGANIZATION,
        "webhookTimestamp": 1579783202301,
        "webhookId": WEBHOOK,
    }


def issue_moved_to_done() -> dict[str, Any]:
    """An update whose ``updatedFrom`` carries the previous ``stateId``: a status change."""
    data = copy.deepcopy(_ISSUE_DATA)
    data["updatedAt"] = "2020-01-24T09:15:00.000Z"
    data["completedAt"] = "2020-01-24T09:15:00.000Z"
    data["stateId"] = "7c1f9d2e-3b4a-4c5d-8e6f-0a1b2c3d4e5f"
    data["state"] = {"id": data["stateId"], "color": "#5e6ad2", "name": "Done", "type": "completed"}
    return {
        "action": "update",
        "actor": ACTOR,
        "createdAt": "2020-01-24T09:15:00.000Z",
        "data": data,
        "updatedFrom": {
            "updatedAt": "2020-01-23T12:40:02.301Z",
            "stateId": _ISSUE_DATA["stateId"],
            "completedAt": None,
            "sortOrder": -1234.5,
        },
        "url": data["url"],
        "type": "Issue",
        "organizationId": ORGANIZATION,
        "webhookTimestamp": 1579857300000,
        "webhookId": WEBHOOK,
    }


def issue_retitled() -> dict[str, Any]:
    """An update that changes the title only: an update, not a status change."""
    payload = issue_moved_to_done()
    payload["data"]["title"] = "Foo bar baz"
    payload["data"]["state"] = copy.deepcopy(_ISSUE_DATA["state"])
    payload["data"]["stateId"] = _ISSUE_DATA["stateId"]
    payload["updatedFrom"] = {"updatedAt": "2020-01-23T12:40:02.301Z", "title": "Foo bar"}
    return payload


@pytest.fixture
def comment_created() -> dict[str, Any]:
    return copy.deepcopy(COMMENT_CREATED)


@pytest.fixture
def issue_created_payload() -> dict[str, Any]:
    return issue_created()


@pytest.fixture
def issue_moved_payload() -> dict[str, Any]:
    return issue_moved_to_done()


@pytest.fixture
def issue_retitled_payload() -> dict[str, Any]:
    return issue_retitled()
