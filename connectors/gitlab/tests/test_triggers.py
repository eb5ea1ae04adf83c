"""Each trigger's parser on GitLab's documented webhook payloads.

The payloads below follow the examples of GitLab's "Webhook events" documentation (issue, merge
request, note and push events; shortened to the fields the connector reads plus a few it must
ignore, with the documentation's two time formats). Each event carries the delivery's
``Idempotency-Key`` as its id and the event's own time, not the time of receipt.
"""

from __future__ import annotations

import copy
import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from hub_connector_gitlab import GitLabConnector
from hub_connector_sdk.testkit import parse_webhook

pytestmark = pytest.mark.unit

USER = {
    "id": 1,
    "name": "Administrator",
    "username": "root",
    "avatar_url": "http://www.gravatar.com/avatar/x",
    "email": "admin@example.com",
}
PROJECT = {
    "id": 1,
    "name": "Gitlab Test",
    "description": "Aut reprehenderit ut est.",
    "web_url": "http://example.com/gitlabhq/gitlab-test",
    "avatar_url": None,
    "git_ssh_url": "git@example.com:gitlabhq/gitlab-test.git",
    "git_http_url": "http://example.com/gitlabhq/gitlab-test.git",
    "namespace": "GitlabHQ",
    "visibility_level": 20,
    "path_with_namespace": "gitlabhq/gitlab-test",
    "default_branch": "master",
}
LABEL = {
    "id": 206,
    "title": "API",
    "color": "#ffffff",
    "project_id": 14,
    "created_at": "2013-12-03T17:15:43Z",
    "updated_at": "2013-12-03T17:15:43Z",
    "template": False,
    "description": "API related issues",
    "type": "ProjectLabel",
    "group_id": 41,
}
ISSUE_EVENT = {
    "object_kind": "issue",
    "event_type": "issue",
    "user": USER,
    "project": PROJECT,
    "object_attributes": {
        "id": 301,
        "title": "New API: create/update/delete file",
        "assignee_ids": [51],
        "assignee_id": 51,
        "author_id": 51,
        "project_id": 14,
        "created_at": "2013-12-03T17:15:43Z",
        "updated_at": "2013-12-03T17:15:43Z",
        "updated_by_id": 1,
        "description": "Create new API for manipulations with repository",
        "milestone_id": None,
        "state_id": 1,
        "confidential": False,
        "discussion_locked": True,
        "due_date": None,
        "iid": 23,
        "url": "http://example.com/diaspora/issues/23",
        "state": "opened",
        "action": "open",
        "severity": "high",
        "labels": [LABEL],
        "type": "Issue",
    },
    "repository": {"name": "Gitlab Test", "url": "http://example.com/gitlabhq/gitlab-test.git"},
    "labels": [LABEL],
    "changes": {"updated_by_id": {"previous": None, "current": 1}},
}
MR_EVENT = {
    "object_kind": "merge_request",
    "event_type": "merge_request",
    "user": USER,
    "project": PROJECT,
    "object_attributes": {
        "id": 99,
        "iid": 1,
        "target_branch": "master",
        "source_branch": "ms-viewport",
        "source_project_id": 14,
        "author_id": 51,
        "assignee_ids": [6],
        "title": "MS-Viewport",
        "created_at": "2013-12-03T17:23:34Z",
        "updated_at": "2013-12-03T17:23:34Z",
        "milestone_id": None,
        "state": "opened",
        "blocking_discussions_resolved": True,
        "work_in_progress": False,
        "draft": False,
        "first_contribution": True,
        "merge_status": "unchecked",
        "target_project_id": 14,
        "description": "",
        "url": "http://example.com/diaspora/merge_requests/1",
        "last_commit": {
            "id": "da1560886d4f094c3e6c9ef40349f7d38b5d27d7",
            "message": "fixed readme",
            "title": "Update file README.md",
            "timestamp": "2012-01-03T23:36:29+02:00",
            "url": "http://example.com/awesome_space/awesome_project/commits/da1560886d4f094c3e6c9ef40349f7d38b5d27d7",
            "author": {"name": "GitLab dev user", "email": "gitlabdev@dv6700.(none)"},
        },
        "labels": [LABEL],
        "action": "open",
        "detailed_merge_status": "mergeable",
    },
    "labels": [LABEL],
    "changes": {},
}
NOTE_EVENT = {
    "object_kind": "note",
    "event_type": "note",
    "user": USER,
    "project_id": 5,
    "project": PROJECT,
    "object_attributes": {
        "id": 1241,
        "note": "Hello world",
        "noteable_type": "Issue",
        "author_id": 1,
        "created_at": "2015-05-17 17:06:40 UTC",
        "updated_at": "2015-05-17 17:06:40 UTC",
        "project_id": 5,
        "attachment": None,
        "line_code": None,
        "commit_id": "",
        "noteable_id": 92,
        "system": False,
        "st_diff": None,
        "url": "http://example.com/gitlab-org/gitlab-test/issues/17#note_1241",
    },
    "issue": {
        "id": 92,
        "title": "test",
        "assignee_ids": [],
        "assignee_id": None,
        "author_id": 1,
        "project_id": 5,
        "created_at": "2015-04-12 14:53:17 UTC",
        "updated_at": "2015-04-26 08:28:42 UTC",
        "iid": 17,
        "description": "test",
        "state": "closed",
        "labels": [],
    },
}
PUSH_EVENT = {
    "object_kind": "push",
    "event_name": "push",
    "before": "95790bf891e76fee5e1747ab589903a6a1f80f22",
    "after": "da1560886d4f094c3e6c9ef40349f7d38b5d27d7",
    "ref": "refs/heads/master",
    "ref_protected": True,
    "checkout_sha": "da1560886d4f094c3e6c9ef40349f7d38b5d27d7",
    "user_id": 4,
    "user_name": "John Smith",
    "user_username": "jsmith",
    "user_email": "john@example.com",
    "user_avatar": "https://s.gravatar.com/avatar/x",
    "project_id": 15,
    "project": PROJECT,
    "commits": [
        {
            "id": "b6568db1bc1dcd7f8b4d5a946b0b91f9dacd7327",
            "message": "Update Catalan translation to e38cb41.",
            "title": "Update Catalan translation to e38cb41.",
            "timestamp": "2011-12-12T14:27:31+02:00",
            "url": "http://example.com/mike/diaspora/commit/b6568db1bc1dcd7f8b4d5a946b0b91f9dacd7327",
            "author": {"name": "Jordi Mallach", "email": "jordi@softcatala.org"},
            "added": ["CHANGELOG"],
            "modified": ["app/controller/application.rb"],
            "removed": [],
        },
        {
            "id": "da1560886d4f094c3e6c9ef40349f7d38b5d27d7",
            "message": "fixed readme",
            "title": "fixed readme",
            "timestamp": "2012-01-03T23:36:29+02:00",
            "url": "http://example.com/mike/diaspora/commit/da1560886d4f094c3e6c9ef40349f7d38b5d27d7",
            "author": {"name": "GitLab dev user", "email": "gitlabdev@dv6700.(none)"},
            "added": ["CHANGELOG"],
            "modified": ["app/controller/application.rb"],
            "removed": [],
        },
    ],
    "total_commits_count": 4,
    "repository": {"name": "Diaspora", "url": "git@example.com:mike/diaspora.git"},
}


