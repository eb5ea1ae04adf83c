"""GitLab's entities (users, projects, issues, merge requests, notes, hooks) and its webhook
payloads, built from the simulator's state.

API field sets follow GitLab's REST documentation (the entities of gitlab-v4.json and, for the
operations it lacks, the facts of gitlab-missing.md); webhook payloads follow GitLab's "Webhook
events" documentation (``object_kind``, ``user``, ``project``, ``object_attributes``...). API
times are ISO 8601 with milliseconds; webhook payloads write issue and merge request times as
``2024-05-01T12:00:00Z`` and note times as ``2024-05-01 12:00:00 UTC``, as GitLab's examples do.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from hub_e2e.simulators.crypto import stable_number


def now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def iso(moment: datetime | None) -> str | None:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000Z") if moment else None


def hook_time(moment: datetime | None) -> str | None:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ") if moment else None


def note_time(moment: datetime | None) -> str | None:
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC") if moment else None


def sha_of(*parts: str) -> str:
    return hashlib.sha1("\x00".join(parts).encode(), usedforsecurity=False).hexdigest()


def user_id(username: str) -> int:
    return stable_number("user", username)  # the same id the OAuth identity call gives


@dataclass
class Note:
    id: int
    body: str
    author: str
    internal: bool = False
    created_at: datetime = field(default_factory=now)


@dataclass
class Issue:
    id: int
    iid: int
    title: str
    description: str | None
    author: str
    labels: list[str] = field(default_factory=list)
    assignee_ids: list[int] = field(default_factory=list)
    confidential: bool = False
    state: str = "opened"
    notes: list[Note] = field(default_factory=list)
    created_at: datetime = field(default_factory=now)
    updated_at: datetime = field(default_factory=now)
    closed_at: datetime | None = None
    closed_by: str | None = None


@dataclass
class MergeRequest:
    id: int
    iid: int
    title: str
    description: str | None
    author: str
    source_branch: str
    target_branch: str
    sha: str
    labels: list[str] = field(default_factory=list)
    squash: bool = False
    state: str = "opened"
    merged_at: datetime | None = None
    merged_by: str | None = None
    merge_commit_sha: str | None = None
    squash_commit_sha: str | None = None
    created_at: datetime = field(default_factory=now)
    updated_at: datetime = field(default_factory=now)


@dataclass
class Hook:
    id: int
    url: str
    token: str | None
    signing_token: str | None
    flags: dict[str, bool]
    enable_ssl_verification: bool = True
    created_at: datetime = field(default_factory=now)

    def wants(self, kind: str) -> bool:
        flag = {
            "issue": "issues_events",
            "merge_request": "merge_requests_events",
            "note": "note_events",
            "push": "push_events",
        }[kind]
        return self.flags.get(flag, False)


HOOK_FLAGS = (
    "push_events",
    "issues_events",
    "confidential_issues_events",
    "merge_requests_events",
    "tag_push_events",
    "note_events",
    "confidential_note_events",
    "job_events",
    "pipeline_events",
    "wiki_page_events",
    "deployment_events",
    "releases_events",
)


@dataclass
class Project:
    id: int
    namespace: str
    path: str
    default_branch: str = "main"
    issues: dict[int, Issue] = field(default_factory=dict)
    merge_requests: dict[int, MergeRequest] = field(default_factory=dict)
    hooks: dict[int, Hook] = field(default_factory=dict)
    branches: dict[str, str] = field(default_factory=dict)
    updated_at: datetime = field(default_factory=now)

    @property
    def full_path(self) -> str:
        return f"{self.namespace}/{self.path}"

    def branch_sha(self, name: str) -> str:
        return self.branches.setdefault(name, sha_of(self.full_path, name))


def user_basic(web: str, username: str) -> dict[str, Any]:
    return {
        "id": user_id(username),
        "username": username,
        "name": username.replace("-", " ").title(),
        "state": "active",
        "locked": False,
        "avatar_url": f"{web}/uploads/-/system/user/avatar/{user_id(username)}/avatar.png",
        "web_url": f"{web}/{username}",
    }


def user(web: str, username: str) -> dict[str, Any]:
    """``GET /user`` (gitlab-missing.md: a user object; receivers must allow extra fields)."""
    return {
        **user_basic(web, username),
        "email": f"{username}@example.test",
        "created_at": "2024-01-01T00:00:00.000Z",
        "bot": False,
        "two_factor_enabled": False,
        "external": False,
        "private_profile": False,
        "can_create_project": True,
        "projects_limit": 100000,
    }


def project(web: str, item: Project) -> dict[str, Any]:
    return {
        "id": item.id,
        "name": item.path,
        "path": item.path,
        "path_with_namespace": item.full_path,
        "name_with_namespace": f"{item.namespace} / {item.path}",
        "default_branch": item.default_branch,
        "web_url": f"{web}/{item.full_path}",
        "last_activity_at": iso(item.updated_at),
    }


def issue(web: str, proj: Project, item: Issue, users: dict[int, str]) -> dict[str, Any]:
    assignees = [user_basic(web, users[i]) for i in item.assignee_ids if i in users]
    url = f"{web}/{proj.full_path}/-/issues/{item.iid}"
    return {
        "id": item.id,
        "iid": item.iid,
        "project_id": proj.id,
        "title": item.title,
        "description": item.description,
        "state": item.state,
        "type": "ISSUE",
        "issue_type": "issue",
        "created_at": iso(item.created_at),
        "updated_at": iso(item.updated_at),
        "closed_at": iso(item.closed_at),
        "closed_by": user_basic(web, item.closed_by) if item.closed_by else None,
        "labels": list(item.labels),
        "milestone": None,
        "assignees": assignees,
        "assignee": assignees[0] if assignees else None,
        "author": user_basic(web, item.author),
        "user_notes_count": len(item.notes),
        "upvotes": 0,
        "downvotes": 0,
        "merge_requests_count": 0,
        "confidential": item.confidential,
        "discussion_locked": None,
        "due_date": None,
        "web_url": url,
        "references": {
            "short": f"#{item.iid}",
            "relative": f"#{item.iid}",
            "full": f"{proj.full_path}#{item.iid}",
        },
        "_links": {"self": f"{web}/api/v4/projects/{proj.id}/issues/{item.iid}"},
    }


def note(web: str, proj: Project, parent: Issue, item: Note) -> dict[str, Any]:
    return {
        "id": item.id,
        "body": item.body,
        "attachment": None,
        "author": user_basic(web, item.author),
        "created_at": iso(item.created_at),
        "updated_at": iso(item.created_at),
        "system": False,
        "noteable_id": parent.id,
        "noteable_type": "Issue",
        "noteable_iid": parent.iid,
        "project_id": proj.id,
        "resolvable": False,
        "confidential": item.internal,
        "internal": item.internal,
        "imported": False,
        "imported_from": "none",
    }


def merge_request(web: str, proj: Project, item: MergeRequest) -> dict[str, Any]:
    mergeable = item.state == "opened"
    return {
        "id": item.id,
        "iid": item.iid,
        "project_id": proj.id,
        "title": item.title,
        "description": item.description,
        "state": item.state,
        "created_at": iso(item.created_at),
        "updated_at": iso(item.updated_at),
        "merged_by": user_basic(web, item.merged_by) if item.merged_by else None,
        "merge_user": user_basic(web, item.merged_by) if item.merged_by else None,
        "merged_at": iso(item.merged_at),
        "closed_at": None,
        "target_branch": item.target_branch,
        "source_branch": item.source_branch,
        "author": user_basic(web, item.author),
        "assignees": [],
        "reviewers": [],
        "source_project_id": proj.id,
        "target_project_id": proj.id,
        "labels": list(item.labels),
        "draft": item.title.lower().startswith(("draft:", "[draft]")),
        "work_in_progress": False,
        "merge_when_pipeline_succeeds": False,
        "merge_status": "can_be_merged" if mergeable else "cannot_be_merged",
        "detailed_merge_status": "mergeable" if mergeable else "not_open",
        "sha": item.sha,
        "merge_commit_sha": item.merge_commit_sha,
        "squash_commit_sha": item.squash_commit_sha,
        "squash": item.squash,
        "reference": f"!{item.iid}",
        "references": {
            "short": f"!{item.iid}",
            "relative": f"!{item.iid}",
            "full": f"{proj.full_path}!{item.iid}",
        },
        "web_url": f"{web}/{proj.full_path}/-/merge_requests/{item.iid}",
        "has_conflicts": False,
        "user_notes_count": 0,
    }


def hook(proj: Project, item: Hook) -> dict[str, Any]:
    """The project hook entity (never the token or the signing token)."""
    return {
        "id": item.id,
        "url": item.url,
        "project_id": proj.id,
        "created_at": iso(item.created_at),
        "enable_ssl_verification": item.enable_ssl_verification,
        "alert_status": "executable",
        "disabled_until": None,
        "token_present": item.token is not None,
        "signing_token_present": item.signing_token is not None,
        **{flag: item.flags.get(flag, False) for flag in HOOK_FLAGS},
    }


# -- webhook payloads ---------------------------------------------------------------------------------
def hook_user(web: str, username: str) -> dict[str, Any]:
    basic = user_basic(web, username)
    return {k: basic[k] for k in ("id", "name", "username", "avatar_url")} | {"email": "[REDACTED]"}


def hook_project(web: str, proj: Project) -> dict[str, Any]:
    url = f"{web}/{proj.full_path}"
    return {
        "id": proj.id,
        "name": proj.path,
        "description": None,
        "web_url": url,
        "avatar_url": None,
        "git_ssh_url": f"git@sim.test:{proj.full_path}.git",
        "git_http_url": f"{url}.git",
        "namespace": proj.namespace,
        "visibility_level": 0,
        "path_with_namespace": proj.full_path,
        "default_branch": proj.default_branch,
        "homepage": url,
        "url": f"git@sim.test:{proj.full_path}.git",
    }


def _hook_labels(proj: Project, names: list[str]) -> list[dict[str, Any]]:
    return [
        {
            "id": stable_number("label", proj.full_path, n, digits=6),
            "title": n,
            "color": "#428BCA",
            "project_id": proj.id,
            "type": "ProjectLabel",
        }
        for n in names
    ]


def issue_hook(web: str, proj: Project, item: Issue, sender: str, action: str) -> dict[str, Any]:
    return {
        "object_kind": "issue",
        "event_type": "confidential_issue" if item.confidential else "issue",
        "user": hook_user(web, sender),
        "project": hook_project(web, proj),
        "object_attributes": {
            "id": item.id,
            "iid": item.iid,
            "title": item.title,
            "description": item.description,
            "author_id": user_id(item.author),
            "assignee_ids": list(item.assignee_ids),
            "project_id": proj.id,
            "created_at": hook_time(item.created_at),
            "updated_at": hook_time(item.updated_at),
            "closed_at": hook_time(item.closed_at),
            "confidential": item.confidential,
            "state": item.state,
            "type": "Issue",
            "url": f"{web}/{proj.full_path}/-/issues/{item.iid}",
            "labels": _hook_labels(proj, item.labels),
            "action": action,
        },
        "labels": _hook_labels(proj, item.labels),
        "changes": {},
        "repository": {
            "name": proj.path,
            "url": f"{web}/{proj.full_path}.git",
            "homepage": f"{web}/{proj.full_path}",
        },
    }


def merge_request_hook(
    web: str, proj: Project, item: MergeRequest, sender: str, action: str
) -> dict[str, Any]:
    return {
        "object_kind": "merge_request",
        "event_type": "merge_request",
        "user": hook_user(web, sender),
        "project": hook_project(web, proj),
        "object_attributes": {
            "id": item.id,
            "iid": item.iid,
            "title": item.title,
            "description": item.description,
            "source_branch": item.source_branch,
            "target_branch": item.target_branch,
            "source_project_id": proj.id,
            "target_project_id": proj.id,
            "author_id": user_id(item.author),
            "created_at": hook_time(item.created_at),
            "updated_at": hook_time(item.updated_at),
            "state": item.state,
            "merge_status": "can_be_merged",
            "detailed_merge_status": "mergeable" if item.state == "opened" else "not_open",
            "merge_commit_sha": item.merge_commit_sha,
            "draft": False,
            "work_in_progress": False,
            "url": f"{web}/{proj.full_path}/-/merge_requests/{item.iid}",
            "last_commit": {
                "id": item.sha,
                "message": f"{item.title}\n",
                "title": item.title,
                "timestamp": hook_time(item.created_at),
                "url": f"{web}/{proj.full_path}/-/commit/{item.sha}",
                "author": {"name": item.author, "email": "[REDACTED]"},
            },
            "labels": _hook_labels(proj, item.labels),
            "action": action,
        },
        "labels": _hook_labels(proj, item.labels),
        "changes": {},
        "repository": {
            "name": proj.path,
            "url": f"{web}/{proj.full_path}.git",
            "homepage": f"{web}/{proj.full_path}",
        },
    }


def note_hook(web: str, proj: Project, parent: Issue, item: Note, sender: str) -> dict[str, Any]:
    return {
        "object_kind": "note",
        "event_type": "note",
        "user": hook_user(web, sender),
        "project_id": proj.id,
        "project": hook_project(web, proj),
        "object_attributes": {
            "id": item.id,
            "note": item.body,
            "noteable_type": "Issue",
            "author_id": user_id(item.author),
            "created_at": note_time(item.created_at),
            "updated_at": note_time(item.created_at),
            "project_id": proj.id,
            "noteable_id": parent.id,
            "system": False,
            "internal": item.internal,
            "url": f"{web}/{proj.full_path}/-/issues/{parent.iid}#note_{item.id}",
        },
        "issue": {
            "id": parent.id,
            "iid": parent.iid,
            "title": parent.title,
            "description": parent.description,
            "state": parent.state,
            "project_id": proj.id,
            "created_at": note_time(parent.created_at),
            "updated_at": note_time(parent.updated_at),
        },
        "repository": {
            "name": proj.path,
            "url": f"{web}/{proj.full_path}.git",
            "homepage": f"{web}/{proj.full_path}",
        },
    }


def push_hook(web: str, proj: Project, sender: str, branch: str, message: str, stamp: str) -> dict[str, Any]:
    before = proj.branch_sha(branch)
    after = sha_of(before, message, stamp)
    proj.branches[branch] = after
    commit = {
        "id": after,
        "message": f"{message}\n",
        "title": message,
        "timestamp": hook_time(now()),
        "url": f"{web}/{proj.full_path}/-/commit/{after}",
        "author": {"name": sender, "email": "[REDACTED]"},
        "added": [],
        "modified": ["README.md"],
        "removed": [],
    }
    return {
        "object_kind": "push",
        "event_name": "push",
        "before": before,
        "after": after,
        "ref": f"refs/heads/{branch}",
        "ref_protected": branch == proj.default_branch,
        "checkout_sha": after,
        "user_id": user_id(sender),
        "user_name": sender.replace("-", " ").title(),
        "user_username": sender,
        "user_email": "[REDACTED]",
        "project_id": proj.id,
        "project": hook_project(web, proj),
        "commits": [commit],
        "total_commits_count": 1,
        "repository": {
            "name": proj.path,
            "url": f"{web}/{proj.full_path}.git",
            "homepage": f"{web}/{proj.full_path}",
        },
    }
