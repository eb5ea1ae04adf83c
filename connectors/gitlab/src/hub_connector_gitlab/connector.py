"""``GitLabConnector`` (OAuth application) and ``GitLabTokenConnector`` (``PRIVATE-TOKEN``).

Every call goes through the hub's gateway (``self.client``), which injects the connection's
token; this code never sees a credential. Self-managed GitLab: set the connection's ``base_url``
to ``https://<host>/api/v4`` (and, for OAuth, the ``oauth_*`` endpoints to
``https://<host>/oauth/...``); the operator lists the host in ``HUB_GITLAB_HOSTS``, and the
gateway still refuses private, loopback and link-local addresses unless the operator allows
them (``HUB_OUTBOUND_ALLOWLIST``). See docs/connectors/gitlab.md.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from hub_connector_gitlab import events as ev
from hub_connector_gitlab.export import export_page
from hub_connector_gitlab.models import (
    PROJECT,
    AddIssueNote,
    CreateIssue,
    CreateMergeRequest,
    Issue,
    ListMergeRequests,
    MergeMergeRequest,
    MergeRequest,
    MergeRequestList,
    Note,
    UpdateIssue,
)
from hub_connector_gitlab.rate_limit import is_rate_limited, parse_rate_limit, wait_seconds
from hub_connector_sdk import (
    ApiKeyPlacement,
    ApiSpec,
    AuthenticationMethod,
    AuthSpec,
    BaseConnector,
    ConnectorCategory,
    ConnectorError,
    CredentialField,
    ExportPage,
    GatewayError,
    LinkHeader,
    OAuthConfig,
    ProviderError,
    ProviderResponse,
    TriggerOutput,
    TriggerType,
    WebhookRegistration,
    action,
    body_excerpt,
    error_for,
    trigger,
)

API_BASE = "https://gitlab.com/api/v4"
HOSTS_ENV = "HUB_GITLAB_HOSTS"
MAX_PAGES = 20  # a bound on every list action (2,000 items at 100 a page)
MAX_EXPORT_PROJECTS = 50
# A base URL is an origin plus /api/v4: no credentials, query or fragment that could smuggle a
# different target past the host check (the hub checks the host, the gateway the address).
BASE_URL = r"^https?://[A-Za-z0-9.-]+(:\d{1,5})?/api/v4/?$"
OAUTH_URL = r"^https?://[A-Za-z0-9.-]+(:\d{1,5})?(/[A-Za-z0-9._~/-]*)?$"
_PROJECT = {"type": "string", "pattern": PROJECT, "maxLength": 1000}
# trigger → the project hook flag that subscribes to its events
HOOK_FLAGS = {
    "issue": "issues_events",
    "merge_request": "merge_requests_events",
    "note": "note_events",
    "push": "push_events",
}


def self_managed_hosts() -> list[str]:
    """Self-managed GitLab hosts the operator allows (``HUB_GITLAB_HOSTS``, comma-separated
    ``host`` or ``host:port``): a connection may point its base URL there."""
    raw = os.environ.get(HOSTS_ENV, "")
    return [h.strip().lower() for h in raw.split(",") if h.strip()]


def _config_schema(oauth: bool) -> dict[str, Any]:
    properties: dict[str, Any] = {
        "base_url": {
            "type": "string",
            "pattern": BASE_URL,
            "maxLength": 300,
            "description": "self-managed GitLab: https://<host>/api/v4 (host listed in HUB_GITLAB_HOSTS)",
        },
        "webhook_project": {**_PROJECT, "description": "project whose hooks triggers register (id or path)"},
        "webhook_signature": {
            "type": "string",
            "enum": ["gitlab-token", "gitlab-signing"],
            "default": "gitlab-token",
            "description": "gitlab-token: the hook's secret token (X-Gitlab-Token, every GitLab); "
            "gitlab-signing: a signing token (HMAC-signed and timestamped, newer GitLab instances)",
        },
        "export_projects": {
            "type": "array",
            "items": _PROJECT,
            "maxItems": MAX_EXPORT_PROJECTS,
            "description": "projects whose issues and merge requests are exported (default: the account's)",
        },
    }
    if oauth:
        for key in ("authorization", "token", "revocation", "identity"):
            properties[f"oauth_{key}_url"] = {
                "type": "string",
                "pattern": OAUTH_URL,
                "maxLength": 300,
                "description": "self-managed GitLab endpoint",
            }
    return {"type": "object", "properties": properties, "additionalProperties": False}


def _api_spec(oauth: bool) -> ApiSpec:
    return ApiSpec(
        base_url=API_BASE,
        allowed_hosts=["gitlab.com", *self_managed_hosts()],
        default_headers={"Accept": "application/json"},
        config_schema=_config_schema(oauth),
    )


class GitLabConnector(BaseConnector):
    id = "gitlab"
    name = "GitLab"
    version = "1.0.0"
    min_hub_version = "0.1.0"
    category = ConnectorCategory.SOURCE_CONTROL
    description = "Issues, merge requests and project hooks on gitlab.com or self-managed GitLab."
    docs_url = "https://docs.gitlab.com/api/rest/"
    builtin = True
    auth = AuthSpec(
        method=AuthenticationMethod.OAUTH2,
        oauth=OAuthConfig(
            authorization_url="https://gitlab.com/oauth/authorize",
            token_url="https://gitlab.com/oauth/token",
            revocation_url="https://gitlab.com/oauth/revoke",
            revocation_style="rfc7009",
            # ``api`` covers issues, merge requests and project hooks; read_user the identity.
            default_scopes=["api", "read_user"],
            scope_separator=" ",
            use_pkce=True,
            client_auth="client_secret_post",
            # Access tokens last 2 h; each refresh returns a new pair and kills the old one, so
            # refreshes go through the hub's race-free (single-flight) refresh.
            refresh="rotating",
            profile="gitlab",
            identity_url=f"{API_BASE}/user",
            identity_id_field="id",
            identity_name_field="username",
        ),
    )
    api = _api_spec(oauth=True)
    webhook_signature = "gitlab-token"
    # A connection with config webhook_signature=gitlab-signing gets GitLab's signing token instead.
    webhook_signature_alternatives = ("gitlab-signing",)
    health_path = "user"

    def health_account_info(self, body: Any) -> Mapping[str, str]:
        if not isinstance(body, dict) or "id" not in body:
            return {}
        return {
            "id": str(body["id"]),
            "name": str(body.get("username", "")),
            "login": str(body.get("username", "")),
            "display_name": str(body.get("name") or ""),
        }

    # -- calls --------------------------------------------------------------------------------------
    async def _call(self, method: str, path: str, **kw: Any) -> ProviderResponse:
        resp = await self.client.request(method, path, raise_for_status=False, **kw)
        if not resp.ok:
            raise gitlab_error(resp)
        return resp

    def _project_path(self, project: str, tail: str = "", **values: str | int) -> str:
        # expand_path encodes each value as one segment: group/project → group%2Fproject.
        return self.expand_path("projects/{id}" + tail, id=project, **values)

    async def collect(self, path: str, query: dict[str, Any], limit: int) -> list[Any]:
        """Up to ``limit`` items, following ``Link: rel="next"`` — GitLab's offset pages and its
        keyset pages (``pagination=keyset``) both announce the next page there."""
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

    # -- actions ------------------------------------------------------------------------------------
    @action(params=CreateIssue, output=Issue, scopes=["api"])
    async def create_issue(self, params: CreateIssue) -> Issue:
        """Open an issue in a project."""
        resp = await self._call("POST", self._project_path(params.project, "/issues"), json=params.to_api())
        return Issue.from_api(resp.json())

    @action(params=UpdateIssue, output=Issue, scopes=["api"], idempotent=True)
    async def update_issue(self, params: UpdateIssue) -> Issue:
        """Change an issue (only the fields given); ``state_event`` closes or reopens it."""
        path = self._project_path(params.project, "/issues/{iid}", iid=params.issue_iid)
        resp = await self._call("PUT", path, json=params.to_api())
        return Issue.from_api(resp.json())

    @action(params=AddIssueNote, output=Note, scopes=["api"])
    async def add_issue_note(self, params: AddIssueNote) -> Note:
        """Comment on an issue (a note; ``internal`` for project members only)."""
        path = self._project_path(params.project, "/issues/{iid}/notes", iid=params.issue_iid)
        resp = await self._call("POST", path, json=params.to_api())
        return Note.from_api(resp.json())

    @action(params=ListMergeRequests, output=MergeRequestList, scopes=["api"], idempotent=True)
    async def list_merge_requests(self, params: ListMergeRequests) -> MergeRequestList:
        """A project's merge requests, filtered and sorted; follows GitLab's ``Link`` pagination
        up to ``max_items``."""
        path = self._project_path(params.project, "/merge_requests")
        items = await self.collect(path, params.query(), params.max_items + 1)
        return MergeRequestList(
            merge_requests=[MergeRequest.from_api(i) for i in items[: params.max_items]],
            truncated=len(items) > params.max_items,
        )

    @action(params=CreateMergeRequest, output=MergeRequest, scopes=["api"])
    async def create_merge_request(self, params: CreateMergeRequest) -> MergeRequest:
        """Open a merge request from ``source_branch`` into ``target_branch``."""
        path = self._project_path(params.project, "/merge_requests")
        resp = await self._call("POST", path, json=params.to_api())
        return MergeRequest.from_api(resp.json())

    @action(params=MergeMergeRequest, output=MergeRequest, scopes=["api"])
    async def merge_merge_request(self, params: MergeMergeRequest) -> MergeRequest:
        """Merge a merge request (405 when it cannot be merged, 409 when ``sha`` is stale)."""
        path = self._project_path(params.project, "/merge_requests/{iid}/merge", iid=params.merge_request_iid)
        resp = await self._call("PUT", path, json=params.to_api())
        return MergeRequest.from_api(resp.json())

    # -- triggers -----------------------------------------------------------------------------------
    def webhook_event_name(self, headers: Mapping[str, str], payload: Any) -> str | None:
        """``object_kind``, plus ``.action`` when it has one (``issue.open``, ``merge_request.merge``)."""
        if not isinstance(payload, dict) or not isinstance(payload.get("object_kind"), str):
            return None
        attrs = payload.get("object_attributes")
        action_name = attrs.get("action") if isinstance(attrs, dict) else None
        kind = payload["object_kind"]
        return f"{kind}.{action_name}" if isinstance(action_name, str) and action_name else kind

    @trigger("issue_opened", type=TriggerType.CREATED, events=["issue.open"], payload=ev.IssueEvent)
    def on_issue_opened(self, event: str, payload: dict[str, Any]) -> TriggerOutput:
        """An issue was opened."""
        return ev.issue_event(payload, when_at=payload["object_attributes"]["created_at"])

    @trigger("issue_closed", type=TriggerType.STATUS_CHANGED, events=["issue.close"], payload=ev.IssueEvent)
    def on_issue_closed(self, event: str, payload: dict[str, Any]) -> TriggerOutput:
        """An issue was closed."""
        attrs = payload["object_attributes"]
        return ev.issue_event(payload, when_at=attrs.get("closed_at") or attrs["updated_at"])

    @trigger(
        "merge_request_opened",
        type=TriggerType.CREATED,
        events=["merge_request.open"],
        payload=ev.MergeRequestEvent,
    )
    def on_merge_request_opened(self, event: str, payload: dict[str, Any]) -> TriggerOutput:
        """A merge request was opened."""
        return ev.merge_request_event(payload, when_at=payload["object_attributes"]["created_at"])

    @trigger(
        "merge_request_merged",
        type=TriggerType.STATUS_CHANGED,
        events=["merge_request.merge"],
        payload=ev.MergeRequestEvent,
    )
    def on_merge_request_merged(self, event: str, payload: dict[str, Any]) -> TriggerOutput:
        """A merge request was merged."""
        attrs = payload["object_attributes"]
        return ev.merge_request_event(payload, when_at=attrs.get("merged_at") or attrs["updated_at"])

    @trigger("note_added", type=TriggerType.COMMENTED, events=["note"], payload=ev.NoteEvent)
    def on_note_added(self, event: str, payload: dict[str, Any]) -> TriggerOutput:
        """Someone commented on an issue, a merge request, a commit or a snippet."""
        return ev.note_event(payload)

    @trigger("push", type=TriggerType.CUSTOM, events=["push"], payload=ev.PushEvent)
    def on_push(self, event: str, payload: dict[str, Any]) -> TriggerOutput:
        """Commits were pushed to a branch."""
        return ev.push_event(payload)

    # -- webhook registration -----------------------------------------------------------------------
    def _webhook_project(self) -> str:
        project = self.context.config.get("webhook_project")
        if not isinstance(project, str) or not project:
            raise ConnectorError(
                "set the connection's webhook_project (project id or path) to use GitLab triggers",
                code="invalid_config",
            )
        return project

    def hook_flags(self, trigger_ids: list[str]) -> list[str]:
        kinds = {
            e.split(".", 1)[0] for t in trigger_ids if t in self._triggers for e in self._triggers[t].events
        }
        return sorted(HOOK_FLAGS[k] for k in kinds)

    async def register_webhook(
        self, trigger_ids: list[str], target_url: str, secret: str
    ) -> WebhookRegistration:
        """A project hook sending the triggers' events to ``target_url``, proven with ``secret`` as
        its token (``X-Gitlab-Token``) or, when the connection chose ``gitlab-signing``, as its
        signing token (the hub then generates a ``whsec_`` secret); every other event kind is
        switched off (GitLab turns push on by default)."""
        project = self._webhook_project()
        flags = self.hook_flags(trigger_ids)
        if not flags:
            raise ConnectorError(f"no GitLab events for triggers {trigger_ids}", code="invalid_triggers")
        signing = self.context.config.get("webhook_signature") == "gitlab-signing"
        body: dict[str, Any] = {"url": target_url, "enable_ssl_verification": True}
        body["signing_token" if signing else "token"] = secret
        body.update({flag: flag in flags for flag in HOOK_FLAGS.values()})
        hook = (await self._call("POST", self._project_path(project, "/hooks"), json=body)).json()
        return WebhookRegistration(
            external_id=str(hook["id"]),
            events=flags,
            metadata={"project": project, "hook_id": hook["id"]},
        )

    async def unregister_webhook(self, registration: WebhookRegistration) -> None:
        project = str(registration.metadata.get("project") or self._webhook_project())
        path = self._project_path(project, "/hooks/{hook_id}", hook_id=registration.external_id)
        resp = await self.client.request("DELETE", path, raise_for_status=False)
        if not resp.ok and resp.status_code != 404:  # already gone is what we wanted
            raise gitlab_error(resp)

    # -- content export -----------------------------------------------------------------------------
    async def export_content(self, cursor: str | None) -> ExportPage:
        """Issues and merge requests of ``export_projects`` (default: the account's), oldest
        update first, one page per call; see :mod:`hub_connector_gitlab.export`."""
        return await export_page(self, cursor)

    async def export_projects(self) -> list[str]:
        configured = self.context.config.get("export_projects")
        if isinstance(configured, list) and configured:
            return [str(p) for p in configured]
        # Keyset pagination (GitLab's advice for long project lists): the Link names id_after.
        query = {
            "membership": "true",
            "simple": "true",
            "pagination": "keyset",
            "order_by": "id",
            "sort": "asc",
            "per_page": 100,
        }
        items = await self.collect("projects", query, MAX_EXPORT_PROJECTS)
        return [str(p["path_with_namespace"]) for p in items]


class GitLabTokenConnector(GitLabConnector):
    """The same connector with a ``PRIVATE-TOKEN`` (personal, project or group access token with
    the ``api`` scope) instead of an OAuth application: self-managed instances without an OAuth
    app, service accounts, CI bots."""

    id = "gitlab_pat"
    name = "GitLab (access token)"
    description = "gitlab.com or self-managed GitLab with a personal, project or group access token."
    auth = AuthSpec(
        method=AuthenticationMethod.API_KEY,
        api_key=ApiKeyPlacement(location="header", name="PRIVATE-TOKEN", prefix=""),
        fields=[
            CredentialField(
                key="token",
                label="Access token",
                pattern=r"^(glpat-[A-Za-z0-9_.-]{20,255}|[A-Za-z0-9_-]{20,255})$",
                description="GitLab → Preferences → Access tokens (scope api)",
            )
        ],
    )
    api = _api_spec(oauth=False)


def _flatten(message: Any) -> str | None:
    """GitLab's error shapes: ``{"message": "404 Project Not Found"}``, validation errors as
    ``{"message": {"title": ["can't be blank"]}}`` or a list, Grape's ``{"error": "title is
    missing"}``."""
    if isinstance(message, str) and message:
        return message
    if isinstance(message, list) and message:
        return "; ".join(str(m) for m in message[:10])
    if isinstance(message, dict) and message:
        parts = []
        for field, problems in list(message.items())[:10]:
            listed = problems if isinstance(problems, list) else [problems]
            parts.append(f"{field} {', '.join(str(p) for p in listed[:5])}")
        return "; ".join(parts)
    return None


def gitlab_error(resp: ProviderResponse) -> ProviderError:
    """``error_for``, with GitLab's message shapes flattened into one readable message (field
    errors also in ``details.fields``) and its rate limits: a 429 (``Retry later``) becomes
    ``provider_rate_limited`` with the wait from ``Retry-After`` or ``RateLimit-Reset``."""
    err = error_for(resp)
    if isinstance(err, GatewayError):  # the hub's own refusal, already clear
        return err
    try:
        body = resp.json()
    except ValueError:
        body = None
    message = err.message
    details = dict(err.details)
    if isinstance(body, dict):
        message = _flatten(body.get("message")) or _flatten(body.get("error")) or message
        if isinstance(body.get("message"), dict):
            details["fields"] = body["message"]
    if is_rate_limited(resp.status_code, resp.headers):
        return ProviderError(
            message
            if message and not message.startswith("provider answered")
            else "GitLab rate limit reached",
            code="provider_rate_limited",
            status_code=resp.status_code,
            retry_after_s=wait_seconds(parse_rate_limit(resp.headers), resp.headers),
            body_excerpt=body_excerpt(resp),
        )
    err.message = message
    err.args = (message,)
    err.details = details
    return err
