"""A small fake issue tracker connector shared by the SDK's unit tests."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel, ConfigDict, Field

from hub_connector_sdk import (
    ApiSpec,
    AuthenticationMethod,
    AuthSpec,
    BaseConnector,
    ConnectorCategory,
    PollResult,
    TriggerEvent,
    TriggerType,
    action,
    polling_trigger,
    trigger,
)


class CreateIssue(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=1, description="Issue title")
    body: str | None = None
    labels: list[str] = Field(default_factory=list)
    priority: int = Field(default=3, ge=1, le=5)


class Issue(BaseModel):
    id: int
    title: str
    state: str = "open"


class Tracker(BaseConnector):
    id = "tracker"
    name = "Tracker"
    version = "1.2.3"
    category = ConnectorCategory.PROJECT_MANAGEMENT
    description = "A fake issue tracker"
    auth = AuthSpec(method=AuthenticationMethod.BEARER)
    api = ApiSpec(
        base_url="https://api.tracker.test/v2",
        allowed_hosts=["api.tracker.test"],
        config_schema={
            "type": "object",
            "properties": {"account": {"type": "string"}},
            "required": ["account"],
        },
    )
    health_path = "accounts/{account}/me"

    @action(params=CreateIssue, output=Issue, scopes=["issues:write"])
    async def create_issue(self, params: CreateIssue) -> Issue:
        """Create an issue.

        Longer text that is not part of the description."""
        resp = await self.client.post(
            self.expand_path("accounts/{account}/issues"), json=params.model_dump(exclude_none=True)
        )
        return Issue.model_validate(resp.json())

    @action(
        "list_issues",
        params={
            "type": "object",
            "properties": {"state": {"enum": ["open", "closed"]}},
            "additionalProperties": False,
        },
        output={"type": "array"},
        idempotent=True,
    )
    async def list_issues(self, params: dict[str, Any]) -> list[Issue]:
        resp = await self.client.get("issues", params=params)
        return [Issue.model_validate(i) for i in resp.json()]

    def webhook_event_name(self, headers: Any, payload: Any) -> str | None:
        name = headers.get("x-tracker-event")
        return str(name) if name else None

    @trigger("issue_opened", type=TriggerType.CREATED, events=["issue.opened"])
    def on_opened(self, event: str, payload: dict[str, Any]) -> dict[str, Any] | None:
        """An issue was opened."""
        if payload.get("draft"):
            return None  # drafts are not interesting
        return {"id": payload["id"], "title": payload["title"]}

    @trigger("issue_closed", type=TriggerType.STATUS_CHANGED, events=["issue.closed", "issue.deleted"])
    def on_closed(self, event: str, payload: dict[str, Any]) -> dict[str, Any] | None:
        return {"id": payload["id"], "event": event}

    @polling_trigger("new_issue", type=TriggerType.CREATED, interval_s=30)
    async def poll_new(self, cursor: str | None) -> PollResult:
        resp = await self.client.get("issues", params={"since_id": cursor or "0"})
        issues = resp.json()
        events = [TriggerEvent(trigger_id="new_issue", payload=i, dedupe_key=str(i["id"])) for i in issues]
        newest = max((int(i["id"]) for i in issues), default=int(cursor or 0))
        return PollResult(events=events, cursor=str(newest))


@pytest.fixture
def tracker() -> type[Tracker]:
    return Tracker
