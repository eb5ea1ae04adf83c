"""``GitHubConnector`` (OAuth App) and ``GitHubTokenConnector`` (personal access token).

Every call goes through the hub's gateway (``self.client``), which injects the connection's
token and the manifest's default headers; this code never sees a credential. GitHub Enterprise
Server: set the connection's ``base_url`` to ``https://<host>/api/v3`` (and, for OAuth, the
``oauth_*`` endpoints to ``https://<host>/login/oauth/...``); the operator lists the host in
``HUB_GITHUB_ENTERPRISE_HOSTS``. See docs/connectors/github.md.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from hub_connector_github import events as ev
from hub_connector_github.models import (
    OWNER,
    REPO,
    AddComment,
    Comment,
    CreateIssue,
    CreatePullRequest,
    GetPullRequest,
    Issue,
    IssueList,
    ListIssues,
    ListRepositories,
    MergePullRequest,
    MergeResult,
    PullRequest,
    Repository,
    RepositoryList,
    UpdateIssue,
)
from hub_connector_github.rate_limit import is_rate_limited, parse_rate_limit, wait_seconds
from hub_connector_sdk import (
    ApiSpec,
    AuthenticationMethod,
    AuthSpec,
    BaseConnector,
    ConnectorCategory,
    ConnectorError,
    ContentDocument,
    CredentialField,
    ExportPage,
    LinkHeader,
    OAuthConfig,
    ProviderError,
    ProviderResponse,
    TriggerOutput,
    TriggerType,
    WebhookRegistration,
    action,
    error_for,
    trigger,
)

API_BASE = "https://api.github.com"
API_VERSION = "2022-11-28"
ENTERPRISE_HOSTS_ENV = "HUB_GITHUB_ENTERPRISE_HOSTS"
PER_PAGE = 100  # GitHub's maximum
EXPORT_PAGE = 50
MAX_EXPORT_REPOS = 50
MAX_PAGES = 20  # a bound on every list action (2,000 items at 100 a page)
_URL = {"type": "string", "format": "uri", "maxLength": 2048}
_REPOSITORY = {"type": "string", "pattern": f"{OWNER[:-1]}/{REPO[1:]}", "description": "owner/name"}


def enterprise_hosts() -> list[str]:
    """GitHub Enterprise Server hosts the operator allows (``HUB_GITHUB_ENTERPRISE_HOSTS``,
    comma-separated ``host`` or ``host:port``): a connection may point its base URL there."""
    raw = os.environ.get(ENTERPRISE_HOSTS_ENV, "")
    return [h.strip().lower() for h in raw.split(",") if h.strip()]


def _config_schema(oauth: bool) -> dict[str, Any]:
    properties: dict[str, Any] = {
        "base_url": {**_URL, "description": "GitHub Enterprise Server: https://<host>/api/v3"},
        "webhook_repository": {**_REPOSITORY, "description": "repository webhook triggers subscribe to"},
        "export_repositories": {
            "type": "array",
            "items": _REPOSITORY,
            "maxItems": MAX_EXPORT_REPOS,
            "description": "repositories whose issues are exported for search (default: the account's)",
        },
    }
    if oauth:
        for key in ("authorization", "token", "revocation", "identity"):
            properties[f"oauth_{key}_url"] = {**_URL, "description": "GitHub Enterprise Server endpoint"}
    return {"type": "object", "properties": properties, "additionalProperties": False}


def _api_spec(oauth: bool) -> ApiSpec:
    return ApiSpec(
        base_url=API_BASE,
        allowed_hosts=["api.github.com", "github.com", *enterprise_hosts()],
        default_headers={"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": API_VERSION},
        config_schema=_config_schema(oauth),
    )


class GitHubConnector(BaseConnector):
    id = "github"
    name = "GitHub"
    version = "1.0.0"
    min_hub_version = "0.1.0"
    category = ConnectorCategory.SOURCE_CONTROL
    description = "Issues, pull requests and repositories on GitHub or GitHub Enterprise Server."
    docs_url = "https://docs.github.com/rest"
    builtin = True
    auth = AuthSpec(
        method=AuthenticationMethod.OAUTH2,
        oauth=OAuthConfig(
            authorization_url="https://github.com/login/oauth/authorize",
            token_url="https://github.com/login/oauth/access_token",
            revocation_url=f"{API_BASE}/applications/{{client_id}}/token",
            revocation_style="github",
            default_scopes=["repo", "admin:repo_hook", "read:user"],
            scope_separator=" ",
            use_pkce=True,
            client_auth="client_secret_post",
            refresh="none",  # OAuth App tokens do not expire
            profile="github",
            identity_url=f"{API_BASE}/user",
            identity_id_field="id",
            identity_name_field="login",
        ),
    )
    api = _api_spec(oauth=True)
    webhook_signature = "github-sha256"
    health_path = "user"

    def health_account_info(self, body: Any) -> Mapping[str, str]:
        if not isinstance(body, dict) or "id" not in body:
            return {}
        return {
            "id": str(body["id"]),
            "name": str(body.get("login", "")),
            "login": str(body.get("login", "")),
        }

    # -- calls --------------------------------------------------------------------------------------
    async def _call(self, method: str, path: str, **kw: Any) -> ProviderResponse:
        resp = await self.client.request(method, path, raise_for_status=False, **kw)
        if not resp.ok:
            raise github_error(resp)
        return resp

    def _repo_path(self, params: Any, tail: str = "", **values: str | int) -> str:
        return self.expand_path("repos/{owner}/{repo}" + tail, owner=params.owner, repo=params.repo, **values)

    # -- actions ------------------------------------------------------------------------------------
    @action(params=CreateIssue, output=Issue, scopes=["repo"])
    async def create_issue(self, params: CreateIssue) -> Issue:
        """Open an issue in a repository."""
        resp = await self._call("POST", self._repo_path(params, "/issues"), json=params.to_api())
        return Issue.from_api(resp.json())

    @action(params=UpdateIssue, output=Issue, scopes=["repo"], idempotent=True)
    async def update_issue(self, params: UpdateIssue) -> Issue:
        """Change an issue's title, body, state, labels or assignees (only the fields given)."""
        path = self._repo_path(params, "/issues/{number}", number=params.issue_number)
        resp = await self._call("PATCH", path, json=params.to_api())
        return Issue.from_api(resp.json())

    @action(params=AddComment, output=Comment, scopes=["repo"])
    async def add_comment(self, params: AddComment) -> Comment:
        """Comment on an issue or a pull request."""
        path = self._repo_path(params, "/issues/{number}/comments", number=params.issue_number)
        resp = await self._call("POST", path, json={"body": params.body})
        return Comment.from_api(resp.json())

    @action(params=ListIssues, output=IssueList, scopes=["repo"], idempotent=True)
    async def list_issues(self, params: ListIssues) -> IssueList:
        """List a repository's issues (pull requests included, flagged), newest first; follows
        GitHub's ``Link`` pagination up to ``max_items``."""
        query: dict[str, Any] = {
            "state": params.state,
            "per_page": min(params.per_page, params.max_items + 1),
        }
        if params.labels:
            query["labels"] = ",".join(params.labels)
        if params.since:
            query["since"] = params.since
        items = await self._collect(self._repo_path(params, "/issues"), query, params.max_items + 1)
        return IssueList(
            issues=[Issue.from_api(i) for i in items[: params.max_items]],
            truncated=len(items) > params.max_items,
        )

    @action(params=CreatePullRequest, output=PullRequest, scopes=["repo"])
    async def create_pull_request(self, params: CreatePullRequest) -> PullRequest:
        """Open a pull request from ``head`` into ``base``."""
        resp = await self._call("POST", self._repo_path(params, "/pulls"), json=params.to_api())
        return PullRequest.from_api(resp.json())

    @action(params=GetPullRequest, output=PullRequest, scopes=["repo"], idempotent=True)
    async def get_pull_request(self, params: GetPullRequest) -> PullRequest:
        """A pull request, with whether it is merged or mergeable."""
        resp = await self._call("GET", self._repo_path(params, "/pulls/{number}", number=params.pull_number))
        return PullRequest.from_api(resp.json())

    @action(params=MergePullRequest, output=MergeResult, scopes=["repo"])
    async def merge_pull_request(self, params: MergePullRequest) -> MergeResult:
        """Merge a pull request (merge, squash or rebase); 405 when it cannot be merged."""
        path = self._repo_path(params, "/pulls/{number}/merge", number=params.pull_number)
        body = (await self._call("PUT", path, json=params.to_api())).json()
        return MergeResult(
            merged=bool(body.get("merged")), sha=body.get("sha"), message=str(body.get("message", ""))
        )

    @action(params=ListRepositories, output=RepositoryList, idempotent=True)
    async def list_repositories(self, params: ListRepositories) -> RepositoryList:
        """Repositories the account can reach; follows ``Link`` pagination up to ``max_items``."""
        query = {
            "visibility": params.visibility,
            "sort": params.sort,
            "per_page": min(params.per_page, params.max_items + 1),
        }
        items = await self._collect("user/repos", query, params.max_items + 1)
        return RepositoryList(
            repositories=[Repository.from_api(r) for r in items[: params.max_items]],
            truncated=len(items) > params.max_items,
        )

    async def _collect(self, path: str, query: dict[str, Any], limit: int) -> list[Any]:
        """Up to ``limit`` items, following ``Link: rel="next"`` (the SDK's LinkHeader paginator)."""
        items: list[Any] = []
        params: dict[str, Any] | None = dict(query)
        for _ in range(MAX_PAGES):
            if params is None or len(items) >= limit:
                break
            resp = await self._call("GET", path, params=params)
            page = resp.json() or []
            items.extend(page)
            params = LinkHeader().next_params(resp, page, params, len(page))
        return items[:limit]

    # -- triggers -----------------------------------------------------------------------------------
    def webhook_event_name(self, headers: Mapping[str, str], payload: Any) -> str | None:
        event = headers.get("x-github-event")
        if not event:
            return None
        action_name = payload.get("action") if isinstance(payload, dict) else None
        return f"{event}.{action_name}" if action_name else event

    @trigger("issue_opened", type=TriggerType.CREATED, events=["issues.opened"], payload=ev.IssueEvent)
    def on_issue_opened(self, event: str, payload: dict[str, Any]) -> TriggerOutput:
        """An issue was opened."""
        return ev.issue_event(payload, when_at=payload["issue"]["created_at"])

    @trigger("issue_closed", type=TriggerType.STATUS_CHANGED, events=["issues.closed"], payload=ev.IssueEvent)
    def on_issue_closed(self, event: str, payload: dict[str, Any]) -> TriggerOutput:
        """An issue was closed."""
        issue = payload["issue"]
        return ev.issue_event(payload, when_at=issue.get("closed_at") or issue["updated_at"])

    @trigger(
        "issue_commented",
        type=TriggerType.COMMENTED,
        events=["issue_comment.created"],
        payload=ev.CommentEvent,
    )
    def on_issue_commented(self, event: str, payload: dict[str, Any]) -> TriggerOutput:
        """Someone commented on an issue or a pull request."""
        return ev.comment_event(payload)

    @trigger(
        "pull_request_opened",
        type=TriggerType.CREATED,
        events=["pull_request.opened"],
        payload=ev.PullRequestEvent,
    )
    def on_pull_request_opened(self, event: str, payload: dict[str, Any]) -> TriggerOutput:
        """A pull request was opened."""
        return ev.pull_request_event(payload, when_at=payload["pull_request"]["created_at"])

    @trigger(
        "pull_request_merged",
        type=TriggerType.STATUS_CHANGED,
        events=["pull_request.closed"],
        payload=ev.PullRequestEvent,
    )
    def on_pull_request_merged(self, event: str, payload: dict[str, Any]) -> TriggerOutput | None:
        """A pull request was merged (closing one without merging fires nothing)."""
        pull = payload["pull_request"]
        if not pull.get("merged"):
            return None
        return ev.pull_request_event(payload, when_at=pull.get("merged_at") or pull["updated_at"])

    @trigger("push", type=TriggerType.CUSTOM, events=["push"], payload=ev.PushEvent)
    def on_push(self, event: str, payload: dict[str, Any]) -> TriggerOutput:
        """Commits were pushed to a branch or tag."""
        return ev.push_event(payload)

    # -- webhook registration -----------------------------------------------------------------------
    def _webhook_repository(self) -> tuple[str, str]:
        full = self.context.config.get("webhook_repository")
        if not isinstance(full, str) or "/" not in full:
            raise ConnectorError(
                "set the connection's webhook_repository (owner/name) to use GitHub triggers",
                code="invalid_config",
            )
        owner, _, repo = full.partition("/")
        return owner, repo

    async def register_webhook(
        self, trigger_ids: list[str], target_url: str, secret: str
    ) -> WebhookRegistration:
        owner, repo = self._webhook_repository()
        github_events = sorted(
            {e.split(".", 1)[0] for t in trigger_ids if t in self._triggers for e in self._triggers[t].events}
        )
        if not github_events:
            raise ConnectorError(f"no GitHub events for triggers {trigger_ids}", code="invalid_triggers")
        body = {
            "name": "web",
            "active": True,
            "events": github_events,
            "config": {"url": target_url, "content_type": "json", "secret": secret, "insecure_ssl": "0"},
        }
        path = self.expand_path("repos/{owner}/{repo}/hooks", owner=owner, repo=repo)
        hook = (await self._call("POST", path, json=body)).json()
        return WebhookRegistration(
            external_id=str(hook["id"]),
            events=github_events,
            metadata={"owner": owner, "repo": repo, "hook_id": hook["id"]},
        )

    async def unregister_webhook(self, registration: WebhookRegistration) -> None:
        meta = registration.metadata
        owner, repo = (meta["owner"], meta["repo"]) if "owner" in meta else self._webhook_repository()
        path = self.expand_path(
            "repos/{owner}/{repo}/hooks/{hook_id}", owner=owner, repo=repo, hook_id=registration.external_id
        )
        resp = await self.client.request("DELETE", path, raise_for_status=False)
        if not resp.ok and resp.status_code != 404:  # already gone is what we wanted
            raise github_error(resp)

    # -- content export -----------------------------------------------------------------------------
    async def export_content(self, cursor: str | None) -> ExportPage:
        """Issues (not pull requests) of ``export_repositories`` (default: the account's), oldest
        update first, one page per call; the final cursor resumes with ``since`` = the newest
        update seen, so the next export is incremental."""
        state = ExportCursor.decode(cursor)
        if state.repos is None:
            state.repos = await self._export_repositories()
            state.index, state.page = 0, 1
        if state.index >= len(state.repos):
            return ExportPage(documents=[], cursor=state.finished().encode(), has_more=False)
        full = state.repos[state.index]
        owner, _, repo = full.partition("/")
        query: dict[str, Any] = {
            "state": "all",
            "sort": "updated",
            "direction": "asc",
            "per_page": EXPORT_PAGE,
        }
        query["page"] = state.page
        if state.since:
            query["since"] = state.since
        path = self.expand_path("repos/{owner}/{repo}/issues", owner=owner, repo=repo)
        resp = await self._call("GET", path, params=query)
        items = resp.json() or []
        documents: list[ContentDocument] = []
        for item in items:
            if state.high is None or item["updated_at"] > state.high:
                state.high = item["updated_at"]
            if "pull_request" not in item:
                documents.append(issue_document(full, item))
        if LinkHeader().next_params(resp, items, query, len(items)) is not None:
            state.page += 1
        else:
            state.index, state.page = state.index + 1, 1
        more = state.index < len(state.repos)
        return ExportPage(
            documents=documents, cursor=(state if more else state.finished()).encode(), has_more=more
        )

    async def _export_repositories(self) -> list[str]:
        configured = self.context.config.get("export_repositories")
        if isinstance(configured, list) and configured:
            return [str(r) for r in configured]
        items = await self._collect(
            "user/repos", {"per_page": PER_PAGE, "sort": "full_name"}, MAX_EXPORT_REPOS
        )
        return [str(r["full_name"]) for r in items]


