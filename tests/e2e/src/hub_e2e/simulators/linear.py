"""The Linear simulator: Linear's OAuth (``flavors.Linear``), a GraphQL endpoint that executes the
operations the ``linear`` connector sends against Linear's published schema, rate-limit headers,
and webhooks signed as Linear signs them.

Behaviour, from Linear's developer documentation (GraphQL API, OAuth, Rate limiting, Webhooks):

- ``POST /graphql``; ``Authorization: Bearer <OAuth token>`` or ``Authorization: <personal API key>``
  (a key is taken without ``Bearer``); anything else is 401 with an ``AUTHENTICATION_ERROR``;
- every document is parsed and validated against ``linear-schema.graphql`` (400
  ``GRAPHQL_VALIDATION_FAILED`` otherwise) and then executed by graphql-core against that schema,
  so an answer has exactly the shape Linear's types allow; the resolvers cover the connector's
  operations (viewer, organization, teams, issue, issues, searchIssues, workflowStates, issueCreate,
  issueUpdate, commentCreate, webhookCreate, webhookDelete) over an in-memory workspace;
- scopes: writes need ``write`` (or ``issues:create`` / ``comments:create``), webhooks ``admin``
  (``FORBIDDEN`` otherwise); unknown ids are ``INVALID_INPUT`` "Entity not found";
- ``X-RateLimit-Requests-{Limit,Remaining,Reset}`` and ``X-RateLimit-Complexity-{...}`` (resets in
  epoch milliseconds) and ``X-Complexity`` on every answer; a spent budget is HTTP 400 with a
  ``RATELIMITED`` GraphQL error;
- connections paginate with ``first``/``after`` and ``pageInfo { hasNextPage endCursor }``;
- webhooks (``webhookCreate``) get ``{action, type, data, updatedFrom, actor, createdAt, url,
  organizationId, webhookTimestamp, webhookId}`` for the resource types they subscribe to, with
  ``Linear-Delivery``, ``Linear-Event`` and ``Linear-Signature`` (hex HMAC-SHA256 of the body with the
  webhook's secret, which Linear issues when none is given).

One workspace ("Simulated Workspace") with team ENG ("Engineering") and its five workflow states;
``GET /_sim/linear/workspace`` lists their ids. Every user a token belongs to is a member.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import hashlib
import json
import secrets
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from graphql import (
    GraphQLError,
    GraphQLSchema,
    build_schema,
    execute,
    parse,
    validate,
)
from graphql.language import FieldNode, OperationDefinitionNode
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from hub_connector_sdk import sign_webhook
from hub_connector_sdk.testkit import spec_file
from hub_e2e.simulators.crypto import secrets_equal
from hub_e2e.simulators.framework import EventError, ProviderSimulator, provider_of
from hub_e2e.simulators.httpio import bearer_token
from hub_e2e.simulators.identity import person
from hub_e2e.simulators.spec_guard import SpecGuard, WebhookGuard
from hub_e2e.simulators.state import Simulator

SCHEMA_FILE = "linear-schema.graphql"
WINDOW_S = 3600
REQUESTS_LIMIT = 1500  # Linear: 1,500 requests per hour per user (OAuth app / API key)
COMPLEXITY_LIMIT = 250_000
MAX_FIRST = 250
ALL_SCOPES = ("read", "write", "admin", "issues:create", "comments:create")
STATES = (  # name, type, colour: the workflow Linear gives a new team
    ("Backlog", "backlog", "#bec2c8"),
    ("Todo", "unstarted", "#e2e2e2"),
    ("In Progress", "started", "#f2c94c"),
    ("Done", "completed", "#5e6ad2"),
    ("Canceled", "canceled", "#95a2b3"),
)
PRIORITY_LABELS = ("No priority", "Urgent", "High", "Medium", "Low")


def sim_uuid(*parts: str) -> str:
    """A stable UUID for a simulated entity (tests can compute the seeded ids)."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "linear-sim:" + ":".join(parts)))


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def linear_error(
    message: str, code: str, *, kind: str = "invalid input", user: str | None = None
) -> GraphQLError:
    extensions = {"type": kind, "code": code, "userPresentableMessage": user or message}
    return GraphQLError(message, extensions=extensions)


