"""GitHub's resource representations (users, repositories, issues, pulls, hooks) built from state.

Field sets follow the REST description's schemas (``simple-user``, ``repository``, ``issue``,
``issue-comment``, ``pull-request``, ``hook``) and the webhook payload schemas; the simulator's
tests validate every one of them against the published descriptions.
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
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ") if moment else None


def sha_of(*parts: str) -> str:
    return hashlib.sha1("\x00".join(parts).encode(), usedforsecurity=False).hexdigest()


@dataclass(frozen=True)
class Urls:
    """Where the simulator answers: ``api`` (``…`` or ``…/api/v3``) and ``web`` (its origin)."""

    api: str
    web: str


@dataclass
class Label:
    id: int
    name: str
    color: str = "ededed"


@dataclass
class Comment:
    id: int
    body: str
    author: str
    created_at: datetime = field(default_factory=now)
    updated_at: datetime = field(default_factory=now)


@dataclass
class Issue:
    number: int
    title: str
    body: str | None
    author: str
    state: str = "open"
    state_reason: str | None = None
    labels: list[Label] = field(default_factory=list)
    assignees: list[str] = field(default_factory=list)
    comments: list[Comment] = field(default_factory=list)
    created_at: datetime = field(default_factory=now)
    updated_at: datetime = field(default_factory=now)
    closed_at: datetime | None = None
    closed_by: str | None = None
    pull: Pull | None = None  # set when this number is a pull request


@dataclass
class Pull:
    head: str
    base: str
    draft: bool = False
    merged_at: datetime | None = None
    merged_by: str | None = None
    merge_commit_sha: str | None = None
    maintainer_can_modify: bool = True


@dataclass
class Hook:
    id: int
    url: str
    secret: str | None
    events: list[str]
    content_type: str = "form"
    insecure_ssl: str = "0"
    active: bool = True
    created_at: datetime = field(default_factory=now)
    updated_at: datetime = field(default_factory=now)
    last_status: str = "unused"
    last_code: int | None = None

    def wants(self, event: str) -> bool:
        return self.active and ("*" in self.events or event in self.events)


@dataclass
class Repo:
    id: int
    owner: str
    name: str
    private: bool = False
    default_branch: str = "main"
    description: str | None = None
    issues: dict[int, Issue] = field(default_factory=dict)
    hooks: dict[int, Hook] = field(default_factory=dict)
    created_at: datetime = field(default_factory=now)
    pushed_at: datetime = field(default_factory=now)

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.name}"

    def next_number(self) -> int:
        return max(self.issues, default=0) + 1


def user_id(login: str) -> int:
    return stable_number("user", login)  # the same id the OAuth side's identity call gives


def simple_user(urls: Urls, login: str) -> dict[str, Any]:
    api = f"{urls.api}/users/{login}"
    uid = user_id(login)
    return {
        "login": login,
        "id": uid,
        "node_id": f"U_sim{uid}",
        "avatar_url": f"{urls.web}/avatars/{login}",
        "gravatar_id": "",
        "url": api,
        "html_url": f"{urls.web}/{login}",
        "followers_url": f"{api}/followers",
        "following_url": f"{api}/following{{/other_user}}",
        "gists_url": f"{api}/gists{{/gist_id}}",
        "starred_url": f"{api}/starred{{/owner}}{{/repo}}",
        "subscriptions_url": f"{api}/subscriptions",
        "organizations_url": f"{api}/orgs",
        "repos_url": f"{api}/repos",
        "events_url": f"{api}/events{{/privacy}}",
        "received_events_url": f"{api}/received_events",
        "type": "User",
        "site_admin": False,
        "user_view_type": "public",
    }


def private_user(urls: Urls, login: str, repos: int) -> dict[str, Any]:
    created = "2020-01-01T00:00:00Z"
    return {
        **simple_user(urls, login),
        "user_view_type": "private",
        "name": login.replace("-", " ").title(),
        "company": None,
        "blog": "",
        "location": None,
        "email": f"{login}@example.test",
        "hireable": None,
        "bio": None,
        "twitter_username": None,
        "public_repos": repos,
        "public_gists": 0,
        "followers": 0,
        "following": 0,
        "created_at": created,
        "updated_at": created,
        "private_gists": 0,
        "total_private_repos": 0,
        "owned_private_repos": 0,
        "disk_usage": 0,
        "collaborators": 0,
        "two_factor_authentication": True,
        "plan": {"collaborators": 0, "name": "free", "space": 976562499, "private_repos": 10000},
    }


_REPO_TEMPLATES = {
    "archive_url": "/{archive_format}{/ref}",
    "assignees_url": "/assignees{/user}",
    "blobs_url": "/git/blobs{/sha}",
    "branches_url": "/branches{/branch}",
    "collaborators_url": "/collaborators{/collaborator}",
    "comments_url": "/comments{/number}",
    "commits_url": "/commits{/sha}",
    "compare_url": "/compare/{base}...{head}",
    "contents_url": "/contents/{+path}",
    "contributors_url": "/contributors",
    "deployments_url": "/deployments",
    "downloads_url": "/downloads",
    "events_url": "/events",
    "forks_url": "/forks",
    "git_commits_url": "/git/commits{/sha}",
    "git_refs_url": "/git/refs{/sha}",
    "git_tags_url": "/git/tags{/sha}",
    "hooks_url": "/hooks",
    "issue_comment_url": "/issues/comments{/number}",
    "issue_events_url": "/issues/events{/number}",
    "issues_url": "/issues{/number}",
    "keys_url": "/keys{/key_id}",
    "labels_url": "/labels{/name}",
    "languages_url": "/languages",
    "merges_url": "/merges",
    "milestones_url": "/milestones{/number}",
    "notifications_url": "/notifications{?since,all,participating}",
    "pulls_url": "/pulls{/number}",
    "releases_url": "/releases{/id}",
    "stargazers_url": "/stargazers",
    "statuses_url": "/statuses/{sha}",
    "subscribers_url": "/subscribers",
    "subscription_url": "/subscription",
    "tags_url": "/tags",
    "teams_url": "/teams",
    "trees_url": "/git/trees{/sha}",
}


def repository(urls: Urls, repo: Repo) -> dict[str, Any]:
    api = f"{urls.api}/repos/{repo.full_name}"
    html = f"{urls.web}/{repo.full_name}"
    open_issues = sum(1 for i in repo.issues.values() if i.state == "open")
    return {
        "id": repo.id,
        "node_id": f"R_sim{repo.id}",
        "name": repo.name,
        "full_name": repo.full_name,
        "owner": simple_user(urls, repo.owner),
        "private": repo.private,
        "visibility": "private" if repo.private else "public",
        "html_url": html,
        "description": repo.description,
        "fork": False,
        "url": api,
        **{name: api + suffix for name, suffix in _REPO_TEMPLATES.items()},
        "clone_url": f"{html}.git",
        "git_url": f"git://{urls.web.split('://', 1)[-1]}/{repo.full_name}.git",
        "ssh_url": f"git@sim.invalid:{repo.full_name}.git",
        "svn_url": html,
        "mirror_url": None,
        "homepage": None,
        "language": None,
        "forks": 0,
        "forks_count": 0,
        "stargazers_count": 0,
        "watchers": 0,
        "watchers_count": 0,
        "size": 0,
        "default_branch": repo.default_branch,
        "open_issues": open_issues,
        "open_issues_count": open_issues,
        "is_template": False,
        "topics": [],
        "has_issues": True,
        "has_projects": True,
        "has_wiki": True,
        "has_pages": False,
        "has_downloads": True,
        "has_discussions": False,
        "archived": False,
        "disabled": False,
        "license": None,
        "allow_forking": True,
        "web_commit_signoff_required": False,
        "pushed_at": iso(repo.pushed_at),
        "created_at": iso(repo.created_at),
        "updated_at": iso(repo.pushed_at),
        "permissions": {"admin": True, "maintain": True, "push": True, "triage": True, "pull": True},
    }


def label(urls: Urls, repo: Repo, item: Label) -> dict[str, Any]:
    return {
        "id": item.id,
        "node_id": f"LA_sim{item.id}",
        "url": f"{urls.api}/repos/{repo.full_name}/labels/{item.name}",
        "name": item.name,
        "description": None,
        "color": item.color,
        "default": False,
    }


def _reactions(url: str) -> dict[str, Any]:
    counts = dict.fromkeys(("+1", "-1", "laugh", "confused", "heart", "hooray", "eyes", "rocket"), 0)
    return {"url": f"{url}/reactions", "total_count": 0, **counts}


def issue_id(repo: Repo, number: int) -> int:
    return stable_number("issue", repo.full_name, str(number), digits=9)


def issue(urls: Urls, repo: Repo, item: Issue) -> dict[str, Any]:
    api = f"{urls.api}/repos/{repo.full_name}/issues/{item.number}"
    kind = "pull" if item.pull else "issues"
    body: dict[str, Any] = {
        "id": issue_id(repo, item.number),
        "node_id": f"I_sim{issue_id(repo, item.number)}",
        "url": api,
        "repository_url": f"{urls.api}/repos/{repo.full_name}",
        "labels_url": f"{api}/labels{{/name}}",
        "comments_url": f"{api}/comments",
        "events_url": f"{api}/events",
        "html_url": f"{urls.web}/{repo.full_name}/{kind}/{item.number}",
        "number": item.number,
        "state": item.state,
        "state_reason": item.state_reason,
        "title": item.title,
        "body": item.body,
        "user": simple_user(urls, item.author),
        "labels": [label(urls, repo, x) for x in item.labels],
        "assignee": simple_user(urls, item.assignees[0]) if item.assignees else None,
        "assignees": [simple_user(urls, x) for x in item.assignees],
        "milestone": None,
        "locked": False,
        "active_lock_reason": None,
        "comments": len(item.comments),
        "closed_at": iso(item.closed_at),
        "created_at": iso(item.created_at),
        "updated_at": iso(item.updated_at),
        "closed_by": simple_user(urls, item.closed_by) if item.closed_by else None,
        "author_association": "OWNER" if item.author == repo.owner else "CONTRIBUTOR",
        "reactions": _reactions(api),
        "timeline_url": f"{api}/timeline",
        "performed_via_github_app": None,
    }
    if item.pull:
        pulls = f"{urls.api}/repos/{repo.full_name}/pulls/{item.number}"
        body["pull_request"] = {
            "url": pulls,
            "html_url": f"{urls.web}/{repo.full_name}/pull/{item.number}",
            "diff_url": f"{urls.web}/{repo.full_name}/pull/{item.number}.diff",
            "patch_url": f"{urls.web}/{repo.full_name}/pull/{item.number}.patch",
            "merged_at": iso(item.pull.merged_at),
        }
    return body


def comment(urls: Urls, repo: Repo, item: Issue, note: Comment) -> dict[str, Any]:
    api = f"{urls.api}/repos/{repo.full_name}/issues/comments/{note.id}"
    return {
        "id": note.id,
        "node_id": f"IC_sim{note.id}",
        "url": api,
        "html_url": f"{urls.web}/{repo.full_name}/issues/{item.number}#issuecomment-{note.id}",
        "issue_url": f"{urls.api}/repos/{repo.full_name}/issues/{item.number}",
        "body": note.body,
        "user": simple_user(urls, note.author),
        "created_at": iso(note.created_at),
        "updated_at": iso(note.updated_at),
        "author_association": "OWNER" if note.author == repo.owner else "CONTRIBUTOR",
        "reactions": _reactions(api),
        "performed_via_github_app": None,
    }


def branch_sha(repo: Repo, ref: str) -> str:
    return sha_of(repo.full_name, ref)


def _branch(urls: Urls, repo: Repo, ref: str) -> dict[str, Any]:
    return {
        "label": f"{repo.owner}:{ref}",
        "ref": ref,
        "sha": branch_sha(repo, ref),
        "user": simple_user(urls, repo.owner),
        "repo": repository(urls, repo),
    }


def pull_request(urls: Urls, repo: Repo, item: Issue) -> dict[str, Any]:
    assert item.pull is not None
    pull = item.pull
    api = f"{urls.api}/repos/{repo.full_name}/pulls/{item.number}"
    issue_api = f"{urls.api}/repos/{repo.full_name}/issues/{item.number}"
    html = f"{urls.web}/{repo.full_name}/pull/{item.number}"
    head_sha = branch_sha(repo, pull.head)
    statuses = f"{urls.api}/repos/{repo.full_name}/statuses/{head_sha}"
    merged = pull.merged_at is not None
    return {
        "url": api,
        "id": issue_id(repo, item.number),
        "node_id": f"PR_sim{issue_id(repo, item.number)}",
        "html_url": html,
        "diff_url": f"{html}.diff",
        "patch_url": f"{html}.patch",
        "issue_url": issue_api,
        "commits_url": f"{api}/commits",
        "review_comments_url": f"{api}/comments",
        "review_comment_url": f"{urls.api}/repos/{repo.full_name}/pulls/comments{{/number}}",
        "comments_url": f"{issue_api}/comments",
        "statuses_url": statuses,
        "number": item.number,
        "state": item.state,
        "locked": False,
        "title": item.title,
        "user": simple_user(urls, item.author),
        "body": item.body,
        "labels": [label(urls, repo, x) for x in item.labels],
        "milestone": None,
        "active_lock_reason": None,
        "created_at": iso(item.created_at),
        "updated_at": iso(item.updated_at),
        "closed_at": iso(item.closed_at),
        "merged_at": iso(pull.merged_at),
        "merge_commit_sha": pull.merge_commit_sha,
        "assignee": simple_user(urls, item.assignees[0]) if item.assignees else None,
        "assignees": [simple_user(urls, x) for x in item.assignees],
        "requested_reviewers": [],
        "requested_teams": [],
        "head": _branch(urls, repo, pull.head),
        "base": _branch(urls, repo, pull.base),
        "_links": {
            "self": {"href": api},
            "html": {"href": html},
            "issue": {"href": issue_api},
            "comments": {"href": f"{issue_api}/comments"},
            "review_comments": {"href": f"{api}/comments"},
            "review_comment": {"href": f"{urls.api}/repos/{repo.full_name}/pulls/comments{{/number}}"},
            "commits": {"href": f"{api}/commits"},
            "statuses": {"href": statuses},
        },
        "author_association": "OWNER" if item.author == repo.owner else "CONTRIBUTOR",
        "auto_merge": None,
        "draft": pull.draft,
        "merged": merged,
        "mergeable": None if merged else True,
        "rebaseable": None if merged else True,
        "mergeable_state": "unknown" if merged else "clean",
        "merged_by": simple_user(urls, pull.merged_by) if pull.merged_by else None,
        "comments": len(item.comments),
        "review_comments": 0,
        "maintainer_can_modify": pull.maintainer_can_modify,
        "commits": 1,
        "additions": 1,
        "deletions": 0,
        "changed_files": 1,
    }


def hook(urls: Urls, repo: Repo, item: Hook) -> dict[str, Any]:
    api = f"{urls.api}/repos/{repo.full_name}/hooks/{item.id}"
    config: dict[str, Any] = {
        "url": item.url,
        "content_type": item.content_type,
        "insecure_ssl": item.insecure_ssl,
    }
    if item.secret:
        config["secret"] = "********"  # GitHub never shows a hook's secret again
    return {
        "type": "Repository",
        "id": item.id,
        "name": "web",
        "active": item.active,
        "events": list(item.events),
        "config": config,
        "updated_at": iso(item.updated_at),
        "created_at": iso(item.created_at),
        "url": api,
        "test_url": f"{api}/test",
        "ping_url": f"{api}/pings",
        "deliveries_url": f"{api}/deliveries",
        "last_response": {"code": item.last_code, "status": item.last_status, "message": None},
    }