class GitHubTokenConnector(GitHubConnector):
    """The same connector with a personal access token (classic or fine-grained) instead of an
    OAuth App: for GitHub Enterprise Server without an OAuth App, or service accounts."""

    id = "github_pat"
    name = "GitHub (personal access token)"
    description = "GitHub or GitHub Enterprise Server with a personal access token."
    auth = AuthSpec(
        method=AuthenticationMethod.BEARER,
        fields=[
            CredentialField(
                key="token",
                label="Personal access token",
                pattern=r"^(gh[pousr]_[A-Za-z0-9_]{20,255}|github_pat_[A-Za-z0-9_]{20,255}|[0-9a-f]{40})$",
                description="GitHub → Settings → Developer settings → Personal access tokens",
            )
        ],
    )
    api = _api_spec(oauth=False)


def issue_document(repository: str, item: dict[str, Any]) -> ContentDocument:
    labels = [x if isinstance(x, str) else x.get("name", "") for x in item.get("labels") or []]
    return ContentDocument(
        id=f"{repository}#{item['number']}",
        title=str(item["title"])[:1000],
        text=item.get("body") or "",
        url=item.get("html_url"),
        author=(item.get("user") or {}).get("login"),
        updated_at=datetime.fromisoformat(item["updated_at"]),
        metadata={
            "repository": repository,
            "number": item["number"],
            "state": item["state"],
            "labels": labels,
        },
    )


