"""Action parameters and outputs of the Jira connectors (their JSON Schemas are the manifest's).

Outputs are normalised: rich text (ADF) comes back as plain text, people as account id and
display name, so automations do not depend on Jira's field layout.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from hub_connector_atlassian.adf import adf_to_text, markdown_to_adf

ISSUE_KEY = r"^(?:[A-Z][A-Z0-9_]{0,254}-[1-9][0-9]{0,9}|[1-9][0-9]{0,18})$"  # PROJ-12 or the numeric id
PROJECT_KEY = r"^[A-Z][A-Z0-9_]{0,254}$"
ACCOUNT_ID = r"^[A-Za-z0-9:_-]{1,128}$"
SEARCH_FIELDS = [
    "summary",
    "status",
    "assignee",
    "reporter",
    "issuetype",
    "project",
    "labels",
    "priority",
    "description",
    "created",
    "updated",
]
_TEXT = "plain text or Markdown (converted to Atlassian Document Format)"


class _Params(BaseModel):
    model_config = ConfigDict(extra="forbid")


class IssueRef(_Params):
    issue_key: str = Field(pattern=ISSUE_KEY, description="issue key (PROJ-12) or id")


class CreateIssue(_Params):
    project_key: str = Field(pattern=PROJECT_KEY)
    summary: str = Field(min_length=1, max_length=255)
    issue_type: str = Field(default="Task", min_length=1, max_length=255, description="issue type name")
    description: str | None = Field(default=None, max_length=32767, description=_TEXT)
    labels: list[str] = Field(default_factory=list, max_length=50)
    priority: str | None = Field(default=None, max_length=255, description="priority name")
    assignee_account_id: str | None = Field(default=None, pattern=ACCOUNT_ID)

    def to_api(self) -> dict[str, Any]:
        fields: dict[str, Any] = {
            "project": {"key": self.project_key},
            "summary": self.summary,
            "issuetype": {"name": self.issue_type},
        }
        if self.description is not None:
            fields["description"] = markdown_to_adf(self.description)
        if self.labels:
            fields["labels"] = self.labels
        if self.priority:
            fields["priority"] = {"name": self.priority}
        if self.assignee_account_id:
            fields["assignee"] = {"accountId": self.assignee_account_id}
        return {"fields": fields}


class UpdateIssue(IssueRef):
    summary: str | None = Field(default=None, min_length=1, max_length=255)
    description: str | None = Field(default=None, max_length=32767, description=_TEXT)
    labels: list[str] | None = Field(default=None, max_length=50)
    priority: str | None = Field(default=None, max_length=255)

    def to_api(self) -> dict[str, Any]:
        fields: dict[str, Any] = {}
        given = self.model_fields_set
        if "summary" in given and self.summary is not None:
            fields["summary"] = self.summary
        if "description" in given:
            fields["description"] = markdown_to_adf(self.description) if self.description else None
        if "labels" in given:
            fields["labels"] = self.labels or []
        if "priority" in given and self.priority:
            fields["priority"] = {"name": self.priority}
        return {"fields": fields}


class AddComment(IssueRef):
    body: str = Field(min_length=1, max_length=32767, description=_TEXT)


class TransitionIssue(IssueRef):
    transition_id: str | None = Field(default=None, pattern=r"^[0-9]{1,10}$")
    to_status: str | None = Field(
        default=None,
        min_length=1,
        max_length=255,
        description="target status or transition name (case-insensitive), when no transition_id",
    )
    comment: str | None = Field(default=None, max_length=32767, description=_TEXT)


class AssignIssue(IssueRef):
    account_id: str | None = Field(
        pattern=ACCOUNT_ID, description="the assignee's account id; null unassigns"
    )


class SearchIssues(_Params):
    jql: str = Field(
        min_length=1,
        max_length=10000,
        description="a bounded JQL query, e.g. project = PROJ AND status != Done ORDER BY updated DESC",
    )
    max_items: int = Field(default=100, ge=1, le=1000)
    page_size: int = Field(default=50, ge=1, le=100, description="page size asked of Jira")


# -- outputs --------------------------------------------------------------------------------------------
def _person(value: Any) -> tuple[str | None, str | None]:
    if not isinstance(value, dict):
        return None, None
    return value.get("accountId"), value.get("displayName")


def _name(value: Any) -> str | None:
    return value.get("name") if isinstance(value, dict) else None


class Issue(BaseModel):
    id: str
    key: str
    api_url: str | None
    summary: str | None
    description: str = Field(description="the description as plain text")
    status: str | None
    issue_type: str | None
    project: str | None
    priority: str | None
    labels: list[str]
    assignee_account_id: str | None
    assignee: str | None
    reporter: str | None
    created: str | None
    updated: str | None

    @classmethod
    def from_api(cls, item: dict[str, Any]) -> Issue:
        fields = item.get("fields") or {}
        assignee_id, assignee = _person(fields.get("assignee"))
        _, reporter = _person(fields.get("reporter"))
        project = fields.get("project")
        return cls(
            id=str(item["id"]),
            key=str(item["key"]),
            api_url=item.get("self"),
            summary=fields.get("summary"),
            description=adf_to_text(fields.get("description")),
            status=_name(fields.get("status")),
            issue_type=_name(fields.get("issuetype")),
            project=project.get("key") if isinstance(project, dict) else None,
            priority=_name(fields.get("priority")),
            labels=[str(x) for x in fields.get("labels") or []],
            assignee_account_id=assignee_id,
            assignee=assignee,
            reporter=reporter,
            created=fields.get("created"),
            updated=fields.get("updated"),
        )


class CreatedIssue(BaseModel):
    id: str
    key: str
    api_url: str | None


class IssueChanged(BaseModel):
    key: str
    changed: list[str] = Field(description="what was changed")


class Transitioned(BaseModel):
    key: str
    transition_id: str
    transition: str
    to_status: str | None


class Assigned(BaseModel):
    key: str
    account_id: str | None


class Comment(BaseModel):
    id: str
    body: str = Field(description="the comment as plain text")
    author_account_id: str | None
    author: str | None
    created: str | None
    api_url: str | None

    @classmethod
    def from_api(cls, item: dict[str, Any]) -> Comment:
        author_id, author = _person(item.get("author"))
        return cls(
            id=str(item["id"]),
            body=adf_to_text(item.get("body")),
            author_account_id=author_id,
            author=author,
            created=item.get("created"),
            api_url=item.get("self"),
        )


class IssueList(BaseModel):
    issues: list[Issue]
    truncated: bool = Field(description="more issues match than max_items")