def not_found(entity: str) -> GraphQLError:
    return linear_error(
        f"Entity not found: {entity}", "INVALID_INPUT", user=f"Could not find referenced {entity}."
    )


class GraphQLGuard(SpecGuard):
    """The published schema, parsed once; ``active`` when it was found."""

    def __init__(self, schema: GraphQLSchema | None) -> None:
        super().__init__(None)
        self.schema = schema

    @property
    def active(self) -> bool:
        return self.schema is not None

    @classmethod
    def load_schema(cls, *, required: bool = False) -> GraphQLGuard:
        path = spec_file(SCHEMA_FILE)
        if path is None:
            if required:
                raise FileNotFoundError(
                    f"provider API description {SCHEMA_FILE!r} not found (set HUB_SPECS_DIR)"
                )
            return cls(None)
        return cls(_schema(str(path)))


@functools.cache
def _schema(path: str) -> GraphQLSchema:
    """Built once per process: the SDL is 1.25 MB."""
    return build_schema(Path(path).read_text(encoding="utf-8"))


# -- state ---------------------------------------------------------------------------------------------
@dataclass
class User:
    id: str
    login: str
    name: str
    email: str


@dataclass
class Team:
    id: str
    key: str
    name: str
    states: list[dict[str, Any]]
    next_number: int = 1


@dataclass
class Comment:
    id: str
    issue_id: str
    user_id: str
    body: str
    parent_id: str | None
    created_at: str = field(default_factory=now_iso)
    updated_at: str = field(default_factory=now_iso)


@dataclass
class Issue:
    id: str
    team_id: str
    number: int
    title: str
    description: str | None
    priority: int
    state_id: str
    creator_id: str
    assignee_id: str | None = None
    label_ids: list[str] = field(default_factory=list)
    project_id: str | None = None
    parent_id: str | None = None
    due_date: str | None = None
    created_at: str = field(default_factory=now_iso)
    updated_at: str = field(default_factory=now_iso)
    completed_at: str | None = None
    canceled_at: str | None = None
    comments: list[Comment] = field(default_factory=list)


@dataclass
class Webhook:
    id: str
    url: str
    resource_types: list[str]
    secret: str
    label: str | None
    team_id: str | None
    all_public_teams: bool
    creator_id: str
    enabled: bool = True
    created_at: str = field(default_factory=now_iso)

    def wants(self, kind: str, team_id: str | None) -> bool:
        if not self.enabled or kind not in self.resource_types:
            return False
        return self.all_public_teams or team_id is None or team_id == self.team_id


@dataclass
class Caller:
    user: User
    scopes: tuple[str, ...]
    credential: str  # which rate-limit window the call counts against


@dataclass
class Window:
    requests: int
    complexity: int
    used_requests: int = 0
    used_complexity: int = 0
    reset_ms: int = field(default_factory=lambda: int((time.time() + WINDOW_S) * 1000))

    def headers(self, cost: int) -> dict[str, str]:
        reset = str(self.reset_ms)
        return {
            "X-RateLimit-Requests-Limit": str(self.requests),
            "X-RateLimit-Requests-Remaining": str(max(self.requests - self.used_requests, 0)),
            "X-RateLimit-Requests-Reset": reset,
            "X-RateLimit-Complexity-Limit": str(self.complexity),
            "X-RateLimit-Complexity-Remaining": str(max(self.complexity - self.used_complexity, 0)),
            "X-RateLimit-Complexity-Reset": reset,
            "X-Complexity": str(cost),
        }


