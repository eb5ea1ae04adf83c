"""The Linear simulator's resolvers: ``Query`` and ``Mutation`` fields over its in-memory workspace.
graphql-core's default resolver calls ``root.<field>(info, **args)`` and reads objects as dicts,
so each view is a dict whose nested connections are closures, resolved only when selected."""

from __future__ import annotations

import secrets
import time
import uuid
from typing import TYPE_CHECKING, Any

from hub_e2e.simulators.linear_objects import (
    PRIORITY_LABELS,
    Caller,
    Comment,
    Issue,
    Team,
    User,
    Webhook,
    connection,
    linear_error,
    matches,
    not_found,
    now_iso,
    ordered,
)

if TYPE_CHECKING:
    from hub_e2e.simulators.linear import LinearSimulator


class Root:
    """Query and Mutation fields: graphql-core's default resolver calls ``root.<field>(info, **args)``."""

    def __init__(self, sim: LinearSimulator, caller: Caller, base: str) -> None:
        self.sim, self.caller, self.base = sim, caller, base

    # objects as GraphQL sees them; nested connections resolve lazily (only when selected)
    def user_view(self, user: User | None) -> dict[str, Any] | None:
        if user is None:
            return None
        return {
            "id": user.id,
            "name": user.name,
            "displayName": user.login,
            "email": user.email,
            "active": True,
            "admin": True,
            "app": False,
            "isMe": user.id == self.caller.user.id,
            "url": f"{self.base}/{self.sim.org['urlKey']}/profiles/{user.login}",
            "createdAt": "2024-01-01T00:00:00.000Z",
            "updatedAt": "2024-01-01T00:00:00.000Z",
            "organization": self.organization,
        }

    def team_view(self, team: Team) -> dict[str, Any]:
        return {"id": team.id, "key": team.key, "name": team.name, "displayName": team.name, "private": False}

    def state_view(self, team: Team, state: dict[str, Any]) -> dict[str, Any]:
        return {
            **state,
            "team": self.team_view(team),
            "createdAt": "2024-01-01T00:00:00.000Z",
            "updatedAt": "2024-01-01T00:00:00.000Z",
        }

    def issue_view(self, item: Issue) -> dict[str, Any]:
        sim = self.sim
        team = sim.teams[item.team_id]
        _, state = sim.state(item.state_id) or (team, team.states[0])

        def comments(info: Any, **args: Any) -> dict[str, Any]:
            return connection([self.comment_view(c) for c in item.comments], args)

        return {
            "id": item.id,
            "identifier": f"{team.key}-{item.number}",
            "number": item.number,
            "title": item.title,
            "description": item.description,
            "url": sim.issue_url(self.base, item),
            "priority": item.priority,
            "priorityLabel": PRIORITY_LABELS[item.priority],
            "createdAt": item.created_at,
            "updatedAt": item.updated_at,
            "completedAt": item.completed_at,
            "canceledAt": item.canceled_at,
            "dueDate": item.due_date,
            "labelIds": list(item.label_ids),
            "state": self.state_view(team, state),
            "team": self.team_view(team),
            "assignee": self.user_view(sim.user_by_id(item.assignee_id)),
            "creator": self.user_view(sim.user_by_id(item.creator_id)),
            "comments": comments,
            "branchName": f"{team.key.lower()}-{item.number}",
        }

    def comment_view(self, note: Comment) -> dict[str, Any]:
        item = self.sim.issues[note.issue_id]
        return {
            "id": note.id,
            "body": note.body,
            "url": f"{self.sim.issue_url(self.base, item)}#comment-{note.id[:8]}",
            "createdAt": note.created_at,
            "updatedAt": note.updated_at,
            "issueId": item.id,
            "parentId": note.parent_id,
            "user": self.user_view(self.sim.user_by_id(note.user_id)),
            "issue": self.issue_view(item),
        }

    def webhook_view(self, hook: Webhook) -> dict[str, Any]:
        team = self.sim.teams.get(hook.team_id or "")
        return {
            "id": hook.id,
            "url": hook.url,
            "label": hook.label,
            "enabled": hook.enabled,
            "resourceTypes": hook.resource_types,
            "allPublicTeams": hook.all_public_teams,
            "secret": hook.secret,
            "team": self.team_view(team) if team else None,
            "teamIds": [team.id] if team else None,
            "createdAt": hook.created_at,
            "updatedAt": hook.created_at,
        }

    def need(self, *any_of: str) -> None:
        if not set(any_of) & set(self.caller.scopes):
            raise linear_error(
                f"Invalid scope: `{any_of[0]}` required",
                "FORBIDDEN",
                kind="forbidden",
                user=f"This operation needs the {any_of[0]} scope.",
            )

    def payload(self, **entity: Any) -> dict[str, Any]:
        return {"success": True, "lastSyncId": float(time.time_ns() // 1000), **entity}

    # -- Query --------------------------------------------------------------------------------------
    def viewer(self, info: Any) -> dict[str, Any] | None:
        return self.user_view(self.caller.user)

    def organization(self, info: Any = None) -> dict[str, Any]:
        return {**self.sim.org, "createdAt": "2024-01-01T00:00:00.000Z", "userCount": len(self.sim.users)}

    def teams(self, info: Any, **args: Any) -> dict[str, Any]:
        return connection([self.team_view(t) for t in self.sim.teams.values()], args)

    def issue(self, info: Any, id: str) -> dict[str, Any]:
        return self.issue_view(self.sim.find_issue(id))

    def issues(self, info: Any, **args: Any) -> dict[str, Any]:
        items = list(self.sim.issues.values())
        views = [self.issue_view(i) for i in items]
        views = [v for v in views if matches(v, args.get("filter") or {})]
        views = ordered(views, args)
        return connection(views, args)

    def searchIssues(self, info: Any, term: str, **args: Any) -> dict[str, Any]:
        words = term.lower().split()
        found = []
        for item in self.sim.issues.values():
            if args.get("teamId") and item.team_id != args["teamId"]:
                continue
            text = f"{item.title} {item.description or ''}"
            if args.get("includeComments"):
                text += " " + " ".join(c.body for c in item.comments)
            if all(w in text.lower() for w in words):
                found.append({**self.issue_view(item), "metadata": {}})
        views = [v for v in found if matches(v, args.get("filter") or {})]
        result = connection(sorted(views, key=lambda v: v["updatedAt"], reverse=True), args)
        return {
            **result,
            "totalCount": float(len(views)),
            "archivePayload": {"success": True, "lastSyncId": 0.0},
        }

    def workflowStates(self, info: Any, **args: Any) -> dict[str, Any]:
        views = [self.state_view(t, s) for t in self.sim.teams.values() for s in t.states]
        views = [v for v in views if matches(v, args.get("filter") or {})]
        return connection(views, args)

    # -- Mutation -----------------------------------------------------------------------------------
    def issueCreate(self, info: Any, input: dict[str, Any]) -> dict[str, Any]:
        self.need("write", "issues:create")
        team = self.sim.teams.get(str(input["teamId"]))
        if team is None:
            raise not_found("Team")
        if not input.get("title"):
            raise linear_error("title must not be empty", "INVALID_INPUT")
        extra: dict[str, Any] = {
            "priority": input.get("priority") or 0,
            "assignee_id": input.get("assigneeId"),
            "label_ids": list(input.get("labelIds") or []),
            "project_id": input.get("projectId"),
            "parent_id": input.get("parentId"),
            "due_date": input.get("dueDate"),
        }
        if input.get("stateId"):
            found = self.sim.state(str(input["stateId"]))
            if found is None or found[0].id != team.id:
                raise not_found("WorkflowState")
            extra["state_id"] = input["stateId"]
        if extra["assignee_id"] and self.sim.user_by_id(extra["assignee_id"]) is None:
            raise not_found("User")
        if extra["parent_id"] and extra["parent_id"] not in self.sim.issues:
            raise not_found("Issue")
        item = self.sim.new_issue(
            team, self.caller.user, str(input["title"]), input.get("description"), **extra
        )
        self.sim.emit(
            "Issue",
            "create",
            self.sim.issue_data(self.base, item),
            self.caller.user,
            team_id=team.id,
            url=self.sim.issue_url(self.base, item),
        )
        return self.payload(issue=self.issue_view(item))

    def issueUpdate(self, info: Any, id: str, input: dict[str, Any]) -> dict[str, Any]:
        self.need("write")
        item = self.sim.find_issue(id)
        before = self.sim.apply_update(item, input)
        self.sim.emit(
            "Issue",
            "update",
            self.sim.issue_data(self.base, item),
            self.caller.user,
            team_id=item.team_id,
            url=self.sim.issue_url(self.base, item),
            updated_from=before,
        )
        return self.payload(issue=self.issue_view(item))

    def commentCreate(self, info: Any, input: dict[str, Any]) -> dict[str, Any]:
        self.need("write", "comments:create")
        if not input.get("issueId"):
            raise linear_error("the simulator comments on issues only: give issueId", "INVALID_INPUT")
        item = self.sim.find_issue(str(input["issueId"]))
        if not input.get("body"):
            raise linear_error("body must not be empty", "INVALID_INPUT")
        parent = input.get("parentId")
        if parent and not any(c.id == parent for c in item.comments):
            raise not_found("Comment")
        note = Comment(str(uuid.uuid4()), item.id, self.caller.user.id, str(input["body"]), parent)
        item.comments.append(note)
        item.updated_at = now_iso()
        self.sim.emit(
            "Comment",
            "create",
            self.sim.comment_data(self.base, note),
            self.caller.user,
            team_id=item.team_id,
            url=self.sim.issue_url(self.base, item),
        )
        return self.payload(comment=self.comment_view(note))

    def webhookCreate(self, info: Any, input: dict[str, Any]) -> dict[str, Any]:
        self.need("admin")
        url = str(input["url"])
        if not url.startswith(("http://", "https://")):
            raise linear_error("url must be an http(s) URL", "INVALID_INPUT")
        team_id = input.get("teamId")
        if team_id and team_id not in self.sim.teams:
            raise not_found("Team")
        if not team_id and not input.get("allPublicTeams"):
            raise linear_error("give teamId or allPublicTeams", "INVALID_INPUT")
        hook = Webhook(
            id=str(input.get("id") or uuid.uuid4()),
            url=url,
            resource_types=list(input["resourceTypes"]),
            # Linear issues the signing secret when the input has none.
            secret=str(input.get("secret") or f"lin_wh_{secrets.token_hex(24)}"),
            label=input.get("label"),
            team_id=team_id,
            all_public_teams=bool(input.get("allPublicTeams")) and not team_id,
            creator_id=self.caller.user.id,
            enabled=input.get("enabled", True) is not False,
        )
        self.sim.webhooks[hook.id] = hook
        return self.payload(webhook=self.webhook_view(hook))

    def webhookDelete(self, info: Any, id: str) -> dict[str, Any]:
        self.need("admin")
        if self.sim.webhooks.pop(id, None) is None:
            raise not_found("Webhook")
        return {"success": True, "lastSyncId": float(time.time_ns() // 1000), "entityId": id}