def variant(base: dict[str, Any], **attrs: Any) -> dict[str, Any]:
    payload = copy.deepcopy(base)
    payload["object_attributes"].update(attrs)
    return payload


CASES = [
    # trigger, payload, the time it must carry
    ("issue_opened", ISSUE_EVENT, datetime(2013, 12, 3, 17, 15, 43, tzinfo=UTC)),
    (
        "issue_closed",
        variant(ISSUE_EVENT, action="close", state="closed", closed_at="2013-12-04T09:00:00Z"),
        datetime(2013, 12, 4, 9, 0, 0, tzinfo=UTC),
    ),
    ("merge_request_opened", MR_EVENT, datetime(2013, 12, 3, 17, 23, 34, tzinfo=UTC)),
    (
        "merge_request_merged",
        variant(MR_EVENT, action="merge", state="merged", updated_at="2013-12-05T10:00:00Z"),
        datetime(2013, 12, 5, 10, 0, 0, tzinfo=UTC),
    ),
    ("note_added", NOTE_EVENT, datetime(2015, 5, 17, 17, 6, 40, tzinfo=UTC)),
    ("push", PUSH_EVENT, datetime(2012, 1, 3, 23, 36, 29, tzinfo=timezone(timedelta(hours=2)))),
]
EVENT_HEADER = {
    "issue": "Issue Hook",
    "merge_request": "Merge Request Hook",
    "note": "Note Hook",
    "push": "Push Hook",
}