class LinearSimulator(ProviderSimulator):
    name = "linear"
    oauth_flavor = "linear"
    spec_name = SCHEMA_FILE
    webhook_spec_name = None

    def __init__(self, guard: SpecGuard, webhook_guard: WebhookGuard | None = None) -> None:
        super().__init__(guard, webhook_guard)
        self.requests_limit = REQUESTS_LIMIT
        self.complexity_limit = COMPLEXITY_LIMIT
        self.api_keys: dict[str, Caller] = {}
        self.reset()

    @classmethod
    def load(cls, *, require_spec: bool = False) -> LinearSimulator:
        return cls(GraphQLGuard.load_schema(required=require_spec))

    @property
    def schema(self) -> GraphQLSchema | None:
        return self.guard.schema if isinstance(self.guard, GraphQLGuard) else None

    def reset(self) -> None:
        super().reset()
        self.org = {"id": sim_uuid("org"), "name": "Simulated Workspace", "urlKey": "simulated"}
        self.users: dict[str, User] = {}
        self.teams: dict[str, Team] = {}
        self.issues: dict[str, Issue] = {}
        self.webhooks: dict[str, Webhook] = {}
        self.windows: dict[str, Window] = {}
        self.calls: list[dict[str, Any]] = []  # operation name and variables of every executed call
        self.holds: dict[str, int] = {}  # operation -> calls let through before the rest wait
        self.released = asyncio.Event()
        self.add_team("ENG", "Engineering")

    # -- workspace --------------------------------------------------------------------------------
    def add_team(self, key: str, name: str) -> Team:
        team_id = sim_uuid("team", key)
        states = [
            {"id": sim_uuid("state", key, state), "name": state, "type": kind, "color": colour, "position": i}
            for i, (state, kind, colour) in enumerate(STATES)
        ]
        self.teams[team_id] = Team(team_id, key, name, states)
        return self.teams[team_id]

    def user(self, login: str) -> User:
        if login not in self.users:
            who = person(login)
            self.users[login] = User(sim_uuid("user", login), login, who["name"], who["email"])
        return self.users[login]

    def user_by_id(self, user_id: str | None) -> User | None:
        return next((u for u in self.users.values() if u.id == user_id), None)

    def state(self, state_id: str) -> tuple[Team, dict[str, Any]] | None:
        for team in self.teams.values():
            for state in team.states:
                if state["id"] == state_id:
                    return team, state
        return None

    def find_issue(self, ref: str) -> Issue:
        """By UUID or by identifier (``ENG-12``), as Linear's ``issue(id:)`` accepts both."""
        if ref in self.issues:
            return self.issues[ref]
        key, _, number = ref.rpartition("-")
        for item in self.issues.values():
            team = self.teams[item.team_id]
            if team.key.lower() == key.lower() and str(item.number) == number:
                return item
        raise not_found("Issue")

    def add_api_key(self, token: str, login: str) -> None:
        """Accept ``token`` as a personal API key of ``login`` (every scope)."""
        digest = hashlib.sha256(token.encode()).hexdigest()[:16]
        self.api_keys[token] = Caller(self.user(login), ALL_SCOPES, f"key:{digest}")

    add_pat = add_api_key  # hub-sim --pat

    # -- request pipeline -------------------------------------------------------------------------
    def authenticate(self, request: Request) -> Caller | None:
        sim: Simulator = request.app.state.sim
        oauth = bearer_token(request)
        if oauth:
            token = sim.store.valid_access_token(oauth)
            if token is not None:
                return Caller(
                    self.user(token.subject), token.scope, f"oauth:{token.family_id or token.value}"
                )
            return None
        raw = request.headers.get("authorization", "").strip()
        for key, caller in self.api_keys.items():
            if raw and secrets_equal(raw, key):
                return caller
        return None

    def window(self, caller: Caller) -> Window:
        current = self.windows.get(caller.credential)
        if current is None or current.reset_ms <= time.time() * 1000:
            current = self.windows[caller.credential] = Window(self.requests_limit, self.complexity_limit)
        return current

    async def graphql(self, request: Request) -> Response:
        caller = self.authenticate(request)
        if caller is None:
            error = linear_error(
                "Authentication required, not authenticated",
                "AUTHENTICATION_ERROR",
                kind="authentication error",
                user="You need to authenticate to access this operation.",
            )
            return JSONResponse({"errors": [error.formatted]}, status_code=401)
        try:
            body = json.loads(await request.body() or b"null")
        except ValueError:
            body = None
        if not isinstance(body, dict) or not isinstance(body.get("query"), str):
            return _errors(400, linear_error("Must provide query string.", "BAD_USER_INPUT"))
        variables = body.get("variables") or {}
        if not isinstance(variables, dict):
            return _errors(400, linear_error("variables must be an object", "BAD_USER_INPUT"))
        if self.schema is None:
            return _errors(
                500, linear_error(f"{SCHEMA_FILE} not loaded (set HUB_SPECS_DIR)", "INTERNAL_ERROR")
            )
        try:
            document = parse(body["query"])
        except GraphQLError as err:
            return _errors(400, linear_error(err.message, "GRAPHQL_PARSE_FAILED"))
        problems = validate(self.schema, document)
        if problems:
            return _errors(
                400, *[linear_error(p.message, "GRAPHQL_VALIDATION_FAILED") for p in problems[:10]]
            )
        window = self.window(caller)
        cost = complexity(document, variables)
        if window.used_requests >= window.requests or window.used_complexity + cost > window.complexity:
            limited = linear_error(
                "Rate limit exceeded",
                "RATELIMITED",
                kind="ratelimited",
                user="Too many requests, please try again later.",
            )
            return _errors(400, limited, headers=window.headers(cost))
        window.used_requests += 1
        window.used_complexity += cost
        name = operation_of(document, body.get("operationName"))
        await self.wait_if_held(name)
        self.calls.append({"operation": name, "variables": variables})
        result = execute(
            self.schema,
            document,
            root_value=Root(self, caller, str(request.base_url).rstrip("/")),
            variable_values=variables,
            operation_name=body.get("operationName"),
        )
        assert not isinstance(result, Awaitable)  # every resolver is synchronous
        status = 400 if result.data is None and result.errors and _before_execution(result.errors) else 200
        return JSONResponse(result.formatted, status_code=status, headers=window.headers(cost))

    async def wait_if_held(self, operation: str | None) -> None:
        """``POST /_sim/linear/hold``: after N calls of an operation the next ones wait for release
        (tests use it to stop an export mid-way)."""
        allowed = self.holds.get(operation or "")
        if allowed is None:
            return
        if sum(1 for c in self.calls if c["operation"] == operation) >= allowed:
            await self.released.wait()

    # -- webhooks ---------------------------------------------------------------------------------
    def event_catalog(self) -> Mapping[str, tuple[str, ...]]:
        return {"Issue": ("create", "update"), "Comment": ("create",)}

    def payload_schema(self, event: str, action: str | None) -> str:
        return f"{event}.{action}"  # no published webhook schema: nothing is checked

    def webhook_headers(
        self, event: str, body: bytes, secret: str | None, guid: str, hook_id: int | None
    ) -> dict[str, str]:
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": "Linear-Webhook",
            "Linear-Delivery": guid,
            "Linear-Event": event,
        }
        if secret:
            headers.update(sign_webhook("linear", secret, body))  # what the hub verifies
        return headers

    def emit(
        self,
        kind: str,
        action: str,
        data: dict[str, Any],
        actor: User,
        *,
        team_id: str | None,
        url: str,
        updated_from: dict[str, Any] | None = None,
    ) -> None:
        for hook in list(self.webhooks.values()):
            if hook.wants(kind, team_id):
                payload = self.event_payload(kind, action, data, actor, url=url, updated_from=updated_from)
                payload["webhookId"] = hook.id
                self.outbox.send_later(self.deliver(hook.url, hook.secret, kind, action, payload))

    def event_payload(
        self,
        kind: str,
        action: str,
        data: dict[str, Any],
        actor: User,
        *,
        url: str,
        updated_from: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "action": action,
            "actor": {"id": actor.id, "type": "user", "name": actor.name, "email": actor.email},
            "createdAt": now_iso(),
            "data": data,
            "url": url,
            "type": kind,
            "organizationId": self.org["id"],
            "webhookTimestamp": int(time.time() * 1000),
            "webhookId": sim_uuid("webhook", "none"),
        }
        if updated_from is not None:
            payload["updatedFrom"] = updated_from
        return payload

    def issue_data(self, base: str, item: Issue) -> dict[str, Any]:
        """An issue as Linear's webhooks carry it (ids and a few embedded objects)."""
        team = self.teams[item.team_id]
        _, state = self.state(item.state_id) or (team, {})
        return {
            "id": item.id,
            "createdAt": item.created_at,
            "updatedAt": item.updated_at,
            "number": item.number,
            "identifier": f"{team.key}-{item.number}",
            "title": item.title,
            "description": item.description,
            "priority": item.priority,
            "priorityLabel": PRIORITY_LABELS[item.priority],
            "url": self.issue_url(base, item),
            "stateId": item.state_id,
            "state": {k: state[k] for k in ("id", "name", "type", "color")},
            "teamId": team.id,
            "team": {"id": team.id, "key": team.key, "name": team.name},
            "assigneeId": item.assignee_id,
            "creatorId": item.creator_id,
            "labelIds": list(item.label_ids),
            "completedAt": item.completed_at,
            "canceledAt": item.canceled_at,
        }

    def comment_data(self, base: str, note: Comment) -> dict[str, Any]:
        item = self.issues[note.issue_id]
        author = self.user_by_id(note.user_id)
        team = self.teams[item.team_id]
        return {
            "id": note.id,
            "createdAt": note.created_at,
            "updatedAt": note.updated_at,
            "body": note.body,
            "issueId": item.id,
            "parentId": note.parent_id,
            "userId": note.user_id,
            "issue": {"id": item.id, "identifier": f"{team.key}-{item.number}", "title": item.title},
            "user": {"id": author.id, "name": author.name} if author else None,
        }

    def issue_url(self, base: str, item: Issue) -> str:
        team = self.teams[item.team_id]
        return f"{base}/{self.org['urlKey']}/issue/{team.key}-{item.number}"

    def build_event(self, request: Request, event: str, action: str | None, data: Mapping[str, Any]) -> Any:
        """A payload for ``/_sim/webhooks``: a new issue (``Issue.create``), a status change of one
        (``Issue.update``: ``data.state`` names the new state, default Done), a comment."""
        base = str(request.base_url).rstrip("/")
        actor = self.user(str(data.get("login") or "sim-user"))
        team = next(iter(self.teams.values()))
        ref = data.get("issue")
        if isinstance(ref, str):
            try:
                item = self.find_issue(ref)
            except GraphQLError as err:
                raise EventError(err.message) from None
        else:
            item = self.new_issue(team, actor, str(data.get("title") or f"Simulated {event} {action}"), None)
        if event == "Issue" and action == "create":
            return self.event_payload(
                "Issue", "create", self.issue_data(base, item), actor, url=self.issue_url(base, item)
            )
        if event == "Issue":
            wanted = str(data.get("state") or "Done").lower()
            state = next((s for s in self.teams[item.team_id].states if s["name"].lower() == wanted), None)
            if state is None:
                raise EventError(f"no workflow state named {data.get('state')!r}")
            before = self.apply_update(item, {"stateId": state["id"]})
            return self.event_payload(
                "Issue",
                "update",
                self.issue_data(base, item),
                actor,
                url=self.issue_url(base, item),
                updated_from=before,
            )
        note = Comment(
            sim_uuid("comment", str(uuid.uuid4())),
            item.id,
            actor.id,
            str(data.get("comment") or "A simulated comment."),
            None,
        )
        item.comments.append(note)
        return self.event_payload(
            "Comment", "create", self.comment_data(base, note), actor, url=self.issue_url(base, item)
        )

    def new_issue(
        self, team: Team, creator: User, title: str, description: str | None, **extra: Any
    ) -> Issue:
        item = Issue(
            id=str(extra.pop("id", None) or uuid.uuid4()),
            team_id=team.id,
            number=team.next_number,
            title=title,
            description=description,
            priority=int(extra.pop("priority", 0) or 0),
            state_id=str(extra.pop("state_id", None) or team.states[0]["id"]),
            creator_id=creator.id,
            **extra,
        )
        team.next_number += 1
        self.issues[item.id] = item
        return item

    def apply_update(self, item: Issue, changes: Mapping[str, Any]) -> dict[str, Any]:
        """Apply ``IssueUpdateInput`` fields; the previous values (Linear's ``updatedFrom``)."""
        columns = {
            "title": "title",
            "description": "description",
            "priority": "priority",
            "assigneeId": "assignee_id",
            "stateId": "state_id",
            "labelIds": "label_ids",
            "dueDate": "due_date",
            "projectId": "project_id",
            "parentId": "parent_id",
        }
        before: dict[str, Any] = {"updatedAt": item.updated_at}
        for name, value in changes.items():
            column = columns.get(name)
            if column is None:
                raise linear_error(f"the simulator does not update {name}", "INVALID_INPUT")
            if name == "stateId":
                found = self.state(str(value))
                if found is None or found[0].id != item.team_id:
                    raise not_found("WorkflowState")
                kind = found[1]["type"]
                item.completed_at = now_iso() if kind == "completed" else None
                item.canceled_at = now_iso() if kind == "canceled" else None
            if name == "assigneeId" and value is not None and self.user_by_id(str(value)) is None:
                raise not_found("User")
            if name == "priority" and not 0 <= int(value) <= 4:
                raise linear_error("priority must be between 0 and 4", "INVALID_INPUT")
            current = getattr(item, column)
            if current != value:
                before[name] = current
                setattr(item, column, value)
        item.updated_at = now_iso()
        return before

    # -- routes -----------------------------------------------------------------------------------
    def api_routes(self) -> list[BaseRoute]:
        async def endpoint(request: Request) -> Response:
            return await _linear(request).graphql(request)

        return [Route("/graphql", endpoint, methods=["POST"])]

    def admin_routes(self) -> list[BaseRoute]:
        return [
            Route("/api-keys", _add_api_key, methods=["POST"]),
            Route("/workspace", _workspace, methods=["GET"]),
            Route("/rate-limit", _set_rate_limit, methods=["POST"]),
            Route("/drain", _drain, methods=["POST"]),
            Route("/hold", _hold, methods=["POST"]),
            Route("/release", _release, methods=["POST"]),
            Route("/calls", _calls, methods=["GET"]),
        ]


