"""Action parameters and outputs of the GitHub connector (their JSON Schemas are the manifest's).

Outputs are normalised (a stable subset of GitHub's objects), so automations do not depend on
the hundred-odd fields GitHub adds to an issue or a pull request.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

# GitHub: owner (user or organisation) names are 1-39 of [A-Za-z0-9-]; repository names use
# [A-Za-z0-9._-]. Both stay single path segments (expand_path percent-encodes as well).
OWNER = r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$"
REPO = r"^[A-Za-z0-9._-]{1,100}$"
BRANCH = r"^[^\s~^:?*\[\\]{1,255}$"


class _Params(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RepoRef(_Params):
    owner: str = Field(pattern=OWNER, description="user or organisation that owns the repository")
    repo: str = Field(pattern=REPO, description="repository name")


class CreateIssue(RepoRef):
    title: str = Field(min_length=1, max_length=256)
    body: str | None = Field(default=None, max_length=65536)
    labels: list[str] = Field(default_factory=list, max_length=100)
    assignees: list[str] = Field(default_factory=list, max_length=10)

    def to_api(self) -> dict[str, Any]:
        out: dict[str, Any] = {"title": self.title}
        if self.body is not None:
            out["body"] = self.body
        if self.labels:
            out["labels"] = self.labels
        if self.assignees:
            out["assignees"] = self.assignees
        return out


class UpdateIssue(RepoRef):
    issue_number: int = Field(ge=1)
    title: str | None = Field(default=None, min_length=1, max_length=256)
    body: str | None = Field(default=None, max_length=65536)
    state: Literal["open", "closed"] | None = None
    state_reason: Literal["completed", "not_planned", "reopened"] | None = None
    labels: list[str] | None = Field(default=None, max_length=100)
    assignees: list[str] | None = Field(default=None, max_length=10)

    def to_api(self) -> dict[str, Any]:
        fields = ("title", "body", "state", "state_reason", "labels", "assignees")
        return {name: getattr(self, name) for name in fields if name in self.model_fields_set}


class AddComment(RepoRef):
    issue_number: int = Field(ge=1, description="issue or pull request number")
    body: str = Field(min_length=1, max_length=65536)


class ListIssues(RepoRef):
    state: Literal["open", "closed", "all"] = "open"
    labels: list[str] = Field(default_factory=list, max_length=20)
    since: str | None = Field(default=None, description="only issues updated at or after (ISO 8601)")
    max_items: int = Field(default=100, ge=1, le=1000)
    per_page: int = Field(default=100, ge=1, le=100, description="page size asked of GitHub")


class CreatePullRequest(RepoRef):
    title: str = Field(min_length=1, max_length=256)
    head: str = Field(pattern=BRANCH, description="branch with the changes (``user:branch`` across forks)")
    base: str = Field(pattern=BRANCH, description="branch to merge into")
    body: str | None = Field(default=None, max_length=65536)
    draft: bool = False

    def to_api(self) -> dict[str, Any]:
        out: dict[str, Any] = {"title": self.title, "head": self.head, "base": self.base, "draft": self.draft}
        if self.body is not None:
            out["body"] = self.body
        return out


class GetPullRequest(RepoRef):
    pull_number: int = Field(ge=1)


class MergePullRequest(RepoRef):
    pull_number: int = Field(ge=1)
    merge_method: Literal["merge", "squash", "rebase"] = "merge"
    commit_title: str | None = Field(default=None, max_length=256)
    commit_message: str | None = Field(default=None, max_length=65536)
    sha: str | None = Field(
        default=None, pattern=r"^[0-9a-f]{40}$", description="merge only if head is still this"
    )

    def to_api(self) -> dict[str, Any]:
        fields = ("merge_method", "commit_title", "commit_message", "sha")
        return {name: getattr(self, name) for name in fields if getattr(self, name) is not None}


class ListRepositories(_Params):
    visibility: Literal["all", "public", "private"] = "all"
    sort: Literal["created", "updated", "pushed", "full_name"] = "full_name"
    max_items: int = Field(default=100, ge=1, le=1000)
    per_page: int = Field(default=100, ge=1, le=100, description="page size asked of GitHub")


# -- outputs -----------------------------------------------------------------------------------------
class Issue(BaseModel):
    number: int
    id: int
    title: str
    state: str
    body: str | None
    url: str = Field(description="the issue's page on GitHub")
    author: str | None
    labels: list[str]
    assignees: list[str]
    comments: int
    is_pull_request: bool
    created_at: str
    updated_at: str
    closed_at: str | None

    @classmethod
    def from_api(cls, item: dict[str, Any]) -> Issue:
        return cls(
            number=item["number"],
            id=item["id"],
            title=item["title"],
            state=item["state"],
            body=item.get("body"),
            url=item["html_url"],
            author=(item.get("user") or {}).get("login"),
            labels=[x if isinstance(x, str) else x.get("name", "") for x in item.get("labels") or []],
            assignees=[a["login"] for a in item.get("assignees") or []],
            comments=item.get("comments", 0),
            is_pull_request="pull_request" in item,
            created_at=item["created_at"],
            updated_at=item["updated_at"],
            closed_at=item.get("closed_at"),
        )


class IssueList(BaseModel):
    issues: list[Issue]
    truncated: bool = Field(description="more issues exist than max_items")


class Comment(BaseModel):
    id: int
    body: str | None
    url: str
    author: str | None
    created_at: str

    @classmethod
    def from_api(cls, item: dict[str, Any]) -> Comment:
        return cls(
            id=item["id"],
            body=item.get("body"),
            url=item["html_url"],
            author=(item.get("user") or {}).get("login"),
            created_at=item["created_at"],
        )


class PullRequest(BaseModel):
    number: int
    id: int
    title: str
    state: str
    body: str | None
    url: str
    author: str | None
    head: str
    base: str
    head_sha: str
    draft: bool
    merged: bool
    mergeable: bool | None
    merged_at: str | None
    merge_commit_sha: str | None
    created_at: str
    updated_at: str

    @classmethod
    def from_api(cls, item: dict[str, Any]) -> PullRequest:
        return cls(
            number=item["number"],
            id=item["id"],
            title=item["title"],
            state=item["state"],
            body=item.get("body"),
            url=item["html_url"],
            author=(item.get("user") or {}).get("login"),
            head=item["head"]["ref"],
            base=item["base"]["ref"],
            head_sha=item["head"]["sha"],
            draft=bool(item.get("draft", False)),
            merged=bool(item.get("merged", item.get("merged_at") is not None)),
            mergeable=item.get("mergeable"),
            merged_at=item.get("merged_at"),
            merge_commit_sha=item.get("merge_commit_sha"),
            created_at=item["created_at"],
            updated_at=item["updated_at"],
        )


class MergeResult(BaseModel):
    merged: bool
    sha: str | None
    message: str


class Repository(BaseModel):
    id: int
    full_name: str
    name: str
    owner: str
    private: bool
    url: str
    default_branch: str | None
    description: str | None
    updated_at: str | None

    @classmethod
    def from_api(cls, item: dict[str, Any]) -> Repository:
        return cls(
            id=item["id"],
            full_name=item["full_name"],
            name=item["name"],
            owner=item["owner"]["login"],
            private=bool(item.get("private")),
            url=item["html_url"],
            default_branch=item.get("default_branch"),
            description=item.get("description"),
            updated_at=item.get("updated_at"),
        )


class RepositoryList(BaseModel):
    repositories: list[Repository]
    truncated: bool
