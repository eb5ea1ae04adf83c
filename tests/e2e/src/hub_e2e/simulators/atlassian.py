"""The Atlassian simulator: Atlassian OAuth 2.0 (3LO) (``flavors.Atlassian``: ``audience`` and
``prompt=consent`` required, JSON token requests, ``offline_access`` for a refresh token,
rotating refresh tokens, 403 ``invalid_grant`` for a spent one, accessible-resources), the Jira
REST v3 operations the ``jira`` connectors use, Jira dynamic webhooks, and Confluence
(``atlassian_confluence``: REST v2 pages, spaces, comments, admin webhooks). Administration under
``/_sim/atlassian``: ``webhooks`` (the dynamic webhooks), ``seed`` (issues, a search delay),
``confluence-webhooks`` (the admin's webhook form), ``drain``.

Behaviour, from Atlassian's documentation:

- OAuth calls go to ``/ex/jira/{cloud_id}/rest/api/3/...`` with ``Authorization: Bearer``; the
  cloud id must be one of the token's accessible resources (else 404). API tokens use basic auth
  (``email:token``, registered with ``--pat token:email``) at ``/rest/api/3/...`` (the site);
  anything else is 401 ``{"code": 401, "message": "Unauthorized"}``;
- every request is validated against ``jira-platform-v3.json`` (400 with Jira's
  ``{"errorMessages", "errors"}`` otherwise) and every answer against its response schema;
- ``X-RateLimit-Limit``/``-Remaining``/``-Reset`` (ISO 8601) on answers; past the limit, 429 with
  ``Retry-After`` and ``RateLimit-Reason``;
- issue search pages with ``nextPageToken`` (no token on the last page, ``isLast: true``);
- dynamic webhooks (``POST/DELETE /rest/api/3/webhook``, ``PUT .../refresh``) live 30 days;
  issue and comment changes are delivered to each webhook whose events and JQL filter match,
  with ``X-Atlassian-Webhook-Identifier`` (stable across retries) and
  ``Authorization: Bearer <JWT>``: HS256, signed with the registering OAuth app's client secret.

Simplified: the JQL of searches and webhook filters understands ``project = X``,
``project in (X, Y)``, ``status = "Name"``, ``issuekey = K``, ``updated >= "yyyy/MM/dd HH:mm"``,
joined by ``AND``,
and ``ORDER BY updated ASC|DESC``; every project has the workflow To Do → In Progress → Done.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route

from hub_connector_sdk.testkit import OpenApiSpec, spec_file
from hub_e2e.simulators.atlassian_base import Call, Caller, Handler, JiraError, now_jira, person
from hub_e2e.simulators.atlassian_confluence import PAGE_EVENTS, ConfluenceState, confluence_routes
from hub_e2e.simulators.crypto import secrets_equal
from hub_e2e.simulators.framework import EventError
from hub_e2e.simulators.spec_guard import AnswerViolation, SpecGuard, SpecViolation, WebhookGuard
from hub_e2e.simulators.state import Simulator

SITE_URL = "https://sim-site.atlassian.net"
WEBHOOK_DAYS = 30
RATE_WINDOW_S = 60
STATUSES = {"10000": "To Do", "10001": "In Progress", "10002": "Done"}
TRANSITIONS = {"11": "10000", "21": "10001", "31": "10002"}  # transition id -> target status id
TRANSITION_NAMES = {"11": "Reopen", "21": "Start progress", "31": "Done"}
CONFLUENCE_SPEC = "confluence-v2.json"
JIRA_EVENTS = ("jira:issue_created", "jira:issue_updated", "comment_created")


def relax_body_one_of(document: Any) -> Any:
    """confluence-v2.json describes page and comment bodies as ``oneOf`` the flat
    ``{representation, value}`` form and the nested ``{storage|atlas_doc_format|wiki: ...}``
    form, both open objects without required properties: every body matches both, so the
    ``oneOf`` can never hold. Checked as ``anyOf`` instead (the only change; see
    docs/connectors/confluence.md)."""
    if isinstance(document, dict):
        options = document.get("oneOf")
        if (
            isinstance(options, list)
            and options
            and all(isinstance(o, dict) and str(o.get("$ref", "")).endswith("BodyWrite") for o in options)
        ):
            document = {**{k: v for k, v in document.items() if k != "oneOf"}, "anyOf": options}
        return {k: relax_body_one_of(v) for k, v in document.items()}
    if isinstance(document, list):
        return [relax_body_one_of(v) for v in document]
    return document


def confluence_spec(*, required: bool = False) -> OpenApiSpec | None:
    path = spec_file(CONFLUENCE_SPEC)
    if path is None:
        if required:
            raise FileNotFoundError(
                f"provider API description {CONFLUENCE_SPEC!r} not found (set HUB_SPECS_DIR)"
            )
        return None
    document = relax_body_one_of(json.loads(path.read_text(encoding="utf-8")))
    return OpenApiSpec(document, source=str(path))


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def jwt_hs256(claims: Mapping[str, Any], secret: str) -> str:
    header = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
    payload = _b64(json.dumps(dict(claims), separators=(",", ":")).encode())
    signature = hmac.new(secret.encode(), f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{_b64(signature)}"


@dataclass
class JiraComment:
    id: str
    body: Any
    author: Caller
    created: str


@dataclass
class JiraIssue:
    id: str
    key: str
    project: str
    fields: dict[str, Any]
    comments: list[JiraComment] = field(default_factory=list)
    updated_at: datetime = field(default_factory=lambda: datetime.now(UTC))


@dataclass
class DynamicWebhook:
    id: int
    client_id: str | None
    url: str
    events: list[str]
    jql: str
    expires_at: datetime


# -- a tiny JQL --------------------------------------------------------------------------------------------
_CLAUSE = re.compile(
    r"^\s*(?P<field>project|status|updated|issuekey)\s*(?P<op>>=|!=|=|in|IN)\s*(?P<value>.+?)\s*$", re.I
)


def _values(raw: str) -> list[str]:
    raw = raw.strip()
    if raw.startswith("("):
        raw = raw.strip("()")
    return [v.strip().strip('"').strip("'") for v in raw.split(",") if v.strip()]


def jql_match(jql: str, issue: JiraIssue) -> bool:
    text = re.split(r"\border\s+by\b", jql, flags=re.I)[0].strip()
    if not text:
        return True
    for clause in re.split(r"\s+AND\s+", text, flags=re.I):
        clause = clause.strip()
        while clause.startswith("(") and clause.endswith(")"):
            clause = clause[1:-1].strip()
        if clause.lower() in ("project is not empty", ""):
            continue
        m = _CLAUSE.match(clause)
        if m is None:
            raise JiraError(400, f"Error in the JQL Query: the simulator does not understand {clause!r}.")
        fieldname, op, values = m.group("field").lower(), m.group("op").lower(), _values(m.group("value"))
        if fieldname == "updated":
            since = datetime.strptime(values[0].replace("-", "/"), "%Y/%m/%d %H:%M").replace(tzinfo=UTC)
            if issue.updated_at < since:
                return False
            continue
        actual = {
            "project": issue.project,
            "status": issue.fields["status"]["name"],
            "issuekey": issue.key,
        }[fieldname]
        hit = actual.lower() in [v.lower() for v in values]
        if (op == "!=") == hit:
            return False
    return True


class AtlassianSimulator(ConfluenceState):
    name = "atlassian"
    oauth_flavor = "atlassian"
    spec_name = "jira-platform-v3.json"
    api_prefixes = ("",)

    def __init__(
        self,
        guard: SpecGuard,
        webhook_guard: WebhookGuard | None = None,
        confluence_guard: SpecGuard | None = None,
    ) -> None:
        super().__init__(guard, webhook_guard)
        self.confluence_guard = confluence_guard or SpecGuard(None)
        self.rate_limit = 1000
        self.search_delay_s = 0.0
        self.api_tokens: dict[str, str] = {}  # token -> email
        self.reset()

    def add_pat(self, token: str, login: str) -> None:
        """An API token for ``login`` (an email), used with basic auth."""
        self.api_tokens[token] = login if "@" in login else f"{login}@example.test"

    @classmethod
    def load(cls, *, require_spec: bool = False) -> AtlassianSimulator:
        """Both descriptions from ``$HUB_SPECS_DIR``: Jira's, and Confluence's (with the one
        ``oneOf`` no body can satisfy read as ``anyOf``, see :func:`relax_body_one_of`)."""
        return cls(
            SpecGuard.load(cls.spec_name, required=require_spec),
            None,
            SpecGuard(confluence_spec(required=require_spec)),
        )

    def reset(self) -> None:
        super().reset()
        self.reset_confluence()
        self.issues: dict[str, JiraIssue] = {}
        self.webhooks: dict[int, DynamicWebhook] = {}
        self.windows: dict[str, tuple[float, int]] = {}
        self._ids = 10000
        self._numbers: dict[str, int] = {}

    def new_id(self) -> int:
        self._ids += 1
        return self._ids

    # -- authentication -------------------------------------------------------------------------------
    def authenticate(self, request: Request) -> Caller:
        sim: Simulator = request.app.state.sim
        scheme, _, value = request.headers.get("authorization", "").partition(" ")
        value = value.strip()
        if scheme.lower() == "bearer" and value:
            token = sim.store.valid_access_token(value)
            if token is not None:
                sites = tuple(str(s["id"]) for s in sim.settings.sites)
                digest = hashlib.sha256(token.subject.encode()).hexdigest()
                return Caller(
                    account_id=f"712020:{digest[:8]}-{digest[8:12]}-{digest[12:16]}-{digest[16:20]}-{digest[20:32]}",
                    name=token.subject.replace("-", " ").title(),
                    email=f"{token.subject}@example.test",
                    client_id=token.client_id,
                    credential=f"oauth:{token.family_id or token.value}",
                    cloud_ids=sites,
                )
        if scheme.lower() == "basic" and value:
            try:
                email, _, secret = base64.b64decode(value).decode().partition(":")
            except (ValueError, UnicodeDecodeError):
                raise JiraError(401) from None
            for api_token, owner in self.api_tokens.items():
                if secrets_equal(secret, api_token) and email == owner:
                    digest = hashlib.sha256(email.encode()).hexdigest()
                    return Caller(
                        f"5b10ac8d{digest[:16]}", email.split("@")[0], email, None, f"basic:{email}", ()
                    )
        raise JiraError(401)

    def _rate(self, caller: Caller) -> tuple[dict[str, str], bool]:
        started, used = self.windows.get(caller.credential, (time.time(), 0))
        if started + RATE_WINDOW_S <= time.time():
            started, used = time.time(), 0
        exhausted = used >= self.rate_limit
        self.windows[caller.credential] = (started, used + (0 if exhausted else 1))
        reset = datetime.fromtimestamp(started + RATE_WINDOW_S, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        headers = {
            "X-RateLimit-Limit": str(self.rate_limit),
            "X-RateLimit-Remaining": str(max(self.rate_limit - used - 1, 0)),
            "X-RateLimit-Reset": reset,
        }
        if exhausted:
            headers["Retry-After"] = str(max(1, int(started + RATE_WINDOW_S - time.time())))
            headers["RateLimit-Reason"] = "jira-quota-based"
        return headers, exhausted

    async def handle(
        self, request: Request, handler: Handler, *, product: str = "jira", described: bool = True
    ) -> Response:
        """Authenticate, count, validate (``described``: the operation is in the product's
        description), answer, and check the answer against the description."""
        headers: dict[str, str] = {}
        template: str | None = None
        guard = self.confluence_guard if product == "confluence" else self.guard
        try:
            caller = self.authenticate(request)
            cloud_id = request.path_params.get("cloud_id")
            if cloud_id is not None and cloud_id not in caller.cloud_ids:
                raise JiraError(404, "Site not found or not accessible with this token.")
            if cloud_id is None and caller.client_id is not None:
                raise JiraError(401)  # OAuth tokens only work through api.atlassian.com/ex/...
            headers, exhausted = self._rate(caller)
            if exhausted:
                raise JiraError(429, "Rate limit exceeded.")
            body = await self._json_body(request)
            template = self._validate(request, body, product, guard) if described else None
            base = str(request.base_url).rstrip("/")
            site = f"{base}/ex/{product}/{cloud_id}" if cloud_id else base
            status, answer = await handler(self, Call(request, caller, body, site))
        except JiraError as err:
            response = err.response(product)
            response.headers.update(headers)
            return response
        try:
            guard.check_answer(request.method, template, status, answer)
        except AnswerViolation as err:  # a simulator bug: loud, never passed on
            return JSONResponse({"errorMessages": [f"simulator answer broke the description: {err}"]}, 500)
        if answer is None:
            return Response(status_code=status, headers=headers)
        return JSONResponse(answer, status_code=status, headers=headers)

    @staticmethod
    async def _json_body(request: Request) -> Any:
        raw = await request.body()
        if not raw:
            return None
        try:
            return json.loads(raw)
        except ValueError:
            raise JiraError(400, "Unexpected character in the JSON body.") from None

    @staticmethod
    def _validate(request: Request, body: Any, product: str, guard: SpecGuard) -> str | None:
        path = re.sub(r"^/ex/[a-z]+/[^/]+", "", request.url.path)
        if product == "confluence":  # confluence-v2.json's paths are relative to /wiki/api/v2
            path = path.removeprefix("/wiki/api/v2")
        grouped: dict[str, Any] = {}
        for key, value in request.query_params.multi_items():
            grouped.setdefault(key, []).append(value)
        flat = {k: v[0] if len(v) == 1 else v for k, v in grouped.items()}
        try:
            return guard.check_request(request.method, path, flat, body, request.headers)
        except SpecViolation as err:
            raise JiraError(400, *err.problems) from None

    # -- state ---------------------------------------------------------------------------------------------
    def issue_of(self, call: Call) -> JiraIssue:
        ref = call.request.path_params["issue"]
        found = self.issues.get(ref.upper()) or next((i for i in self.issues.values() if i.id == ref), None)
        if found is None:
            raise JiraError(404, "Issue does not exist or you do not have permission to see it.")
        return found

    def add_issue(
        self, project: str, summary: str, reporter: Caller, site: str, fields: Mapping[str, Any] | None = None
    ) -> JiraIssue:
        fields = fields or {}
        self._numbers[project] = self._numbers.get(project, 0) + 1
        key = f"{project}-{self._numbers[project]}"
        issue_id = str(self.new_id())
        stamp = now_jira()
        issue = JiraIssue(
            issue_id,
            key,
            project,
            {
                "summary": summary,
                "description": fields.get("description"),
                "status": {"id": "10000", "name": STATUSES["10000"]},
                "issuetype": {"name": (fields.get("issuetype") or {}).get("name", "Task")},
                "project": {"key": project, "name": project.title()},
                "labels": list(fields.get("labels") or []),
                "priority": fields.get("priority") or {"name": "Medium"},
                "assignee": fields.get("assignee"),
                "reporter": person(reporter, site),
                "created": stamp,
                "updated": stamp,
            },
        )
        self.issues[key] = issue
        return issue

    def issue_json(self, issue: JiraIssue, site: str, *, comments: bool = False) -> dict[str, Any]:
        fields = dict(issue.fields)
        if comments:
            items = [self.comment_json(issue, c, site) for c in issue.comments]
            fields["comment"] = {
                "comments": items,
                "maxResults": len(items),
                "total": len(items),
                "startAt": 0,
            }
        return {
            "id": issue.id,
            "key": issue.key,
            "self": f"{site}/rest/api/3/issue/{issue.id}",
            "fields": fields,
        }

    @staticmethod
    def comment_json(issue: JiraIssue, comment: JiraComment, site: str) -> dict[str, Any]:
        return {
            "id": comment.id,
            "self": f"{site}/rest/api/3/issue/{issue.id}/comment/{comment.id}",
            "author": person(comment.author, site),
            "body": comment.body,
            "created": comment.created,
            "updated": comment.created,
        }

    def touch(self, issue: JiraIssue) -> None:
        issue.updated_at = datetime.now(UTC)
        issue.fields["updated"] = now_jira(issue.updated_at)

    # -- API ---------------------------------------------------------------------------------------------
    def api_routes(self) -> list[BaseRoute]:
        def route(
            path: str, handler: Handler, method: str, product: str = "jira", described: bool = True
        ) -> Route:
            async def endpoint(request: Request) -> Response:
                return await self.handle(request, handler, product=product, described=described)

            return Route(path, endpoint, methods=[method])

        wiki = [route(p, h, m, "confluence", d) for p, h, m, d in confluence_routes()]

        jira = [
            route("/rest/api/3/myself", AtlassianSimulator.myself, "GET"),
            route("/rest/api/3/issue", AtlassianSimulator.create_issue, "POST"),
            route("/rest/api/3/issue/{issue}", AtlassianSimulator.edit_issue, "PUT"),
            route("/rest/api/3/issue/{issue}/comment", AtlassianSimulator.add_comment, "POST"),
            route("/rest/api/3/issue/{issue}/transitions", AtlassianSimulator.get_transitions, "GET"),
            route("/rest/api/3/issue/{issue}/transitions", AtlassianSimulator.do_transition, "POST"),
            route("/rest/api/3/issue/{issue}/assignee", AtlassianSimulator.assign, "PUT"),
            route("/rest/api/3/search/jql", AtlassianSimulator.search, "GET"),
            route("/rest/api/3/webhook", AtlassianSimulator.register_webhooks, "POST"),
            route("/rest/api/3/webhook", AtlassianSimulator.delete_webhooks, "DELETE"),
            route("/rest/api/3/webhook/refresh", AtlassianSimulator.refresh_webhooks, "PUT"),
        ]
        return [
            Mount("/ex/jira/{cloud_id}", routes=jira),
            Mount("/ex/confluence/{cloud_id}", routes=wiki),
            *jira,
            *wiki,
        ]

    async def myself(self, call: Call) -> tuple[int, Any]:
        me = person(call.caller, call.site)
        return 200, {**me, "emailAddress": call.caller.email, "timeZone": "UTC", "locale": "en_US"}

    async def create_issue(self, call: Call) -> tuple[int, Any]:
        fields = (call.body or {}).get("fields") or {}
        problems = {}
        if not str(fields.get("summary") or "").strip():
            problems["summary"] = "You must specify a summary of the issue."
        project = (fields.get("project") or {}).get("key")
        if not project:
            problems["project"] = "Specify a valid project ID or key"
        if problems:
            raise JiraError(400, errors=problems)
        issue = self.add_issue(str(project), str(fields["summary"]), call.caller, call.site, fields)
        self.emit(call, "jira:issue_created", issue)
        return 201, {"id": issue.id, "key": issue.key, "self": f"{call.site}/rest/api/3/issue/{issue.id}"}

    async def edit_issue(self, call: Call) -> tuple[int, Any]:
        issue = self.issue_of(call)
        fields = (call.body or {}).get("fields") or {}
        items = []
        for name, value in fields.items():
            if name not in ("summary", "description", "labels", "priority"):
                raise JiraError(
                    400,
                    errors={name: f"Field '{name}' cannot be set. It is not on the appropriate screen."},
                )
            items.append(
                {
                    "field": name,
                    "fieldtype": "jira",
                    "fieldId": name,
                    "from": None,
                    "fromString": None,
                    "to": None,
                    "toString": json.dumps(value)[:100],
                }
            )
            issue.fields[name] = value
        self.touch(issue)
        self.emit(call, "jira:issue_updated", issue, changelog=items)
        return 204, None

    async def add_comment(self, call: Call) -> tuple[int, Any]:
        issue = self.issue_of(call)
        body = (call.body or {}).get("body")
        if not isinstance(body, dict) or body.get("type") != "doc":
            raise JiraError(400, "Comment body is not valid: expected an Atlassian Document Format document.")
        comment = JiraComment(str(self.new_id()), body, call.caller, now_jira())
        issue.comments.append(comment)
        self.touch(issue)
        self.emit(call, "comment_created", issue, comment=comment)
        return 201, self.comment_json(issue, comment, call.site)

    async def get_transitions(self, call: Call) -> tuple[int, Any]:
        issue = self.issue_of(call)
        current = issue.fields["status"]["id"]
        return 200, {
            "transitions": [
                {
                    "id": tid,
                    "name": TRANSITION_NAMES[tid],
                    "to": {"id": sid, "name": STATUSES[sid], "self": f"{call.site}/rest/api/3/status/{sid}"},
                    "hasScreen": False,
                    "isAvailable": True,
                }
                for tid, sid in TRANSITIONS.items()
                if sid != current
            ]
        }

    async def do_transition(self, call: Call) -> tuple[int, Any]:
        issue = self.issue_of(call)
        tid = str(((call.body or {}).get("transition") or {}).get("id", ""))
        target = TRANSITIONS.get(tid)
        if target is None or target == issue.fields["status"]["id"]:
            raise JiraError(400, errors={"transition": f"Transition id '{tid}' is not valid for this issue."})
        before = issue.fields["status"]
        issue.fields["status"] = {"id": target, "name": STATUSES[target]}
        for entry in ((call.body or {}).get("update") or {}).get("comment") or []:
            added = (entry or {}).get("add") or {}
            if isinstance(added.get("body"), dict):
                issue.comments.append(JiraComment(str(self.new_id()), added["body"], call.caller, now_jira()))
        self.touch(issue)
        change = {
            "field": "status",
            "fieldtype": "jira",
            "fieldId": "status",
            "from": before["id"],
            "fromString": before["name"],
            "to": target,
            "toString": STATUSES[target],
        }
        self.emit(call, "jira:issue_updated", issue, changelog=[change])
        return 204, None

    async def assign(self, call: Call) -> tuple[int, Any]:
        issue = self.issue_of(call)
        account = (call.body or {}).get("accountId")
        before = issue.fields.get("assignee") or {}
        if account is None:
            issue.fields["assignee"] = None
        elif account == call.caller.account_id:
            issue.fields["assignee"] = person(call.caller, call.site)
        else:
            issue.fields["assignee"] = {
                "accountId": account,
                "displayName": f"User {account[-4:]}",
                "active": True,
            }
        self.touch(issue)
        change = {
            "field": "assignee",
            "fieldtype": "jira",
            "fieldId": "assignee",
            "from": before.get("accountId"),
            "fromString": before.get("displayName"),
            "to": account,
            "toString": (issue.fields["assignee"] or {}).get("displayName"),
        }
        self.emit(call, "jira:issue_updated", issue, changelog=[change])
        return 204, None

    async def search(self, call: Call) -> tuple[int, Any]:
        if self.search_delay_s:
            await asyncio.sleep(self.search_delay_s)
        query = call.request.query_params
        jql = query.get("jql", "")
        size = max(1, min(int(query.get("maxResults", 50)), 100))
        offset = (
            int(query.get("nextPageToken", "0") or 0) if query.get("nextPageToken", "0").isdigit() else -1
        )
        if offset < 0:
            raise JiraError(400, "The nextPageToken is invalid.")
        matching = [i for i in self.issues.values() if jql_match(jql, i)]
        descending = bool(re.search(r"order\s+by\s+\w+\s+desc", jql, re.I))
        matching.sort(key=lambda i: (i.updated_at, int(i.id)), reverse=descending)
        wanted = set((query.get("fields") or "").split(","))
        page = matching[offset : offset + size]
        answer: dict[str, Any] = {
            "issues": [self.issue_json(i, call.site, comments="comment" in wanted) for i in page],
            "isLast": offset + size >= len(matching),
        }
        if not answer["isLast"]:
            answer["nextPageToken"] = str(offset + size)
        return 200, answer

    # -- dynamic webhooks ------------------------------------------------------------------------------------
    async def register_webhooks(self, call: Call) -> tuple[int, Any]:
        if call.caller.client_id is None:
            raise JiraError(403, "Only Connect and OAuth 2.0 apps can register dynamic webhooks.")
        results: list[dict[str, Any]] = []
        for item in (call.body or {}).get("webhooks") or []:
            try:
                for issue in self.issues.values():  # the filter must parse
                    jql_match(item["jqlFilter"], issue)
            except JiraError as err:
                results.append({"errors": err.messages})
                continue
            hook = DynamicWebhook(
                self.new_id(),
                call.caller.client_id,
                call.body["url"],
                list(item["events"]),
                item["jqlFilter"],
                datetime.now(UTC) + timedelta(days=WEBHOOK_DAYS),
            )
            self.webhooks[hook.id] = hook
            results.append({"createdWebhookId": hook.id})
        return 200, {"webhookRegistrationResult": results}

    def _own_hooks(self, call: Call) -> list[int]:
        ids = (call.body or {}).get("webhookIds") or []
        return [i for i in ids if i in self.webhooks and self.webhooks[i].client_id == call.caller.client_id]

    async def delete_webhooks(self, call: Call) -> tuple[int, Any]:
        for hook_id in self._own_hooks(call):
            del self.webhooks[hook_id]
        return 202, None

    async def refresh_webhooks(self, call: Call) -> tuple[int, Any]:
        expires = datetime.now(UTC) + timedelta(days=WEBHOOK_DAYS)
        for hook_id in self._own_hooks(call):
            self.webhooks[hook_id].expires_at = expires
        return 200, {"expirationDate": int(expires.timestamp() * 1000)}

    def emit(
        self,
        call: Call,
        event: str,
        issue: JiraIssue,
        *,
        changelog: list[dict[str, Any]] | None = None,
        comment: JiraComment | None = None,
    ) -> None:
        """Deliver ``event`` to every live webhook it matches, after the answer (as Jira does)."""
        payload = self.event_payload(
            call.caller, call.site, event, issue, changelog=changelog, comment=comment
        )
        sim: Simulator = call.request.app.state.sim
        for hook in list(self.webhooks.values()):
            if event in hook.events and hook.expires_at > datetime.now(UTC) and jql_match(hook.jql, issue):
                client = sim.store.clients.get(hook.client_id or "")
                secret = client.client_secret if client else None
                self.outbox.send_later(
                    self.deliver(
                        hook.url,
                        secret,
                        event,
                        None,
                        {**payload, "matchedWebhookIds": [hook.id]},
                        hook_id=hook.id,
                    )
                )

    def event_payload(
        self,
        actor: Caller,
        site: str,
        event: str,
        issue: JiraIssue,
        *,
        changelog: list[dict[str, Any]] | None = None,
        comment: JiraComment | None = None,
    ) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "timestamp": int(time.time() * 1000),
            "webhookEvent": event,
            "user": person(actor, site),
            "issue": self.issue_json(issue, site),
        }
        if event.startswith("jira:"):
            payload["issue_event_type_name"] = (
                "issue_created" if event == "jira:issue_created" else "issue_generic"
            )
        if changelog is not None:
            payload["changelog"] = {"id": str(self.new_id()), "items": changelog}
        if comment is not None:
            payload["comment"] = self.comment_json(issue, comment, site)
            del payload["user"]
        return payload

    # -- /_sim/webhooks -------------------------------------------------------------------------------
    def event_catalog(self) -> Mapping[str, tuple[str, ...]]:
        return {event: () for event in (*JIRA_EVENTS, *PAGE_EVENTS)}

    def payload_schema(self, event: str, action: str | None) -> str:
        return event  # Jira publishes no webhook payload schemas: nothing to check against

    def build_event(self, request: Request, event: str, action: str | None, data: Mapping[str, Any]) -> Any:
        """A payload about ``data.issue_key`` (or a new issue in ``data.project``, default SIM);
        ``data.to_status`` makes an update a status change. Page events: about ``data.page_id``
        (or a new page in ``data.space_key``, default OPS)."""
        sim: Simulator = request.app.state.sim
        if event in PAGE_EVENTS:
            return self.page_event_payload(request, event, data)
        site_id = str(sim.settings.sites[0]["id"])
        site = f"{str(request.base_url).rstrip('/')}/ex/jira/{site_id}"
        actor = Caller(
            "712020:00000000-0000-4000-8000-000000000001",
            "Sim User",
            "sim@example.test",
            None,
            "sim",
            (site_id,),
        )
        key = data.get("issue_key")
        issue = self.issues.get(str(key).upper()) if key else None
        if key and issue is None:
            raise EventError(f"no issue {key}")
        if issue is None:
            issue = self.add_issue(
                str(data.get("project") or "SIM"), str(data.get("summary") or "Simulated issue"), actor, site
            )
        changelog = None
        comment = None
        if event == "jira:issue_updated":
            target = next(
                (
                    sid
                    for sid, name in STATUSES.items()
                    if name.lower() == str(data.get("to_status", "")).lower()
                ),
                None,
            )
            if target:
                before = issue.fields["status"]
                issue.fields["status"] = {"id": target, "name": STATUSES[target]}
                changelog = [
                    {
                        "field": "status",
                        "fieldtype": "jira",
                        "fieldId": "status",
                        "from": before["id"],
                        "fromString": before["name"],
                        "to": target,
                        "toString": STATUSES[target],
                    }
                ]
            else:
                changelog = [
                    {
                        "field": "summary",
                        "fieldtype": "jira",
                        "fieldId": "summary",
                        "from": None,
                        "fromString": issue.fields["summary"],
                        "to": None,
                        "toString": issue.fields["summary"],
                    }
                ]
            self.touch(issue)
        if event == "comment_created":
            text = str(data.get("body") or "A simulated comment")
            doc = {
                "type": "doc",
                "version": 1,
                "content": [{"type": "paragraph", "content": [{"type": "text", "text": text}]}],
            }
            comment = JiraComment(str(self.new_id()), doc, actor, now_jira())
            issue.comments.append(comment)
        return self.event_payload(actor, site, event, issue, changelog=changelog, comment=comment)

    def webhook_headers(
        self, event: str, body: bytes, secret: str | None, guid: str, hook_id: int | None
    ) -> dict[str, str]:
        if event in PAGE_EVENTS:
            return self.page_webhook_headers(body, secret)
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": "Atlassian Webhook HTTP Client",
            "X-Atlassian-Webhook-Identifier": guid,
            "X-Atlassian-Webhook-Retry": "0",
        }
        if secret:
            issued = int(time.time())
            claims = {"iss": "jira:sim", "iat": issued, "exp": issued + 180, "qsh": "context-qsh"}
            headers["Authorization"] = f"Bearer {jwt_hs256(claims, secret)}"
        return headers

    def admin_routes(self) -> list[BaseRoute]:
        async def drain(request: Request) -> Response:
            await self.outbox.drain()
            return Response(status_code=204)

        async def webhooks(request: Request) -> Response:
            return JSONResponse(
                [
                    {
                        "id": h.id,
                        "url": h.url,
                        "events": h.events,
                        "jqlFilter": h.jql,
                        "expirationDate": int(h.expires_at.timestamp() * 1000),
                    }
                    for h in self.webhooks.values()
                ]
            )

        async def seed(request: Request) -> Response:
            """``{"project", "count", "search_delay_s"?}``: add issues (content for exports) and
            slow searches down (so a test can stop the hub mid-export)."""
            body = json.loads(await request.body() or b"{}")
            sim: Simulator = request.app.state.sim
            site = f"{str(request.base_url).rstrip('/')}/ex/jira/{sim.settings.sites[0]['id']}"
            actor = Caller("712020:seed", "Seeder", "seed@example.test", None, "seed", ())
            keys = [
                self.add_issue(str(body.get("project", "SIM")), f"Seeded issue {n + 1}", actor, site).key
                for n in range(int(body.get("count", 0)))
            ]
            self.search_delay_s = float(body.get("search_delay_s", self.search_delay_s))
            return JSONResponse({"keys": keys}, status_code=201)

        return [
            Route("/drain", drain, methods=["POST"]),
            Route("/webhooks", webhooks, methods=["GET"]),
            Route("/seed", seed, methods=["POST"]),
            *self.confluence_admin_routes(),
        ]