# -- execution ------------------------------------------------------------------------------------------
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


def connection(nodes: list[dict[str, Any]], args: Mapping[str, Any]) -> dict[str, Any]:
    """Relay-style ``first``/``after`` over an already filtered and ordered list."""
    start = _offset(args.get("after")) if args.get("after") else 0
    first = int(args.get("first") or 50)
    if not 0 < first <= MAX_FIRST:
        raise linear_error(f"first must be between 1 and {MAX_FIRST}", "INVALID_INPUT")
    chunk = nodes[start : start + first]
    end = start + len(chunk)
    info = {
        "hasNextPage": end < len(nodes),
        "hasPreviousPage": start > 0,
        "startCursor": _cursor(start) if chunk else None,
        "endCursor": _cursor(end - 1) if chunk else None,
    }
    return {
        "nodes": chunk,
        "edges": [{"node": n, "cursor": _cursor(start + i)} for i, n in enumerate(chunk)],
        "pageInfo": info,
    }


def _cursor(index: int) -> str:
    return base64.urlsafe_b64encode(f"sim:{index}".encode()).decode()


def _offset(cursor: str) -> int:
    try:
        text = base64.urlsafe_b64decode(cursor.encode()).decode()
        if not text.startswith("sim:"):
            raise ValueError(text)
        return int(text[4:]) + 1
    except (ValueError, UnicodeDecodeError) as exc:
        raise linear_error("invalid cursor", "INVALID_INPUT") from exc