class ExportCursor:
    """Where an export stands: the repositories, which one and which page, the ``since`` this
    pass started from and the newest ``updated_at`` seen (opaque base64 JSON to the hub)."""

    def __init__(
        self,
        repos: list[str] | None = None,
        index: int = 0,
        page: int = 1,
        since: str | None = None,
        high: str | None = None,
    ) -> None:
        self.repos, self.index, self.page, self.since, self.high = repos, index, page, since, high

    @classmethod
    def decode(cls, cursor: str | None) -> ExportCursor:
        if not cursor:
            return cls()
        try:
            data = json.loads(base64.urlsafe_b64decode(cursor.encode()))
            repos = data.get("repos")
            return cls(
                [str(r) for r in repos] if isinstance(repos, list) else None,
                int(data.get("index", 0)),
                int(data.get("page", 1)),
                data.get("since"),
                data.get("high"),
            )
        except (ValueError, TypeError, AttributeError, binascii.Error):
            raise ConnectorError(
                "export cursor is not one this connector wrote", code="invalid_cursor"
            ) from None

    def finished(self) -> ExportCursor:
        """The cursor the next (incremental) export starts from."""
        since = self.high or self.since
        return ExportCursor(None, 0, 1, since, since)

    def encode(self) -> str:
        data = {
            "repos": self.repos,
            "index": self.index,
            "page": self.page,
            "since": self.since,
            "high": self.high,
        }
        return base64.urlsafe_b64encode(json.dumps(data, separators=(",", ":")).encode()).decode()


def github_error(resp: ProviderResponse) -> ProviderError:
    """``error_for``, plus GitHub's rate limits: a 403 or 429 with ``x-ratelimit-remaining: 0``
    (primary) or a secondary-limit message becomes ``provider_rate_limited`` with the wait until
    ``x-ratelimit-reset`` (or ``Retry-After``, or GitHub's advised 60 s)."""
    err = error_for(resp)
    if not is_rate_limited(resp.status_code, resp.headers, err.message):
        return err
    return ProviderError(
        err.message,
        code="provider_rate_limited",
        status_code=resp.status_code,
        retry_after_s=wait_seconds(parse_rate_limit(resp.headers), resp.headers),
        body_excerpt=err.body_excerpt,
    )
