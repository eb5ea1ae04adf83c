"""Action parameters and outputs of the Linear connector (their JSON Schemas are the manifest's).

Outputs are normalised (a stable subset of Linear's objects) so automations do not depend on the
hundred-odd fields of Linear's ``Issue`` type. Linear ids are UUIDs; an issue can also be named by
its identifier (``ENG-123``), which Linear's ``issue(id:)`` and ``issueUpdate(id:)`` accept too.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

UUID = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
# An issue: its UUID or its identifier (team key, dash, number: ENG-123).
ISSUE_REF = "^(" + UUID[1:-1] + r"|[A-Za-z0-9_]{1,10}-[0-9]{1,9})$"
PRIORITY_DESCRIPTION = "0 none, 1 urgent, 2 high, 3 medium (normal), 4 low"


class _Params(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CreateIssue(_Params):
    team_id: str = Field(pattern=UUID, description="the team the issue belongs to")
    title: str = Field(min_length=1, max_length=255)
    description: str | None = Field(default=None, max_length=100_000, description="Markdown")
    priority: int | None = Field(default=None, ge=0, le=4, description=PRIORITY_DESCRIPTION)
    assignee_id: str | None = Field(default=None, pattern=UUID)
    state_id: str | None = Field(default=None, pattern=UUID, description="default: the team's first state")
    label_ids: list[str] = Field(default_factory=list, max_length=50)
    project_id: str | None = Field(default=None, pattern=UUID)
    parent_id: str | None = Field(default=None, pattern=UUID, description="makes it a sub-issue")
    due_date: str | None = Field(default=None, pattern=r"^\d{4}-\d{2}-\d{2}$")

    def to_api(self) -> dict[str, Any]:
        out: dict[str, Any] = {"teamId": self.team_id, "title": self.title}
        optional = {
            "description": self.description,
            "priority": self.priority,
            "assigneeId": self.assignee_id,
            "stateId": self.state_id,
            "projectId": self.project_id,
            "parentId": self.parent_id,
            "dueDate": self.due_date,
        }
        out.update({k: v for k, v in optional.items() if v is not None})
        if self.label_ids:
            out["labelIds"] = self.label_ids
        return out


_UPDATE_FIELDS = {
    "title": "title",
    "description": "description",
    "priority": "priority",
    "assignee_id": "assigneeId",
    "state_id": "stateId",
    "label_ids": "labelIds",
    "due_date": "dueDate",
}


class UpdateIssue(_Params):
    issue_id: str = Field(pattern=ISSUE_REF, description="UUID or identifier (ENG-123)")
    title: str | None = Field(default=None, min_length=1, max_length=255)
    description: str | None = Field(default=None, max_length=100_000)
    priority: int | None = Field(default=None, ge=0, le=4, description=PRIORITY_DESCRIPTION)
    assignee_id: str | None = Field(default=None, pattern=UUID, description="null unassigns")
    state_id: str | None = Field(default=None, pattern=UUID)
    label_ids: list[str] | None = Field(default=None, max_length=50, description="replaces the labels")
    due_date: str | None = Field(default=None, pattern=r"^\d{4}-\d{2}-\d{2}$")

    def to_api(self) -> dict[str, Any]:
        """Only the fields given (an explicit null clears, e.g. the assignee)."""
        return {
            api: getattr(self, name) for name, api in _UPDATE_FIELDS.items() if name in self.model_fields_set
        }


class UpdateStatus(_Params):
    issue_id: str = Field(pattern=ISSUE_REF, description="UUID or identifier (ENG-123)")
    state_id: str | None = Field(default=None, pattern=UUID, description="the workflow state's id")
    state_name: str | None = Field(
        default=None,
        min_length=1,
        max_length=100,
        description="or its name in the issue's team (case-insensitive), e.g. 'Done'",
    )


class AddComment(_Params):
    issue_id: str = Field(pattern=ISSUE_REF, description="UUID or identifier (ENG-123)")
    body: str = Field(min_length=1, max_length=100_000, description="Markdown")
    parent_id: str | None = Field(default=None, pattern=UUID, description="reply in this comment's thread")


class SearchIssues(_Params):
    term: str = Field(min_length=1, max_length=500, description="full-text search")
    team_id: str | None = Field(default=None, pattern=UUID, description="only this team's issues")
    include_comments: bool = Field(default=False, description="also match comment text")
    max_items: int = Field(default=50, ge=1, le=500)
    page_size: int = Field(default=50, ge=1, le=250, description="page size asked of Linear (first)")


# -- outputs -----------------------------------------------------------------------------------------
class Person(BaseModel):
    id: str
    name: str
    email: str | None = None


class State(BaseModel):
    id: str
    name: str
    type: str = Field(description="triage, backlog, unstarted, started, completed or canceled")


class TeamRef(BaseModel):
    id: str
    key: str
    name: str


class Issue(BaseModel):
    id: str
    identifier: str
    number: int
    title: str
    description: str | None
    url: str
    priority: int
    priority_label: str
    state: State
    team: TeamRef
    assignee: Person | None
    creator: Person | None
    label_ids: list[str]
    created_at: str
    updated_at: str
    completed_at: str | None
    canceled_at: str | None

    @classmethod
    def from_api(cls, item: dict[str, Any]) -> Issue:
        return cls(
            id=item["id"],
            identifier=item["identifier"],
            number=int(item["number"]),
            title=item["title"],
            description=item.get("description"),
            url=item["url"],
            priority=int(item.get("priority") or 0),
            priority_label=str(item.get("priorityLabel") or ""),
            state=State(**item["state"]),
            team=TeamRef(**item["team"]),
            assignee=_person(item.get("assignee")),
            creator=_person(item.get("creator")),
            label_ids=list(item.get("labelIds") or []),
            created_at=item["createdAt"],
            updated_at=item["updatedAt"],
            completed_at=item.get("completedAt"),
            canceled_at=item.get("canceledAt"),
        )


def _person(value: Any) -> Person | None:
    if not isinstance(value, dict) or not value.get("id"):
        return None
    return Person(id=value["id"], name=str(value.get("name") or ""), email=value.get("email"))


class Comment(BaseModel):
    id: str
    body: str
    url: str
    issue_id: str | None
    issue_identifier: str | None
    author: Person | None
    created_at: str

    @classmethod
    def from_api(cls, item: dict[str, Any]) -> Comment:
        issue = item.get("issue") or {}
        return cls(
            id=item["id"],
            body=item["body"],
            url=item["url"],
            issue_id=issue.get("id"),
            issue_identifier=issue.get("identifier"),
            author=_person(item.get("user")),
            created_at=item["createdAt"],
        )


class IssueList(BaseModel):
    issues: list[Issue]
    truncated: bool = Field(description="more issues matched than max_items")
