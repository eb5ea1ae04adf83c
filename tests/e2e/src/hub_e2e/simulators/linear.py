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

The resolvers are in ``linear_resolvers.py``, the workspace objects, connections and filters in
``linear_objects.py``. One workspace ("Simulated Workspace") with team ENG ("Engineering") and its
five workflow states; ``GET /_sim/linear/workspace`` lists their ids. Every user a token belongs
to is a member.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import json
import time
import uuid
from collections.abc import Awaitable, Mapping
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
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from hub_connector_sdk import sign_webhook
from hub_connector_sdk.testkit import spec_file
from hub_e2e.simulators.crypto import secrets_equal
from hub_e2e.simulators.framework import EventError, ProviderSimulator, provider_of
from hub_e2e.simulators.httpio import bearer_token
from hub_e2e.simulators.identity import person
from hub_e2e.simulators.linear_objects import (
    ALL_SCOPES,
    COMPLEXITY_LIMIT,
    PRIORITY_LABELS,
    REQUESTS_LIMIT,
    SCHEMA_FILE,
    STATES,
    Caller,
    Comment,
    Issue,
    Team,
    User,
    Webhook,
    Window,
    complexity,
    linear_error,
    not_found,
    now_iso,
    operation_of,
    sim_uuid,
)
from hub_e2e.simulators.linear_resolvers import Root
from hub_e2e.simulators.spec_guard import SpecGuard, WebhookGuard
from hub_e2e.simulators.state import Simulator

__all__ = ["LinearSimulator", "sim_uuid"]


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
        self.rate_limited = 0  # calls answered RATELIMITED
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
            self.rate_limited += 1
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
    return JSONResponse(
        {
            "organization": sim.org,
            "teams": teams,
            "users": users,
            "webhooks": hooks,
            "rate_limited": sim.rate_limited,
        }
    )


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