def headers_for(payload: dict[str, Any]) -> dict[str, str]:
    return {
        "X-Gitlab-Event": EVENT_HEADER[payload["object_kind"]],
        "Idempotency-Key": str(uuid.uuid4()),
        "X-Gitlab-Event-UUID": str(uuid.uuid4()),
    }


@pytest.mark.parametrize(("trigger_id", "payload", "occurred"), CASES)
def test_trigger_parses_the_documented_payload_with_delivery_id_and_event_time(trigger_id, payload, occurred):
    headers = headers_for(payload)
    (fired,) = parse_webhook(GitLabConnector, payload, headers=headers)
    assert fired.trigger_id == trigger_id
    assert fired.event_id == headers["Idempotency-Key"]
    assert fired.dedupe_key == f"gitlab:{headers['Idempotency-Key']}:{trigger_id}"
    assert fired.occurred_at == occurred
    assert fired.payload["project"]["path_with_namespace"] == "gitlabhq/gitlab-test"


def test_every_trigger_is_covered():
    assert {c[0] for c in CASES} == {t.id for t in GitLabConnector.manifest().triggers}


@pytest.mark.parametrize("action", ["update", "reopen"])
def test_other_issue_actions_fire_nothing(action):
    payload = variant(ISSUE_EVENT, action=action)
    assert parse_webhook(GitLabConnector, payload, headers=headers_for(payload)) == []


def test_payloads_are_normalised():
    (issue,) = parse_webhook(GitLabConnector, ISSUE_EVENT, headers=headers_for(ISSUE_EVENT))
    assert issue.payload["issue"]["labels"] == ["API"] and issue.payload["issue"]["iid"] == 23
    assert issue.payload["user"] == {"id": 1, "username": "root", "name": "Administrator"}
    (mr,) = parse_webhook(GitLabConnector, MR_EVENT, headers=headers_for(MR_EVENT))
    assert mr.payload["merge_request"]["sha"] == "da1560886d4f094c3e6c9ef40349f7d38b5d27d7"
    (note,) = parse_webhook(GitLabConnector, NOTE_EVENT, headers=headers_for(NOTE_EVENT))
    assert note.payload["note"]["body"] == "Hello world" and note.payload["issue"]["iid"] == 17
    assert note.payload["merge_request"] is None
    (push,) = parse_webhook(GitLabConnector, PUSH_EVENT, headers=headers_for(PUSH_EVENT))
    assert push.payload["branch"] == "master" and push.payload["user"]["username"] == "jsmith"
    assert [c["author"] for c in push.payload["commits"]] == ["Jordi Mallach", "GitLab dev user"]


def test_a_payload_without_object_kind_fires_nothing():
    assert parse_webhook(GitLabConnector, {"hello": "world"}, headers={"Idempotency-Key": "x"}) == []
