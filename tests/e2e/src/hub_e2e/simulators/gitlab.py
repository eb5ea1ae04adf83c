"""The GitLab simulator: GitLab's OAuth (``flavors.GitLab``: Doorkeeper, 2 h access tokens,
refresh rotating the pair), the REST v4 operations the ``gitlab`` connector uses, rate limits and
project hooks that call back as GitLab does.

Behaviour, from GitLab's REST, rate-limit and webhook documentation:

- the API answers under ``/api/v4``; a project is its numeric id or its URL-encoded full path
  (``group%2Fproject``: the simulator routes on the raw path, so ``%2F`` stays one segment);
- ``PRIVATE-TOKEN: <token>`` (an access token registered with ``--pat``) or ``Authorization:
  Bearer <token>`` (an OAuth token the simulator issued); otherwise 401 ``{"message": "401
  Unauthorized"}``; an expired OAuth token gets GitLab's ``invalid_token`` body;
- requests of the operations in ``gitlab-v4.json`` are validated against it (400 otherwise);
  the four it lacks (``GET /user``, create/update issue, create note) are checked against the
  facts of gitlab-missing.md (``title is missing``, "at least one parameter", ``body is missing``);
  answers are not checked against the description, whose generated entity schemas contradict
  GitLab's real answers (lists typed as single objects, booleans as strings);
- ``RateLimit-Limit``, ``-Observed``, ``-Remaining``, ``-Reset`` and ``-ResetTime`` on every
  answer; past the limit 429 ``Retry later`` (text) with ``Retry-After``;
- lists paginate with ``page``/``per_page``, an RFC 8288 ``Link`` header and ``X-Page``,
  ``X-Next-Page``, ``X-Total``; ``GET /projects?pagination=keyset&order_by=id`` pages by keyset
  (``id_after`` in the ``Link``);
- errors as GitLab writes them: ``{"message": "404 Project Not Found"}``, validation
  ``{"message": {"field": ["problem"]}}``, Grape's ``{"error": "title is missing"}``;
- project hooks receive ``Issue Hook``, ``Merge Request Hook``, ``Note Hook`` and ``Push Hook``
  events with ``X-Gitlab-Event``, ``X-Gitlab-Event-UUID``, ``X-Gitlab-Webhook-UUID``,
  ``Idempotency-Key`` and ``X-Gitlab-Token`` (the hook's token itself); a hook with a
  ``signing_token`` (``whsec_<base64>``) also gets ``webhook-id`` (= the Idempotency-Key),
  ``webhook-timestamp`` and ``webhook-signature: v1,<base64 HMAC-SHA256 of "{id}.{ts}.{body}">``.

Each user owns ``<username>/sandbox``, ``/website`` and ``/docs`` from its first call;
``POST /_sim/gitlab/projects {"namespace", "path"}`` adds more, ``POST /_sim/gitlab/rate_limit
{"limit", "window_s"}`` sets the budget per credential.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import formatdate
from typing import Any
from urllib.parse import parse_qsl, unquote, urlencode

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from hub_connector_sdk import sign_webhook
from hub_e2e.simulators import gitlab_objects as gl
from hub_e2e.simulators.crypto import secrets_equal, stable_number
from hub_e2e.simulators.framework import Delivery, EventError, ProviderSimulator, provider_of
from hub_e2e.simulators.httpio import bearer_token
from hub_e2e.simulators.spec_guard import SpecGuard, SpecViolation, WebhookGuard
from hub_e2e.simulators.state import Simulator

API = "/api/v4"
SEED_PROJECTS = ("sandbox", "website", "docs")
RATE_WINDOW_S = 60
EVENT_HEADERS = {
    "issue": "Issue Hook",
    "merge_request": "Merge Request Hook",
    "note": "Note Hook",
    "push": "Push Hook",
}
UPDATE_ATTRS = (
    "assignee_id",
    "assignee_ids",
    "confidential",
    "created_at",
    "description",
    "discussion_locked",
    "due_date",
    "issue_type",
    "labels",
    "milestone_id",
    "state_event",
    "title",
    "add_labels",
    "remove_labels",
    "weight",
    "epic_id",
    "epic_iid",
)


class GitLabError(Exception):
    def __init__(self, status: int, message: Any, *, key: str = "message") -> None:
        super().__init__(str(message))
        self.status, self.body = status, {key: message}

    def response(self) -> Response:
        return JSONResponse(self.body, status_code=self.status)


def not_found(what: str) -> GitLabError:
    return GitLabError(404, f"404 {what} Not Found")


@dataclass
class RateWindow:
    limit: int
    seconds: int = RATE_WINDOW_S
    observed: int = 0
    reset: int = 0

    def __post_init__(self) -> None:
        self.reset = self.reset or int(time.time()) + self.seconds

    def headers(self) -> dict[str, str]:
        return {
            "RateLimit-Limit": str(self.limit),
            "RateLimit-Observed": str(self.observed),
            "RateLimit-Remaining": str(max(self.limit - self.observed, 0)),
            "RateLimit-Reset": str(self.reset),
            "RateLimit-ResetTime": formatdate(self.reset, usegmt=True),
        }


@dataclass
class Caller:
    username: str
    credential: str  # which rate-limit window the call counts against


@dataclass
class Call:
    request: Request
    caller: Caller
    path: str  # below /api/v4, still percent-encoded
    match: re.Match[str]
    query: dict[str, str]
    body: Any
    web: str


Handler = Callable[["GitLabSimulator", Call], Awaitable[tuple[int, Any, dict[str, str]]]]


class GitLabSimulator(ProviderSimulator):
    name = "gitlab"
    oauth_flavor = "gitlab"
    spec_name = "gitlab-v4.json"
    api_prefixes = (API,)

    def __init__(self, guard: SpecGuard, webhook_guard: WebhookGuard | None = None) -> None:
        super().__init__(guard, webhook_guard)
        self.rate_limit = 2000
        self.rate_window_s = RATE_WINDOW_S
        self.pats: dict[str, Caller] = {}
        self.reset()

    def reset(self) -> None:
        super().reset()
        self.projects: dict[int, gl.Project] = {}
        self.windows: dict[str, RateWindow] = {}
        self.users: dict[int, str] = {}
        self._ids = 5000

    def new_id(self) -> int:
        self._ids += 1
        return self._ids

    # -- state ------------------------------------------------------------------------------------
    def add_project(self, namespace: str, path: str) -> gl.Project:
        found = self.find_project(f"{namespace}/{path}")
        if found is None:
            found = gl.Project(
                stable_number("project", f"{namespace}/{path}".lower(), digits=7), namespace, path
            )
            self.projects[found.id] = found
        return found

    def find_project(self, ref: str) -> gl.Project | None:
        if ref.isdigit():
            return self.projects.get(int(ref))
        return next((p for p in self.projects.values() if p.full_path.lower() == ref.lower()), None)

    def seed(self, username: str) -> None:
        self.users[gl.user_id(username)] = username
        if not any(p.namespace == username for p in self.projects.values()):
            for path in SEED_PROJECTS:
                self.add_project(username, path)

    def project_for(self, call: Call) -> gl.Project:
        found = self.find_project(unquote(call.match["id"]))
        if found is None or found.namespace != call.caller.username:
            raise not_found("Project")  # GitLab hides what a token cannot see behind 404
        return found

    # -- request pipeline -------------------------------------------------------------------------
    def authenticate(self, request: Request) -> Caller:
        sim: Simulator = request.app.state.sim
        private = request.headers.get("private-token")
        if private:
            for pat, caller in self.pats.items():
                if secrets_equal(private, pat):
                    return caller
            raise GitLabError(401, "401 Unauthorized")
        value = bearer_token(request)
        if value:
            token, status = sim.store.access_status(value)
            if token is not None:
                return Caller(token.subject, f"oauth:{token.family_id or token.value}")
            if status == "expired":  # Doorkeeper's answer, which the hub must read as "refresh"
                err = GitLabError(401, "invalid_token", key="error")
                err.body["error_description"] = (
                    "Token is expired. You can either do re-authorization or token refresh."
                )
                raise err
        raise GitLabError(401, "401 Unauthorized")

    def window(self, caller: Caller) -> RateWindow:
        current = self.windows.get(caller.credential)
        if current is None or current.reset <= time.time():
            current = self.windows[caller.credential] = RateWindow(self.rate_limit, self.rate_window_s)
        return current

    async def dispatch(self, request: Request) -> Response:
        raw = request.scope.get("raw_path") or request.url.path.encode()
        path = raw.decode("latin-1").split("?", 1)[0].removeprefix(API) or "/"
        for method, pattern, handler, described in ROUTES:
            match = pattern.fullmatch(path)
            if match and method == request.method:
                return await self.handle(request, path, match, handler, described)
        if any(p.fullmatch(path) for _, p, _, _ in ROUTES):
            return JSONResponse({"error": "405 Method Not Allowed"}, status_code=405)
        return JSONResponse({"error": "404 Not Found"}, status_code=404)

    async def handle(
        self, request: Request, path: str, match: re.Match[str], handler: Handler, described: bool
    ) -> Response:
        headers: dict[str, str] = {}
        try:
            caller = self.authenticate(request)
            self.seed(caller.username)
            window = self.window(caller)
            if window.observed >= window.limit:
                wait = max(int(window.reset - time.time()), 1)
                refused = PlainTextResponse("Retry later\n", status_code=429)
                refused.headers.update({**window.headers(), "Retry-After": str(wait)})
                return refused
            window.observed += 1
            headers = window.headers()
            body = await self._json_body(request)
            query = dict(parse_qsl(request.url.query, keep_blank_values=True))
            if described:
                self._validate(request, API + path, body)
            call = Call(request, caller, path, match, query, body or {}, str(request.base_url).rstrip("/"))
            status, answer, extra = await handler(self, call)
        except GitLabError as err:
            response = err.response()
            response.headers.update(headers)
            return response
        if answer is None:
            return Response(status_code=status, headers={**headers, **extra})
        return JSONResponse(answer, status_code=status, headers={**headers, **extra})

    @staticmethod
    async def _json_body(request: Request) -> Any:
        raw = await request.body()
        if not raw:
            return None
        try:
            return json.loads(raw)
        except ValueError:
            raise GitLabError(400, "400 Bad request - JSON body is invalid", key="error") from None

    def _validate(self, request: Request, path: str, body: Any) -> None:
        grouped: dict[str, list[str]] = {}
        for key, value in request.query_params.multi_items():
            grouped.setdefault(key, []).append(value)
        flat = {k: v[0] if len(v) == 1 else v for k, v in grouped.items()}
        try:
            self.guard.check_request(request.method, path, flat, body, request.headers)
        except SpecViolation as err:
            raise GitLabError(400, "; ".join(err.problems), key="error") from None

    # -- pagination -------------------------------------------------------------------------------
    @staticmethod
    def page(call: Call, items: list[Any]) -> tuple[list[Any], dict[str, str]]:
        per_page = min(max(int(call.query.get("per_page", 20)), 1), 100)
        number = max(int(call.query.get("page", 1)), 1)
        total_pages = max((len(items) + per_page - 1) // per_page, 1)
        chunk = items[(number - 1) * per_page : number * per_page]
        base = f"{call.web}{API}{call.path}"

        def link(page: int, rel: str) -> str:
            params = {k: v for k, v in call.query.items() if k != "page"}
            return f'<{base}?{urlencode({**params, "page": page})}>; rel="{rel}"'

        links = [link(1, "first"), link(total_pages, "last")]
        if number > 1:
            links.insert(0, link(number - 1, "prev"))
        if number < total_pages:
            links.insert(0, link(number + 1, "next"))
        headers = {
            "Link": ", ".join(links),
            "X-Page": str(number),
            "X-Per-Page": str(per_page),
            "X-Total": str(len(items)),
            "X-Total-Pages": str(total_pages),
            "X-Next-Page": str(number + 1) if number < total_pages else "",
        }
        return chunk, headers

    # -- handlers ---------------------------------------------------------------------------------
    async def get_user(self, call: Call) -> tuple[int, Any, dict[str, str]]:
        return 200, gl.user(call.web, call.caller.username), {}

    async def list_projects(self, call: Call) -> tuple[int, Any, dict[str, str]]:
        mine = sorted(
            (p for p in self.projects.values() if p.namespace == call.caller.username), key=lambda p: p.id
        )
        if call.query.get("pagination") == "keyset":
            if call.query.get("order_by") != "id":
                raise GitLabError(405, "405 Method Not Allowed - keyset pagination needs order_by=id")
            per_page = min(max(int(call.query.get("per_page", 20)), 1), 100)
            after = int(call.query.get("id_after", 0))
            chunk = [p for p in mine if p.id > after][: per_page + 1]
            headers = {}
            if len(chunk) > per_page:
                chunk = chunk[:per_page]
                params = {**call.query, "id_after": chunk[-1].id}
                headers["Link"] = f'<{call.web}{API}/projects?{urlencode(params)}>; rel="next"'
            return 200, [gl.project(call.web, p) for p in chunk], headers
        chunk, headers = self.page(call, mine)
        return 200, [gl.project(call.web, p) for p in chunk], headers

    def _issues_sorted(self, call: Call, items: list[Any]) -> list[Any]:
        key = call.query.get("order_by", "created_at")
        items = sorted(items, key=lambda i: (getattr(i, key, i.created_at), i.iid))
        return items if call.query.get("sort", "desc") == "asc" else list(reversed(items))

    def _updated_after(self, call: Call, items: list[Any]) -> list[Any]:
        since = call.query.get("updated_after")
        if not since:
            return items
        try:
            moment = datetime.fromisoformat(since)
        except ValueError:
            raise GitLabError(400, "updated_after is invalid", key="error") from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return [i for i in items if i.updated_at >= moment]

    async def list_issues(self, call: Call) -> tuple[int, Any, dict[str, str]]:
        proj = self.project_for(call)
        state = call.query.get("state", "all")
        items = [i for i in proj.issues.values() if state == "all" or i.state == state]
        items = self._issues_sorted(call, self._updated_after(call, items))
        chunk, headers = self.page(call, items)
        return 200, [gl.issue(call.web, proj, i, self.users) for i in chunk], headers

    async def create_issue(self, call: Call) -> tuple[int, Any, dict[str, str]]:
        proj, body = self.project_for(call), call.body
        if not isinstance(body.get("title"), str) or not body["title"]:
            raise GitLabError(400, "title is missing", key="error")
        item = gl.Issue(
            self.new_id(),
            len(proj.issues) + 1,
            body["title"],
            body.get("description"),
            call.caller.username,
            labels=_labels(body.get("labels")),
            assignee_ids=list(body.get("assignee_ids") or []),
            confidential=bool(body.get("confidential", False)),
        )
        proj.issues[item.iid] = item
        self.emit(call.web, proj, "issue", gl.issue_hook(call.web, proj, item, call.caller.username, "open"))
        return 201, gl.issue(call.web, proj, item, self.users), {}

    async def update_issue(self, call: Call) -> tuple[int, Any, dict[str, str]]:
        proj, body = self.project_for(call), call.body
        item = proj.issues.get(int(call.match["iid"]))
        if item is None:
            raise not_found("Issue")
        if not any(k in body for k in UPDATE_ATTRS):
            raise GitLabError(
                400,
                f"{', '.join(UPDATE_ATTRS)} are missing, at least one parameter must be provided",
                key="error",
            )
        if "title" in body:
            if not body["title"]:
                raise GitLabError(400, {"title": ["can't be blank"]})
            item.title = body["title"]
        if "description" in body:
            item.description = body["description"]
        if "labels" in body:
            item.labels = _labels(body["labels"])
        item.labels += [x for x in _labels(body.get("add_labels")) if x not in item.labels]
        item.labels = [x for x in item.labels if x not in _labels(body.get("remove_labels"))]
        if "assignee_ids" in body:
            item.assignee_ids = list(body["assignee_ids"] or [])
        if "confidential" in body:
            item.confidential = bool(body["confidential"])
        action = "update"
        event = body.get("state_event")
        if event not in (None, "close", "reopen"):
            raise GitLabError(400, "state_event does not have a valid value", key="error")
        if event == "close" and item.state == "opened":
            item.state, item.closed_at, item.closed_by, action = (
                "closed",
                gl.now(),
                call.caller.username,
                "close",
            )
        elif event == "reopen" and item.state == "closed":
            item.state, item.closed_at, item.closed_by, action = "opened", None, None, "reopen"
        item.updated_at = gl.now()
        self.emit(call.web, proj, "issue", gl.issue_hook(call.web, proj, item, call.caller.username, action))
        return 200, gl.issue(call.web, proj, item, self.users), {}

    async def create_note(self, call: Call) -> tuple[int, Any, dict[str, str]]:
        proj, body = self.project_for(call), call.body
        item = proj.issues.get(int(call.match["iid"]))
        if item is None:
            raise not_found("Issue")
        if not isinstance(body.get("body"), str) or not body["body"]:
            raise GitLabError(400, "body is missing", key="error")
        note = gl.Note(self.new_id(), body["body"], call.caller.username, internal=bool(body.get("internal")))
        item.notes.append(note)
        item.updated_at = gl.now()
        self.emit(call.web, proj, "note", gl.note_hook(call.web, proj, item, note, call.caller.username))
        return 201, gl.note(call.web, proj, item, note), {}

    async def list_merge_requests(self, call: Call) -> tuple[int, Any, dict[str, str]]:
        proj = self.project_for(call)
        state = call.query.get("state", "all")
        items = [m for m in proj.merge_requests.values() if state == "all" or m.state == state]
        for key in ("source_branch", "target_branch"):
            if key in call.query:
                items = [m for m in items if getattr(m, key) == call.query[key]]
        if "search" in call.query:
            needle = call.query["search"].lower()
            items = [m for m in items if needle in m.title.lower() or needle in (m.description or "").lower()]
        items = self._issues_sorted(call, self._updated_after(call, items))
        chunk, headers = self.page(call, items)
        return 200, [gl.merge_request(call.web, proj, m) for m in chunk], headers

    async def create_merge_request(self, call: Call) -> tuple[int, Any, dict[str, str]]:
        proj, body = self.project_for(call), call.body
        if body["source_branch"] == body["target_branch"]:
            raise GitLabError(422, ["You can't use same project/branch for source and target"])
        existing = [
            m
            for m in proj.merge_requests.values()
            if m.state == "opened" and m.source_branch == body["source_branch"]
        ]
        if existing:
            raise GitLabError(
                409, [f"Another open merge request already exists for this source branch: !{existing[0].iid}"]
            )
        item = gl.MergeRequest(
            self.new_id(),
            len(proj.merge_requests) + 1,
            body["title"],
            body.get("description"),
            call.caller.username,
            body["source_branch"],
            body["target_branch"],
            proj.branch_sha(body["source_branch"]),
            labels=_labels(body.get("labels")),
            squash=bool(body.get("squash", False)),
        )
        proj.merge_requests[item.iid] = item
        hook = gl.merge_request_hook(call.web, proj, item, call.caller.username, "open")
        self.emit(call.web, proj, "merge_request", hook)
        return 201, gl.merge_request(call.web, proj, item), {}

    async def merge_merge_request(self, call: Call) -> tuple[int, Any, dict[str, str]]:
        proj, body = self.project_for(call), call.body
        item = proj.merge_requests.get(int(call.match["iid"]))
        if item is None:
            raise not_found("Merge Request")
        if item.state != "opened":
            raise GitLabError(405, "405 Method Not Allowed")
        if body.get("sha") and body["sha"] != item.sha:
            raise GitLabError(409, "SHA does not match HEAD of source branch: " + item.sha)
        stamp = gl.now()
        item.state, item.merged_at, item.merged_by, item.updated_at = (
            "merged",
            stamp,
            call.caller.username,
            stamp,
        )
        item.merge_commit_sha = gl.sha_of("merge", proj.full_path, str(item.iid))
        if body.get("squash") or item.squash:
            item.squash_commit_sha = gl.sha_of("squash", proj.full_path, str(item.iid))
        proj.branches[item.target_branch] = item.merge_commit_sha
        hook = gl.merge_request_hook(call.web, proj, item, call.caller.username, "merge")
        self.emit(call.web, proj, "merge_request", hook)
        return 200, gl.merge_request(call.web, proj, item), {}

    async def create_hook(self, call: Call) -> tuple[int, Any, dict[str, str]]:
        proj, body = self.project_for(call), call.body
        url = body.get("url")
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise GitLabError(422, {"url": ["is blocked: Only allowed schemes are http, https"]})
        signing = body.get("signing_token")
        if signing is not None and not re.fullmatch(r"whsec_[A-Za-z0-9+/]{43}=", str(signing)):
            raise GitLabError(
                422, {"signing_token": ["must be whsec_ followed by a base64-encoded 32-byte key"]}
            )
        flags = {flag: bool(body.get(flag, flag == "push_events")) for flag in gl.HOOK_FLAGS}
        item = gl.Hook(
            self.new_id(),
            url,
            body.get("token") or None,
            signing,
            flags,
            enable_ssl_verification=bool(body.get("enable_ssl_verification", True)),
        )
        proj.hooks[item.id] = item
        return 201, gl.hook(proj, item), {}

    async def delete_hook(self, call: Call) -> tuple[int, Any, dict[str, str]]:
        proj = self.project_for(call)
        if proj.hooks.pop(int(call.match["hook_id"]), None) is None:
            raise not_found("Hook")
        return 204, None, {}

    # -- webhooks ---------------------------------------------------------------------------------
    def event_catalog(self) -> Mapping[str, tuple[str, ...]]:
        return {
            "issue": ("open", "close", "reopen", "update"),
            "merge_request": ("open", "merge", "close", "update"),
            "note": (),
            "push": (),
        }

    def payload_schema(self, event: str, action: str | None) -> str:
        return event  # GitLab publishes no machine-readable webhook schemas: nothing is checked

    def hook_headers(
        self,
        kind: str,
        body: bytes,
        token: str | None,
        signing_token: str | None,
        guid: str,
        hook_id: int | None,
    ) -> dict[str, str]:
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "GitLab/18.6.0-sim",
            "X-Gitlab-Event": EVENT_HEADERS[kind],
            "X-Gitlab-Webhook-UUID": str(uuid.UUID(int=hook_id or 0)),
            "X-Gitlab-Event-UUID": str(uuid.uuid4()),
            "X-Gitlab-Instance": "https://gitlab.sim.test",
            "Idempotency-Key": guid,  # stable across retries of this delivery
        }
        if token:
            headers["X-Gitlab-Token"] = token
        if signing_token:
            headers.update(sign_webhook("gitlab-signing", signing_token, body, message_id=guid))
        return headers

    def webhook_headers(
        self, event: str, body: bytes, secret: str | None, guid: str, hook_id: int | None
    ) -> dict[str, str]:
        """For ``/_sim/webhooks``: a ``whsec_`` secret signs (signing token), any other is the token."""
        signing = secret if secret and secret.startswith("whsec_") else None
        return self.hook_headers(event, body, None if signing else secret, signing, guid, hook_id)

    def emit(self, web: str, proj: gl.Project, kind: str, payload: dict[str, Any]) -> None:
        """Deliver to every hook of ``proj`` that wants ``kind``, after the answer."""
        for item in list(proj.hooks.values()):
            if item.wants(kind):
                self.outbox.send_later(self._deliver_to_hook(item, kind, payload))

    async def _deliver_to_hook(self, item: gl.Hook, kind: str, payload: dict[str, Any]) -> Delivery:
        body = json.dumps(payload, separators=(",", ":")).encode()
        guid = str(uuid.uuid4())
        headers = self.hook_headers(kind, body, item.token, item.signing_token, guid, item.id)
        action = (payload.get("object_attributes") or {}).get("action")
        return await self.outbox.send(
            item.url, headers, body, event=kind, action=action, guid=guid, hook_id=item.id
        )

    def build_event(self, request: Request, event: str, action: str | None, data: Mapping[str, Any]) -> Any:
        """A payload for ``/_sim/webhooks`` about ``data.project`` (default ``<login>/sandbox``):
        a new issue or merge request unless ``data.iid`` names one."""
        web = str(request.base_url).rstrip("/")
        login = str(data.get("login") or "sim-user")
        self.seed(login)
        namespace, _, path = str(data.get("project") or f"{login}/sandbox").rpartition("/")
        proj = self.add_project(namespace or login, path)
        if event == "push":
            return gl.push_hook(
                web, proj, login, proj.default_branch, str(data.get("message", "Update")), str(time.time_ns())
            )
        iid = data.get("iid")
        if event == "merge_request":
            mr = proj.merge_requests.get(int(iid)) if isinstance(iid, int) else None
            if mr is None:
                if iid is not None:
                    raise EventError(f"{proj.full_path} has no merge request !{iid}")
                number = len(proj.merge_requests) + 1
                mr = gl.MergeRequest(
                    self.new_id(),
                    number,
                    str(data.get("title") or "Simulated merge request"),
                    data.get("description"),
                    login,
                    f"feature-{number}",
                    proj.default_branch,
                    proj.branch_sha(f"feature-{number}"),
                )
                proj.merge_requests[mr.iid] = mr
            if action == "merge" and mr.state == "opened":
                mr.state, mr.merged_at, mr.merged_by, mr.updated_at = "merged", gl.now(), login, gl.now()
                mr.merge_commit_sha = gl.sha_of("merge", proj.full_path, str(mr.iid))
            return gl.merge_request_hook(web, proj, mr, login, action or "open")
        item = proj.issues.get(int(iid)) if isinstance(iid, int) else None
        if item is None:
            if iid is not None:
                raise EventError(f"{proj.full_path} has no issue #{iid}")
            item = gl.Issue(
                self.new_id(),
                len(proj.issues) + 1,
                str(data.get("title") or "Simulated issue"),
                data.get("description") or "Sent by hub-sim.",
                login,
            )
            proj.issues[item.iid] = item
        if event == "note":
            note = gl.Note(self.new_id(), str(data.get("note") or "A simulated comment."), login)
            item.notes.append(note)
            return gl.note_hook(web, proj, item, note, login)
        if action == "close" and item.state == "opened":
            item.state, item.closed_at, item.closed_by, item.updated_at = "closed", gl.now(), login, gl.now()
        return gl.issue_hook(web, proj, item, login, action or "open")

    # -- routes -----------------------------------------------------------------------------------
    def api_routes(self) -> list[BaseRoute]:
        async def endpoint(request: Request) -> Response:
            gitlab = provider_of(request)
            assert isinstance(gitlab, GitLabSimulator)
            return await gitlab.dispatch(request)

        return [Route("/{rest:path}", endpoint, methods=["GET", "POST", "PUT", "DELETE"])]

    def add_pat(self, token: str, username: str) -> None:
        self.pats[token] = Caller(username, f"pat:{token[:12]}")

    def admin_routes(self) -> list[BaseRoute]:
        async def drain(request: Request) -> Response:
            await provider_of(request).outbox.drain()
            return Response(status_code=204)

        async def rate_limit(request: Request) -> Response:
            gitlab = provider_of(request)
            assert isinstance(gitlab, GitLabSimulator)
            body = json.loads(await request.body() or b"{}")
            window = body.get("window_s", RATE_WINDOW_S)
            if not isinstance(body.get("limit"), int) or body["limit"] < 1:
                return JSONResponse({"error": "bad_request", "detail": "limit is a positive integer"}, 400)
            if not isinstance(window, int) or not 1 <= window <= 3600:
                return JSONResponse({"error": "bad_request", "detail": "window_s is 1..3600 seconds"}, 400)
            gitlab.rate_limit, gitlab.rate_window_s = body["limit"], window
            gitlab.windows.clear()
            return Response(status_code=204)

        async def add_project(request: Request) -> Response:
            gitlab = provider_of(request)
            assert isinstance(gitlab, GitLabSimulator)
            body = json.loads(await request.body() or b"{}")
            namespace, path = body.get("namespace"), body.get("path")
            if not all(
                isinstance(v, str) and re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}", v)
                for v in (namespace, path)
            ):
                return JSONResponse({"error": "bad_request", "detail": "namespace and path are names"}, 400)
            gitlab.seed(str(namespace))
            return JSONResponse(
                gl.project(str(request.base_url).rstrip("/"), gitlab.add_project(namespace, path)), 201
            )

        return [
            Route("/drain", drain, methods=["POST"]),
            Route("/rate_limit", rate_limit, methods=["POST"]),
            Route("/projects", add_project, methods=["POST"]),
        ]


def _labels(value: Any) -> list[str]:
    if isinstance(value, list):
        return [str(v) for v in value if str(v)]
    return [x.strip() for x in str(value or "").split(",") if x.strip()]


_ID = r"(?P<id>[^/]+)"
ROUTES: list[tuple[str, re.Pattern[str], Handler, bool]] = [
    # (method, path below /api/v4, handler, in gitlab-v4.json)
    ("GET", re.compile(r"/user"), GitLabSimulator.get_user, False),
    ("GET", re.compile(r"/projects"), GitLabSimulator.list_projects, False),
    ("GET", re.compile(rf"/projects/{_ID}/issues"), GitLabSimulator.list_issues, False),
    ("POST", re.compile(rf"/projects/{_ID}/issues"), GitLabSimulator.create_issue, False),
    ("PUT", re.compile(rf"/projects/{_ID}/issues/(?P<iid>\d+)"), GitLabSimulator.update_issue, False),
    ("POST", re.compile(rf"/projects/{_ID}/issues/(?P<iid>\d+)/notes"), GitLabSimulator.create_note, False),
    ("GET", re.compile(rf"/projects/{_ID}/merge_requests"), GitLabSimulator.list_merge_requests, True),
    ("POST", re.compile(rf"/projects/{_ID}/merge_requests"), GitLabSimulator.create_merge_request, True),
    (
        "PUT",
        re.compile(rf"/projects/{_ID}/merge_requests/(?P<iid>\d+)/merge"),
        GitLabSimulator.merge_merge_request,
        True,
    ),
    ("POST", re.compile(rf"/projects/{_ID}/hooks"), GitLabSimulator.create_hook, True),
    ("DELETE", re.compile(rf"/projects/{_ID}/hooks/(?P<hook_id>\d+)"), GitLabSimulator.delete_hook, True),
]