def ordered(views: list[dict[str, Any]], args: Mapping[str, Any]) -> list[dict[str, Any]]:
    """``sort: [{updatedAt|createdAt: {order}}]`` or ``orderBy``; default newest created first."""
    for entry in reversed(args.get("sort") or []):
        for name, spec in entry.items():
            if name not in ("updatedAt", "createdAt"):
                raise linear_error(
                    f"the simulator sorts by updatedAt or createdAt, not {name}", "INVALID_INPUT"
                )
            views = sorted(
                views, key=lambda v, n=name: v[n], reverse=(spec or {}).get("order") == "Descending"
            )
        return views
    key = args.get("orderBy") or "createdAt"
    return sorted(views, key=lambda v: v[str(key)], reverse=True)


_COMPARATORS: dict[str, Callable[[Any, Any], bool]] = {
    "eq": lambda a, b: a == b,
    "neq": lambda a, b: a != b,
    "in": lambda a, b: a in b,
    "nin": lambda a, b: a not in b,
    "gt": lambda a, b: a is not None and a > b,
    "gte": lambda a, b: a is not None and a >= b,
    "lt": lambda a, b: a is not None and a < b,
    "lte": lambda a, b: a is not None and a <= b,
    "eqIgnoreCase": lambda a, b: isinstance(a, str) and a.lower() == str(b).lower(),
    "contains": lambda a, b: isinstance(a, str) and str(b) in a,
    "containsIgnoreCase": lambda a, b: isinstance(a, str) and str(b).lower() in a.lower(),
    "startsWith": lambda a, b: isinstance(a, str) and a.startswith(str(b)),
    "null": lambda a, b: (a is None) == bool(b),
}


