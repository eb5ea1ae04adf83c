"""The GitHub simulator: OAuth App flow (``flavors.GitHub``), the REST operations the ``github``
connector uses, rate limits, and repository webhooks signed as GitHub signs them.

Behaviour, from GitHub's REST and webhook documentation:

- the API answers at ``/`` (github.com style) and ``/api/v3`` (GitHub Enterprise Server style);
- ``Authorization: Bearer <token>`` or ``token <token>``: an OAuth token the simulator issued, or a
  personal access token registered with ``POST /_sim/github/tokens``; anything else is 401
  ``Bad credentials``;
- every request is validated against ``github-rest.json`` (422 ``Invalid request`` otherwise) and
  every answer against its response schema, when the description is available;
- ``x-ratelimit-*`` headers on every answer; past the limit, 403 ``API rate limit exceeded``;
- list operations paginate with ``per_page``/``page`` and an RFC 8288 ``Link`` header;
- issues and pull requests share one number sequence, and the issue list includes pulls;
- repository hooks get ``ping`` on creation and the events they subscribe to, with
  ``X-GitHub-Event``, ``X-GitHub-Delivery``, ``X-GitHub-Hook-ID`` and, with a secret,
  ``X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the body>``; their deliveries can be listed
  and redelivered (``/repos/{o}/{r}/hooks/{id}/deliveries``).

Each user a token belongs to owns three repositories (``sandbox``, ``website``, ``docs``) from
its first call; ``POST /_sim/github/repos`` adds more.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from hub_connector_sdk import sign_webhook
from hub_e2e.simulators import github_objects as gh
from hub_e2e.simulators.crypto import secrets_equal, stable_number
from hub_e2e.simulators.framework import EventError, ProviderSimulator, provider_of
from hub_e2e.simulators.httpio import bearer_token
from hub_e2e.simulators.spec_guard import AnswerViolation, SpecGuard, SpecViolation, WebhookGuard
from hub_e2e.simulators.state import Simulator

DOCS = "https://docs.github.com/rest"
SEED_REPOS = ("sandbox", "website", "docs")
RATE_WINDOW_S = 3600
ISSUE_EVENTS = ("opened", "edited", "closed", "reopened", "labeled", "assigned")
PULL_EVENTS = ("opened", "closed", "reopened", "edited", "synchronize")


class GitHubError(Exception):
    def __init__(self, status: int, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status, self.message, self.extra = status, message, extra

    def response(self) -> JSONResponse:
        body = {"message": self.message, "documentation_url": DOCS, "status": str(self.status), **self.extra}
        return JSONResponse(body, status_code=self.status)


def not_found() -> GitHubError:
    return GitHubError(404, "Not Found")


@dataclass
class RateWindow:
    limit: int
    used: int = 0
    reset: int = field(default_factory=lambda: int(time.time()) + RATE_WINDOW_S)

    def headers(self) -> dict[str, str]:
        return {
            "x-ratelimit-limit": str(self.limit),
            "x-ratelimit-remaining": str(max(self.limit - self.used, 0)),
            "x-ratelimit-used": str(self.used),
            "x-ratelimit-reset": str(self.reset),
            "x-ratelimit-resource": "core",
        }


@dataclass
class Caller:
    login: str
    scopes: tuple[str, ...]
    credential: str  # which rate-limit window the call counts against


@dataclass
class Call:
    """One API request after authentication and validation."""

    request: Request
    caller: Caller
    template: str | None
    body: Any
    urls: gh.Urls


Handler = Callable[["GitHubSimulator", Call], Awaitable[tuple[int, Any, dict[str, str]]]]


class GitHubSimulator(ProviderSimulator):
    name = "github"
    oauth_flavor = "github"
    spec_name = "github-rest.json"
    webhook_spec_name = "github-webhooks.json"
    api_prefixes = ("", "/api/v3")

    def __init__(self, guard: SpecGuard, webhook_guard: WebhookGuard | None = None) -> None:
        super().__init__(guard, webhook_guard)
        self.rate_limit = 5000
        self.pats: dict[str, Caller] = {}
        self.reset()

    def reset(self) -> None:
        super().reset()
        self.repos: dict[str, gh.Repo] = {}
        self.windows: dict[str, RateWindow] = {}
        self._ids = 1000

    def new_id(self) -> int:
        self._ids += 1
        return self._ids

    # -- state ------------------------------------------------------------------------------------
    def add_repo(self, owner: str, name: str, *, private: bool = False) -> gh.Repo:
        key = f"{owner}/{name}".lower()
        if key not in self.repos:
            repo_id = stable_number("repo", key, digits=9)
            self.repos[key] = gh.Repo(repo_id, owner, name, private=private)
        return self.repos[key]

    def seed(self, login: str) -> None:
        if not any(r.owner == login for r in self.repos.values()):
            for name in SEED_REPOS:
                self.add_repo(login, name)

    def repo_for(self, call: Call) -> gh.Repo:
        params = call.request.path_params
        repo = self.repos.get(f"{params['owner']}/{params['repo']}".lower())
        if repo is None or repo.owner != call.caller.login:
            raise not_found()  # GitHub hides repositories a token cannot see behind 404
        return repo

    def issue_for(self, call: Call, repo: gh.Repo, key: str = "issue_number") -> gh.Issue:
        item = repo.issues.get(int(call.request.path_params[key]))
        if item is None:
            raise not_found()
        return item

    # -- request pipeline -------------------------------------------------------------------------
    def authenticate(self, request: Request) -> Caller:
        sim: Simulator = request.app.state.sim
        value = bearer_token(request, schemes=("bearer", "token"))
        if value:
            token = sim.store.valid_access_token(value)
            if token is not None:
                return Caller(token.subject, token.scope, f"oauth:{token.family_id or token.value}")
            for pat, caller in self.pats.items():
                if secrets_equal(value, pat):
                    return caller
        raise GitHubError(401, "Bad credentials")

    def window(self, caller: Caller) -> RateWindow:
        current = self.windows.get(caller.credential)
        if current is None or current.reset <= time.time():
            current = self.windows[caller.credential] = RateWindow(self.rate_limit)
        return current

    async def handle(
        self, request: Request, handler: Handler, *, counts: bool = True, described: bool = True
    ) -> Response:
        """Authenticate, count, validate (``described``: the operation is in github-rest.json), answer."""
        headers: dict[str, str] = {}
        try:
            caller = self.authenticate(request)
            self.seed(caller.login)
            window = self.window(caller)
            exhausted = counts and window.used >= window.limit
            if counts and not exhausted:
                window.used += 1
            headers = {**window.headers(), "X-OAuth-Scopes": ", ".join(caller.scopes)}
            if exhausted:
                raise GitHubError(403, f"API rate limit exceeded for user ID {gh.user_id(caller.login)}.")
            body = await self._json_body(request)
            template = self._validate(request, body) if described else None
            call = Call(request, caller, template, body, self.urls(request))
            status, answer, extra = await handler(self, call)
        except GitHubError as err:
            response = err.response()
            response.headers.update(headers)
            return response
        try:
            self.guard.check_answer(request.method, template, status, answer)
        except AnswerViolation as err:  # a simulator bug: make it loud, never pass it on
            return JSONResponse({"message": f"simulator answer broke the description: {err}"}, 500)
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
            raise GitHubError(400, "Problems parsing JSON") from None

    def _validate(self, request: Request, body: Any) -> str | None:
        path = request.url.path.removeprefix("/api/v3")
        query = [(k, v) for k, v in request.query_params.multi_items()]
        grouped: dict[str, Any] = {}
        for key, value in query:
            grouped.setdefault(key, []).append(value)
        flat = {k: v[0] if len(v) == 1 else v for k, v in grouped.items()}
        try:
            return self.guard.check_request(request.method, path, flat, body, request.headers)
        except SpecViolation as err:
            raise GitHubError(422, "Invalid request.\n\n" + "\n".join(err.problems)) from None

    @staticmethod
    def urls(request: Request) -> gh.Urls:
        web = str(request.base_url).rstrip("/")
        return gh.Urls(api=web + ("/api/v3" if request.url.path.startswith("/api/v3/") else ""), web=web)

    # -- pagination -------------------------------------------------------------------------------
    @staticmethod
    def page(call: Call, items: list[Any]) -> tuple[list[Any], dict[str, str]]:
        query = call.request.query_params
        per_page = min(int(query.get("per_page", 30)), 100)
        number = max(int(query.get("page", 1)), 1)
        last = max((len(items) + per_page - 1) // per_page, 1)
        chunk = items[(number - 1) * per_page : number * per_page]
        base = str(call.request.url.replace(query=""))

        def link(page: int, rel: str) -> str:
            params = {k: v for k, v in query.items() if k != "page"}
            return f'<{base}?{urlencode({**params, "page": page})}>; rel="{rel}"'

        links = []
        if number > 1:
            links += [link(number - 1, "prev"), link(1, "first")]
        if number < last:
            links += [link(number + 1, "next"), link(last, "last")]
        return chunk, ({"Link": ", ".join(links)} if links else {})

    # -- webhooks ---------------------------------------------------------------------------------
    def event_catalog(self) -> Mapping[str, tuple[str, ...]]:
        return {
            "issues": ISSUE_EVENTS,
            "issue_comment": ("created",),
            "pull_request": PULL_EVENTS,
            "push": (),
            "ping": (),
        }

    def payload_schema(self, event: str, action: str | None) -> str:
        return "webhook-" + event.replace("_", "-") + (f"-{action}" if action else "")

    def webhook_headers(
        self, event: str, body: bytes, secret: str | None, guid: str, hook_id: int | None
    ) -> dict[str, str]:
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "GitHub-Hookshot/sim",
            "X-GitHub-Event": event,
            "X-GitHub-Delivery": guid,
            "X-GitHub-Hook-ID": str(hook_id or 0),
            "X-GitHub-Hook-Installation-Target-Type": "repository",
            "X-GitHub-Hook-Installation-Target-ID": "0",
        }
        if secret:
            # The SDK's signer for the preset the connector declares: what the hub verifies.
            headers.update(sign_webhook("github-sha256", secret, body))
            sha1 = hmac.new(secret.encode(), body, hashlib.sha1).hexdigest()
            headers["X-Hub-Signature"] = f"sha1={sha1}"  # the legacy header GitHub still sends
        return headers

    def emit(self, urls: gh.Urls, repo: gh.Repo, event: str, payload: dict[str, Any]) -> None:
        """Deliver ``event`` to every hook of ``repo`` that subscribes to it, after the answer."""
        for item in list(repo.hooks.values()):
            if item.wants(event):
                self.outbox.send_later(self._deliver_to_hook(repo, item, event, payload))

    async def _deliver_to_hook(
        self, repo: gh.Repo, item: gh.Hook, event: str, payload: dict[str, Any]
    ) -> Any:
        body = {**payload, "hook_id": item.id} if event == "ping" else payload
        delivery = await self.deliver(
            item.url, item.secret, event, payload.get("action"), body, hook_id=item.id
        )
        item.last_code, item.last_status = delivery.status_code or None, "active"
        return delivery

    def event_payload(
        self, urls: gh.Urls, repo: gh.Repo, sender: str, event: str, action: str | None, **parts: Any
    ) -> dict[str, Any]:
        payload: dict[str, Any] = {"action": action} if action else {}
        payload.update(parts)
        payload["repository"] = gh.repository(urls, repo)
        payload["sender"] = gh.simple_user(urls, sender)
        return payload

    def build_event(self, request: Request, event: str, action: str | None, data: Mapping[str, Any]) -> Any:
        """A payload for ``/_sim/webhooks``: about ``data.repository``/``data.number`` when given,
        else about a new issue or pull request in ``<data.login or sim-user>/sandbox``."""
        urls = self.urls(request)
        login = str(data.get("login") or "sim-user")
        self.seed(login)
        full = str(data.get("repository") or f"{login}/sandbox")
        owner, _, name = full.partition("/")
        repo = self.add_repo(owner, name)
        number = data.get("number")
        item = repo.issues.get(int(number)) if isinstance(number, int) else None
        if number is not None and item is None:
            raise EventError(f"{full} has no issue or pull request #{number}")
        if event == "ping":
            return {"zen": "Design for failure.", "hook_id": 0, "repository": gh.repository(urls, repo)}
        if event == "push":
            return self.push_payload(
                urls, repo, login, repo.default_branch, str(data.get("message", "Update"))
            )
        if item is None:
            pull = (
                gh.Pull(head=f"feature-{repo.next_number()}", base=repo.default_branch)
                if event == "pull_request"
                else None
            )
            title = str(data.get("title") or f"Simulated {event.replace('_', ' ')}")
            item = gh.Issue(
                repo.next_number(), title, data.get("body") or "Sent by hub-sim.", login, pull=pull
            )
            repo.issues[item.number] = item
        if event == "issues":
            if action == "closed":
                item.state, item.state_reason, item.closed_at, item.closed_by = (
                    "closed",
                    "completed",
                    gh.now(),
                    login,
                )
            return self.event_payload(urls, repo, login, event, action, issue=gh.issue(urls, repo, item))
        if event == "issue_comment":
            note = gh.Comment(self.new_id(), str(data.get("comment") or "A simulated comment."), login)
            item.comments.append(note)
            return self.event_payload(
                urls,
                repo,
                login,
                event,
                action,
                issue=gh.issue(urls, repo, item),
                comment=gh.comment(urls, repo, item, note),
            )
        if item.pull is None:
            raise EventError(f"#{item.number} is an issue, not a pull request")
        if action == "closed" and item.state == "open":
            if data.get("merged", True):
                self._merge(repo, item, login)
            else:
                item.state, item.closed_at, item.updated_at = "closed", gh.now(), gh.now()
        return self.pull_payload(urls, repo, login, action or "opened", item)

    def pull_payload(
        self, urls: gh.Urls, repo: gh.Repo, sender: str, action: str, item: gh.Issue
    ) -> dict[str, Any]:
        return self.event_payload(
            urls,
            repo,
            sender,
            "pull_request",
            action,
            number=item.number,
            pull_request=gh.pull_request(urls, repo, item),
        )

    def push_payload(
        self, urls: gh.Urls, repo: gh.Repo, sender: str, ref: str, message: str
    ) -> dict[str, Any]:
        before = gh.branch_sha(repo, ref)
        after = gh.sha_of(before, message, str(time.time_ns()))
        who = {"name": sender, "email": f"{sender}@example.test", "username": sender}
        commit = {
            "id": after,
            "tree_id": gh.sha_of("tree", after),
            "distinct": True,
            "message": message,
            "timestamp": gh.iso(gh.now()),
            "url": f"{urls.web}/{repo.full_name}/commit/{after}",
            "author": who,
            "committer": who,
            "added": [],
            "removed": [],
            "modified": ["README.md"],
        }
        repo.pushed_at = gh.now()
        payload = {
            "ref": f"refs/heads/{ref}",
            "before": before,
            "after": after,
            "created": False,
            "deleted": False,
            "forced": False,
            "base_ref": None,
            "compare": f"{urls.web}/{repo.full_name}/compare/{before[:12]}...{after[:12]}",
            "commits": [commit],
            "head_commit": commit,
            "pusher": {"name": sender, "email": f"{sender}@example.test"},
        }
        return self.event_payload(urls, repo, sender, "push", None, **payload)

    def _merge(self, repo: gh.Repo, item: gh.Issue, login: str) -> None:
        assert item.pull is not None
        stamp = gh.now()
        item.pull.merged_at, item.pull.merged_by = stamp, login
        item.pull.merge_commit_sha = gh.sha_of("merge", repo.full_name, str(item.number))
        item.state, item.closed_at, item.updated_at = "closed", stamp, stamp

    # -- routes -----------------------------------------------------------------------------------
    def api_routes(self) -> list[BaseRoute]:
        def route(
            path: str, handler: Handler, method: str, *, counts: bool = True, described: bool = True
        ) -> Route:
            async def endpoint(request: Request) -> Response:
                github = provider_of(request)
                assert isinstance(github, GitHubSimulator)
                return await github.handle(request, handler, counts=counts, described=described)

            return Route(path, endpoint, methods=[method])

        repo = "/repos/{owner}/{repo}"
        return [
            route("/user", GitHubSimulator.get_user, "GET"),
            route("/user/repos", GitHubSimulator.list_user_repos, "GET"),
            route("/rate_limit", GitHubSimulator.get_rate_limit, "GET", counts=False),
            route(f"{repo}/issues", GitHubSimulator.list_issues, "GET"),
            route(f"{repo}/issues", GitHubSimulator.create_issue, "POST"),
            route(f"{repo}/issues/{{issue_number:int}}", GitHubSimulator.update_issue, "PATCH"),
            route(f"{repo}/issues/{{issue_number:int}}/comments", GitHubSimulator.create_comment, "POST"),
            route(f"{repo}/pulls", GitHubSimulator.create_pull, "POST"),
            route(f"{repo}/pulls/{{pull_number:int}}", GitHubSimulator.get_pull, "GET"),
            route(f"{repo}/pulls/{{pull_number:int}}/merge", GitHubSimulator.merge_pull, "PUT"),
            route(f"{repo}/hooks", GitHubSimulator.create_hook, "POST"),
            route(f"{repo}/hooks/{{hook_id:int}}", GitHubSimulator.delete_hook, "DELETE"),
            # Hook deliveries are not among the operations kept in github-rest.json.
            route(
                f"{repo}/hooks/{{hook_id:int}}/deliveries",
                GitHubSimulator.list_deliveries,
                "GET",
                described=False,
            ),
            route(
                f"{repo}/hooks/{{hook_id:int}}/deliveries/{{delivery_id:int}}",
                GitHubSimulator.get_delivery,
                "GET",
                described=False,
            ),
            route(
                f"{repo}/hooks/{{hook_id:int}}/deliveries/{{delivery_id:int}}/attempts",
                GitHubSimulator.redeliver_delivery,
                "POST",
                described=False,
            ),
        ]

    async def get_user(self, call: Call) -> tuple[int, Any, dict[str, str]]:
        owned = sum(1 for r in self.repos.values() if r.owner == call.caller.login)
        return 200, gh.private_user(call.urls, call.caller.login, owned), {}

    async def get_rate_limit(self, call: Call) -> tuple[int, Any, dict[str, str]]:
        window = self.window(call.caller)
        core = {
            "limit": window.limit,
            "remaining": max(window.limit - window.used, 0),
            "reset": window.reset,
            "used": window.used,
        }
        search = {"limit": 30, "remaining": 30, "reset": window.reset, "used": 0}
        return 200, {"resources": {"core": core, "search": search}, "rate": core}, {}

    async def list_user_repos(self, call: Call) -> tuple[int, Any, dict[str, str]]:
        query = call.request.query_params
        mine = [r for r in self.repos.values() if r.owner == call.caller.login]
        if query.get("visibility") in ("public", "private"):
            mine = [r for r in mine if r.private == (query["visibility"] == "private")]
        reverse = query.get("direction", "asc" if query.get("sort") == "full_name" else "desc") == "desc"
        key = query.get("sort", "full_name")
        mine.sort(key=lambda r: r.full_name if key == "full_name" else r.created_at, reverse=reverse)
        chunk, links = self.page(call, [gh.repository(call.urls, r) for r in mine])
        return 200, chunk, links

    async def list_issues(self, call: Call) -> tuple[int, Any, dict[str, str]]:
        repo = self.repo_for(call)
        query = call.request.query_params
        state = query.get("state", "open")
        items = [i for i in repo.issues.values() if state == "all" or i.state == state]
        if query.get("labels"):
            wanted = set(query["labels"].split(","))
            items = [i for i in items if wanted <= {x.name for x in i.labels}]
        if query.get("since"):
            items = [i for i in items if (gh.iso(i.updated_at) or "") >= query["since"]]
        field_name = query.get("sort", "created")
        items.sort(
            key=lambda i: i.updated_at if field_name == "updated" else i.created_at,
            reverse=query.get("direction", "desc") == "desc",
        )
        items.sort(key=lambda i: i.number, reverse=query.get("direction", "desc") == "desc")
        chunk, links = self.page(call, [gh.issue(call.urls, repo, i) for i in items])
        return 200, chunk, links

    def _labels(self, names: Any) -> list[gh.Label]:
        found = []
        for entry in names or []:
            name = entry if isinstance(entry, str) else entry.get("name")
            if name:
                found.append(gh.Label(stable_number("label", str(name)), str(name)))
        return found

    async def create_issue(self, call: Call) -> tuple[int, Any, dict[str, str]]:
        repo = self.repo_for(call)
        body = call.body or {}
        title = body.get("title")
        if title in (None, ""):
            raise GitHubError(
                422,
                "Validation Failed",
                errors=[{"resource": "Issue", "field": "title", "code": "missing_field"}],
            )
        assignees = list(body.get("assignees") or ([body["assignee"]] if body.get("assignee") else []))
        item = gh.Issue(
            repo.next_number(),
            str(title),
            body.get("body"),
            call.caller.login,
            labels=self._labels(body.get("labels")),
            assignees=assignees,
        )
        repo.issues[item.number] = item
        answer = gh.issue(call.urls, repo, item)
        self.emit(
            call.urls,
            repo,
            "issues",
            self.event_payload(call.urls, repo, call.caller.login, "issues", "opened", issue=answer),
        )
        return 201, answer, {"Location": answer["url"]}

    async def update_issue(self, call: Call) -> tuple[int, Any, dict[str, str]]:
        repo = self.repo_for(call)
        item = self.issue_for(call, repo)
        body = call.body or {}
        before = item.state
        if "title" in body and body["title"] is not None:
            item.title = str(body["title"])
        if "body" in body:
            item.body = body["body"]
        if "labels" in body:
            item.labels = self._labels(body["labels"])
        if "assignees" in body:
            item.assignees = list(body["assignees"] or [])
        if body.get("state") in ("open", "closed") and body["state"] != item.state:
            item.state = body["state"]
            if item.state == "closed":
                item.state_reason = body.get("state_reason") or "completed"
                item.closed_at, item.closed_by = gh.now(), call.caller.login
            else:
                item.state_reason, item.closed_at, item.closed_by = "reopened", None, None
        item.updated_at = gh.now()
        answer = gh.issue(call.urls, repo, item)
        action = "edited" if item.state == before else ("closed" if item.state == "closed" else "reopened")
        self.emit(
            call.urls,
            repo,
            "issues",
            self.event_payload(call.urls, repo, call.caller.login, "issues", action, issue=answer),
        )
        return 200, answer, {}

    async def create_comment(self, call: Call) -> tuple[int, Any, dict[str, str]]:
        repo = self.repo_for(call)
        item = self.issue_for(call, repo)
        note = gh.Comment(self.new_id(), str((call.body or {})["body"]), call.caller.login)
        item.comments.append(note)
        item.updated_at = gh.now()
        answer = gh.comment(call.urls, repo, item, note)
        payload = self.event_payload(
            call.urls,
            repo,
            call.caller.login,
            "issue_comment",
            "created",
            issue=gh.issue(call.urls, repo, item),
            comment=answer,
        )
        self.emit(call.urls, repo, "issue_comment", payload)
        return 201, answer, {"Location": answer["url"]}

    async def create_pull(self, call: Call) -> tuple[int, Any, dict[str, str]]:
        repo = self.repo_for(call)
        body = call.body or {}
        head = str(body["head"]).split(":", 1)[-1]
        if head == body["base"]:
            raise GitHubError(
                422,
                "Validation Failed",
                errors=[
                    {
                        "resource": "PullRequest",
                        "code": "custom",
                        "message": f"No commits between {body['base']} and {head}",
                    }
                ],
            )
        if "issue" in body:
            raise GitHubError(
                422,
                "Validation Failed",
                errors=[{"resource": "PullRequest", "field": "issue", "code": "invalid"}],
            )
        pull = gh.Pull(
            head=head,
            base=str(body["base"]),
            draft=bool(body.get("draft", False)),
            maintainer_can_modify=bool(body.get("maintainer_can_modify", True)),
        )
        item = gh.Issue(
            repo.next_number(), str(body.get("title") or head), body.get("body"), call.caller.login, pull=pull
        )
        repo.issues[item.number] = item
        self.emit(
            call.urls,
            repo,
            "pull_request",
            self.pull_payload(call.urls, repo, call.caller.login, "opened", item),
        )
        answer = gh.pull_request(call.urls, repo, item)
        return 201, answer, {"Location": answer["url"]}

    def _pull(self, call: Call, repo: gh.Repo) -> gh.Issue:
        item = self.issue_for(call, repo, "pull_number")
        if item.pull is None:
            raise not_found()
        return item

    async def get_pull(self, call: Call) -> tuple[int, Any, dict[str, str]]:
        repo = self.repo_for(call)
        return 200, gh.pull_request(call.urls, repo, self._pull(call, repo)), {}

    async def merge_pull(self, call: Call) -> tuple[int, Any, dict[str, str]]:
        repo = self.repo_for(call)
        item = self._pull(call, repo)
        body = call.body or {}
        assert item.pull is not None
        if item.pull.merged_at is not None or item.state == "closed":
            return 405, {"message": "Pull Request is not mergeable", "documentation_url": DOCS}, {}
        if body.get("sha") and body["sha"] != gh.branch_sha(repo, item.pull.head):
            return (
                409,
                {
                    "message": "Head branch was modified. Review and try the merge again.",
                    "documentation_url": DOCS,
                },
                {},
            )
        self._merge(repo, item, call.caller.login)
        self.emit(
            call.urls,
            repo,
            "pull_request",
            self.pull_payload(call.urls, repo, call.caller.login, "closed", item),
        )
        self.emit(
            call.urls,
            repo,
            "push",
            self.push_payload(
                call.urls,
                repo,
                call.caller.login,
                item.pull.base,
                body.get("commit_title") or f"Merge #{item.number}",
            ),
        )
        sha = item.pull.merge_commit_sha
        return 200, {"sha": sha, "merged": True, "message": "Pull Request successfully merged"}, {}

    async def create_hook(self, call: Call) -> tuple[int, Any, dict[str, str]]:
        repo = self.repo_for(call)
        body = call.body or {}
        config = body.get("config") or {}
        url = config.get("url")
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise GitHubError(
                422,
                "Validation Failed",
                errors=[{"resource": "Hook", "code": "custom", "message": "Config must contain URL."}],
            )
        if any(h.url == url for h in repo.hooks.values()):
            raise GitHubError(
                422,
                "Validation Failed",
                errors=[
                    {
                        "resource": "Hook",
                        "code": "custom",
                        "message": "Hook already exists on this repository",
                    }
                ],
            )
        item = gh.Hook(
            self.new_id(),
            url,
            config.get("secret") or None,
            list(body.get("events") or ["push"]),
            content_type=str(config.get("content_type", "form")),
            insecure_ssl=str(config.get("insecure_ssl", "0")),
            active=bool(body.get("active", True)),
        )
        repo.hooks[item.id] = item
        # GitHub pings a new hook right away (the ``ping`` event), whatever it subscribes to.
        ping = {
            "zen": "Design for failure.",
            "hook": gh.hook(call.urls, repo, item),
            "repository": gh.repository(call.urls, repo),
            "sender": gh.simple_user(call.urls, call.caller.login),
        }
        self.outbox.send_later(self._deliver_to_hook(repo, item, "ping", ping))
        answer = gh.hook(call.urls, repo, item)
        return 201, answer, {"Location": answer["url"]}

    def _hook(self, call: Call, repo: gh.Repo) -> gh.Hook:
        item = repo.hooks.get(int(call.request.path_params["hook_id"]))
        if item is None:
            raise not_found()
        return item

    async def delete_hook(self, call: Call) -> tuple[int, Any, dict[str, str]]:
        repo = self.repo_for(call)
        repo.hooks.pop(self._hook(call, repo).id)
        return 204, None, {}

    def _delivery(self, call: Call, item: gh.Hook) -> Any:
        found = self.outbox.find(int(call.request.path_params["delivery_id"]))
        if found is None or found.hook_id != item.id:
            raise not_found()
        return found

    @staticmethod
    def _delivery_item(view: dict[str, Any], repo: gh.Repo) -> dict[str, Any]:
        keys = (
            "id",
            "guid",
            "delivered_at",
            "redelivery",
            "duration",
            "status",
            "status_code",
            "event",
            "action",
        )
        return {
            **{k: view[k] for k in keys},
            "installation_id": None,
            "repository_id": repo.id,
            "throttled_at": None,
        }

    async def list_deliveries(self, call: Call) -> tuple[int, Any, dict[str, str]]:
        repo = self.repo_for(call)
        item = self._hook(call, repo)
        mine = [d.view() for d in reversed(self.outbox.deliveries) if d.hook_id == item.id]
        return 200, [self._delivery_item(v, repo) for v in mine], {}

    async def get_delivery(self, call: Call) -> tuple[int, Any, dict[str, str]]:
        repo = self.repo_for(call)
        view = self._delivery(call, self._hook(call, repo)).view()
        return (
            200,
            {
                **self._delivery_item(view, repo),
                "url": view["url"],
                "request": view["request"],
                "response": view["response"],
            },
            {},
        )

    async def redeliver_delivery(self, call: Call) -> tuple[int, Any, dict[str, str]]:
        repo = self.repo_for(call)
        original = self._delivery(call, self._hook(call, repo))
        self.outbox.send_later(self.redeliver(original))
        return 202, {}, {}

    # -- administration ---------------------------------------------------------------------------
    def add_pat(self, token: str, login: str, scopes: tuple[str, ...] = ("repo", "admin:repo_hook")) -> None:
        """Accept ``token`` as a personal access token of ``login``."""
        self.pats[token] = Caller(login, scopes, f"pat:{hashlib.sha256(token.encode()).hexdigest()[:16]}")

    def admin_routes(self) -> list[BaseRoute]:
        return [
            Route("/tokens", _add_pat, methods=["POST"]),
            Route("/repos", _add_repo, methods=["POST"]),
            Route("/rate-limit", _set_rate_limit, methods=["POST"]),
            Route("/drain", _drain, methods=["POST"]),
        ]


def _github(request: Request) -> GitHubSimulator:
    provider = provider_of(request)
    assert isinstance(provider, GitHubSimulator)
    return provider


async def _admin_json(request: Request) -> dict[str, Any]:
    try:
        body = json.loads(await request.body() or b"{}")
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise GitHubError(400, "body is a JSON object")
    return body


def _admin(
    handler: Callable[[GitHubSimulator, dict[str, Any]], Response],
) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        try:
            return handler(_github(request), await _admin_json(request))
        except GitHubError as err:
            return err.response()

    return endpoint


def _login(body: Mapping[str, Any]) -> str:
    login = body.get("login", "sim-user")
    if not isinstance(login, str) or not login:
        raise GitHubError(400, "login is a non-empty string")
    return login


@_admin
def _add_pat(sim: GitHubSimulator, body: dict[str, Any]) -> Response:
    """``{"token": "ghp_…", "login": "alice", "scopes": ["repo"]}``: a personal access token."""
    token = body.get("token")
    if not isinstance(token, str) or len(token) < 8:
        raise GitHubError(400, "token is a string of at least 8 characters")
    scopes = tuple(str(s) for s in body.get("scopes", ["repo", "admin:repo_hook"]))
    sim.add_pat(token, _login(body), scopes)
    return JSONResponse({"login": _login(body), "scopes": list(scopes)}, status_code=201)


@_admin
def _add_repo(sim: GitHubSimulator, body: dict[str, Any]) -> Response:
    """``{"login": "alice", "name": "app", "private": false}``."""
    name = body.get("name")
    if not isinstance(name, str) or not name:
        raise GitHubError(400, "name is required")
    login = _login(body)
    sim.seed(login)
    repo = sim.add_repo(login, name, private=bool(body.get("private", False)))
    return JSONResponse({"full_name": repo.full_name, "id": repo.id}, status_code=201)


@_admin
def _set_rate_limit(sim: GitHubSimulator, body: dict[str, Any]) -> Response:
    """``{"limit": 10}``: the core limit of every credential, with its usage reset."""
    limit = body.get("limit")
    if not isinstance(limit, int) or isinstance(limit, bool) or limit < 0:
        raise GitHubError(400, "limit is a non-negative integer")
    sim.rate_limit = limit
    sim.windows.clear()
    return JSONResponse({"limit": limit})


async def _drain(request: Request) -> Response:
    """Wait until every webhook the simulator has queued was attempted."""
    await _github(request).outbox.drain()
    return Response(status_code=204)
