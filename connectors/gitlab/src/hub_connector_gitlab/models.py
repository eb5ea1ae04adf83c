"""Action parameters and outputs of the GitLab connector (their JSON Schemas are the manifest's).

Outputs are normalised (a stable subset of GitLab's entities). A project is named by its numeric
id or its full path (``group/subgroup/project``); the path travels as one URL-encoded segment
(``group%2Fsubgroup%2Fproject``), as GitLab's ``:id`` expects.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

# A numeric id, or a namespace path: segments of [A-Za-z0-9_.-] not starting with '-' or '.'.
PROJECT = r"^(\d{1,19}|[A-Za-z0-9_][A-Za-z0-9_.-]{0,254}(/[A-Za-z0-9_][A-Za-z0-9_.-]{0,254}){1,20})$"
BRANCH = r"^[^\s~^:?*\[\\]{1,255}$"
# GitLab sends label lists as one comma-separated string, so a label cannot hold a comma.
Label = Annotated[str, Field(min_length=1, max_length=255, pattern=r"^[^,]+$")]


def _labels_field(description: str = "label names") -> Any:
    return Field(default=None, max_length=100, description=description)


TEXT_MAX = 1_048_576  # GitLab's limit on descriptions
NOTE_MAX = 1_000_000  # and on notes


class _Params(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ProjectRef(_Params):
    project: str = Field(
        pattern=PROJECT, max_length=1000, description="project id, or full path such as group/project"
    )


def _labels(values: list[str] | None) -> str | None:
    """GitLab takes label lists as one comma-separated string (a comma cannot be in a label)."""
    return None if values is None else ",".join(values)


class CreateIssue(ProjectRef):
    title: str = Field(min_length=1, max_length=255)
    description: str | None = Field(default=None, max_length=TEXT_MAX)
    labels: list[Label] | None = _labels_field()
    assignee_ids: list[int] | None = Field(default=None, max_length=100)
    confidential: bool | None = None
    due_date: str | None = Field(default=None, pattern=r"^\d{4}-\d{2}-\d{2}$")
    milestone_id: int | None = Field(default=None, ge=1)

    def to_api(self) -> dict[str, Any]:
        out: dict[str, Any] = {"title": self.title}
        for name in ("description", "assignee_ids", "confidential", "due_date", "milestone_id"):
            if getattr(self, name) is not None:
                out[name] = getattr(self, name)
        if self.labels is not None:
            out["labels"] = _labels(self.labels)
        return out


class UpdateIssue(ProjectRef):
    issue_iid: int = Field(ge=1, description="the issue's number in its project (iid)")
    title: str | None = Field(default=None, min_length=1, max_length=255)
    description: str | None = Field(default=None, max_length=TEXT_MAX)
    state_event: Literal["close", "reopen"] | None = None
    labels: list[Label] | None = _labels_field("replaces the labels")
    add_labels: list[Label] | None = _labels_field()
    remove_labels: list[Label] | None = _labels_field()
    assignee_ids: list[int] | None = Field(default=None, max_length=100, description="[] unassigns all")
    confidential: bool | None = None
    discussion_locked: bool | None = None
    due_date: str | None = Field(default=None, pattern=r"^\d{4}-\d{2}-\d{2}$")

    _FIELDS = ("title", "description", "state_event", "assignee_ids", "confidential",
               "discussion_locked", "due_date")  # fmt: skip

    @model_validator(mode="after")
    def _something_to_change(self) -> UpdateIssue:
        if not self.to_api():
            raise ValueError("give at least one field to change (GitLab refuses an empty update)")
        return self

    def to_api(self) -> dict[str, Any]:
        out = {name: getattr(self, name) for name in self._FIELDS if getattr(self, name) is not None}
        for name in ("labels", "add_labels", "remove_labels"):
            if getattr(self, name) is not None:
                out[name] = _labels(getattr(self, name))
        return out


class AddIssueNote(ProjectRef):
    issue_iid: int = Field(ge=1)
    body: str = Field(min_length=1, max_length=NOTE_MAX)
    internal: bool = Field(default=False, description="visible to project members only")

    def to_api(self) -> dict[str, Any]:
        return {"body": self.body, **({"internal": True} if self.internal else {})}


class ListMergeRequests(ProjectRef):
    state: Literal["opened", "closed", "locked", "merged", "all"] = "opened"
    labels: list[Label] | None = _labels_field()
    source_branch: str | None = Field(default=None, pattern=BRANCH)
    target_branch: str | None = Field(default=None, pattern=BRANCH)
    search: str | None = Field(
        default=None, min_length=1, max_length=255, description="in title and description"
    )
    updated_after: str | None = Field(default=None, description="ISO 8601", max_length=40)
    order_by: Literal["created_at", "updated_at"] = "created_at"
    sort: Literal["asc", "desc"] = "desc"
    max_items: int = Field(default=100, ge=1, le=1000)
    per_page: int = Field(default=100, ge=1, le=100, description="page size asked of GitLab")

    def query(self) -> dict[str, Any]:
        out: dict[str, Any] = {"state": self.state, "order_by": self.order_by, "sort": self.sort}
        for name in ("source_branch", "target_branch", "search", "updated_after"):
            if getattr(self, name) is not None:
                out[name] = getattr(self, name)
        if self.labels:
            out["labels"] = _labels(self.labels)
        out["per_page"] = min(self.per_page, self.max_items + 1)
        return out


class CreateMergeRequest(ProjectRef):
    title: str = Field(min_length=1, max_length=255)
    source_branch: str = Field(pattern=BRANCH)
    target_branch: str = Field(pattern=BRANCH)
    description: str | None = Field(default=None, max_length=TEXT_MAX)
    labels: list[Label] | None = _labels_field()
    assignee_ids: list[int] | None = Field(default=None, max_length=100)
    reviewer_ids: list[int] | None = Field(default=None, max_length=100)
    remove_source_branch: bool | None = None
    squash: bool | None = None

    def to_api(self) -> dict[str, Any]:
        fields = ("title", "source_branch", "target_branch", "description", "labels", "assignee_ids",
                  "reviewer_ids", "remove_source_branch", "squash")  # fmt: skip
        return {name: getattr(self, name) for name in fields if getattr(self, name) is not None}


class MergeMergeRequest(ProjectRef):
    merge_request_iid: int = Field(ge=1)
    squash: bool | None = None
    merge_commit_message: str | None = Field(default=None, max_length=TEXT_MAX)
    squash_commit_message: str | None = Field(default=None, max_length=TEXT_MAX)
    should_remove_source_branch: bool | None = None
    merge_when_pipeline_succeeds: bool | None = None
    sha: str | None = Field(
        default=None,
        pattern=r"^[0-9a-f]{40}$",
        description="merge only if the source branch head is still this",
    )

    def to_api(self) -> dict[str, Any]:
        fields = ("squash", "merge_commit_message", "squash_commit_message", "should_remove_source_branch",
                  "merge_when_pipeline_succeeds", "sha")  # fmt: skip
        return {name: getattr(self, name) for name in fields if getattr(self, name) is not None}


# -- outputs -----------------------------------------------------------------------------------------
def _username(user: Any) -> str | None:
    return user.get("username") if isinstance(user, dict) else None


def _label_names(items: Any) -> list[str]:
    return [x if isinstance(x, str) else str(x.get("name", "")) for x in items or []]


class Issue(BaseModel):
    id: int
    iid: int
    project_id: int
    title: str
    description: str | None
    state: str = Field(description="opened or closed")
    url: str = Field(description="the issue's page on GitLab")
    author: str | None
    labels: list[str]
    assignees: list[str]
    notes: int = Field(description="user comments on the issue")
    confidential: bool
    created_at: str
    updated_at: str
    closed_at: str | None

    @classmethod
    def from_api(cls, item: dict[str, Any]) -> Issue:
        return cls(
            id=item["id"],
            iid=item["iid"],
            project_id=item["project_id"],
            title=item["title"],
            description=item.get("description"),
            state=item["state"],
            url=item.get("web_url") or item["url"],
            author=_username(item.get("author")),
            labels=_label_names(item.get("labels")),
            assignees=[a["username"] for a in item.get("assignees") or [] if isinstance(a, dict)],
            notes=int(item.get("user_notes_count") or 0),
            confidential=bool(item.get("confidential", False)),
            created_at=item["created_at"],
            updated_at=item["updated_at"],
            closed_at=item.get("closed_at"),
        )


class Note(BaseModel):
    id: int
    body: str
    author: str | None
    noteable_type: str | None
    noteable_iid: int | None
    internal: bool
    created_at: str

    @classmethod
    def from_api(cls, item: dict[str, Any]) -> Note:
        return cls(
            id=item["id"],
            body=item.get("body") or "",
            author=_username(item.get("author")),
            noteable_type=item.get("noteable_type"),
            noteable_iid=item.get("noteable_iid"),
            internal=bool(item.get("internal", item.get("confidential", False))),
            created_at=item["created_at"],
        )


class MergeRequest(BaseModel):
    id: int
    iid: int
    project_id: int
    title: str
    description: str | None
    state: str = Field(description="opened, closed, locked or merged")
    url: str
    author: str | None
    source_branch: str
    target_branch: str
    sha: str | None = Field(description="head of the source branch")
    draft: bool
    labels: list[str]
    detailed_merge_status: str | None = Field(description="e.g. mergeable, not_open, conflict")
    merged_at: str | None
    merge_commit_sha: str | None
    created_at: str
    updated_at: str

    @classmethod
    def from_api(cls, item: dict[str, Any]) -> MergeRequest:
        return cls(
            id=item["id"],
            iid=item["iid"],
            project_id=item.get("project_id") or item.get("target_project_id") or 0,
            title=item["title"],
            description=item.get("description"),
            state=item["state"],
            url=item.get("web_url") or item["url"],
            author=_username(item.get("author")),
            source_branch=item["source_branch"],
            target_branch=item["target_branch"],
            sha=item.get("sha") or (item.get("last_commit") or {}).get("id"),
            draft=bool(item.get("draft", item.get("work_in_progress", False))),
            labels=_label_names(item.get("labels")),
            detailed_merge_status=item.get("detailed_merge_status") or item.get("merge_status"),
            merged_at=item.get("merged_at"),
            merge_commit_sha=item.get("merge_commit_sha"),
            created_at=item["created_at"],
            updated_at=item["updated_at"],
        )


class MergeRequestList(BaseModel):
    merge_requests: list[MergeRequest]
    truncated: bool = Field(description="more merge requests exist than max_items")