def matches(view: Mapping[str, Any] | None, condition: Mapping[str, Any]) -> bool:
    """Linear's filter objects (``{team: {id: {eq: ...}}, updatedAt: {gt: ...}, and: [...]}``)."""
    for name, wanted in condition.items():
        if name == "and":
            ok = all(matches(view, c) for c in wanted)
        elif name == "or":
            ok = any(matches(view, c) for c in wanted)
        elif name in _COMPARATORS:
            ok = _COMPARATORS[name](view, wanted)
        elif isinstance(wanted, Mapping):
            value = view.get(name) if isinstance(view, Mapping) else None
            if value is None and name not in (view or {}):
                raise linear_error(f"the simulator does not filter on {name}", "INVALID_INPUT")
            ok = matches(value, wanted) if isinstance(value, Mapping) else _compare(value, wanted)
        else:
            raise linear_error(f"unsupported filter {name}", "INVALID_INPUT")
        if not ok:
            return False
    return True


def _compare(value: Any, comparators: Mapping[str, Any]) -> bool:
    for op, operand in comparators.items():
        check = _COMPARATORS.get(op)
        if check is None:
            raise linear_error(f"the simulator does not support the comparator {op}", "INVALID_INPUT")
        if not check(value, operand):
            return False
    return True


def complexity(document: Any, variables: Mapping[str, Any]) -> int:
    """An estimate of Linear's query complexity: one point per selected field, times the page size
    of the connection it sits in (Linear documents a similar scheme: objects x page sizes)."""
    first = variables.get("first")
    page = int(first) if isinstance(first, int) and first > 0 else 1
    fields = sum(1 for _ in _fields(document))
    return max(1, fields * page // 10 + 1)


def _fields(node: Any) -> Iterable[FieldNode]:
    for definition in getattr(node, "definitions", []) or []:
        yield from _fields(definition)
    selection_set = getattr(node, "selection_set", None)
    for child in selection_set.selections if selection_set else []:
        if isinstance(child, FieldNode):
            yield child
        yield from _fields(child)


def operation_of(document: Any, wanted: Any) -> str | None:
    names = [d.name.value for d in document.definitions if isinstance(d, OperationDefinitionNode) and d.name]
    return str(wanted) if isinstance(wanted, str) and wanted in names else (names[0] if names else None)


def _before_execution(errors: list[GraphQLError]) -> bool:
    """Variable errors (wrong type, missing required) come before execution: HTTP 400."""
    return all(not e.path for e in errors)


def _errors(status: int, *errors: GraphQLError, headers: Mapping[str, str] | None = None) -> JSONResponse:
    return JSONResponse(
        {"errors": [e.formatted for e in errors]}, status_code=status, headers=dict(headers or {})
    )


# -- administration -------------------------------------------------------------------------------------
def _linear(request: Request) -> LinearSimulator:
    provider = provider_of(request)
    assert isinstance(provider, LinearSimulator)
    return provider


async def _admin_body(request: Request) -> dict[str, Any] | None:
    try:
        body = json.loads(await request.body() or b"{}")
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


async def _add_api_key(request: Request) -> Response:
    """``{"token": "lin_api_…", "login": "alice"}``: a personal API key."""
    body = await _admin_body(request)
    token = (body or {}).get("token")
    login = (body or {}).get("login", "sim-user")
    if not isinstance(token, str) or len(token) < 8 or not isinstance(login, str) or not login:
        return JSONResponse({"error": "bad_request", "detail": "token (8+ chars) and login"}, status_code=400)
    _linear(request).add_api_key(token, login)
    return JSONResponse({"login": login}, status_code=201)


async def _workspace(request: Request) -> Response:
    sim = _linear(request)
    teams = [
        {
            "id": t.id,
            "key": t.key,
            "name": t.name,
            "states": [{k: s[k] for k in ("id", "name", "type")} for s in t.states],
        }
        for t in sim.teams.values()
    ]
    users = [{"id": u.id, "login": u.login, "name": u.name} for u in sim.users.values()]
    hooks = [{"id": h.id, "url": h.url, "resourceTypes": h.resource_types} for h in sim.webhooks.values()]
    return JSONResponse({"organization": sim.org, "teams": teams, "users": users, "webhooks": hooks})


async def _set_rate_limit(request: Request) -> Response:
    """``{"requests": 10, "complexity": 1000}``: the hourly budgets, every window reset."""
    body = await _admin_body(request) or {}
    sim = _linear(request)
    for name in ("requests", "complexity"):
        value = body.get(name)
        if value is None:
            continue
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            return JSONResponse({"error": "bad_request", "detail": f"{name} is a non-negative integer"}, 400)
        setattr(sim, f"{name}_limit", value)
    sim.windows.clear()
    return JSONResponse({"requests": sim.requests_limit, "complexity": sim.complexity_limit})


async def _drain(request: Request) -> Response:
    """Wait until every webhook the simulator has queued was attempted."""
    await _linear(request).outbox.drain()
    return Response(status_code=204)


async def _hold(request: Request) -> Response:
    """``{"operation": "ExportIssues", "after": 1}``: that many calls pass, later ones wait."""
    body = await _admin_body(request) or {}
    operation, after = body.get("operation"), body.get("after", 0)
    if not isinstance(operation, str) or not isinstance(after, int) or after < 0:
        return JSONResponse({"error": "bad_request", "detail": "operation and after (>= 0)"}, 400)
    sim = _linear(request)
    sim.released.clear()
    sim.holds[operation] = after
    return JSONResponse({"operation": operation, "after": after})


async def _release(request: Request) -> Response:
    sim = _linear(request)
    sim.holds.clear()
    sim.released.set()
    return Response(status_code=204)


async def _calls(request: Request) -> Response:
    return JSONResponse(_linear(request).calls)
