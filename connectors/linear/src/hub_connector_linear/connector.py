"""``LinearConnector`` (OAuth 2.0) and ``LinearApiKeyConnector`` (personal API key).

Linear is one GraphQL endpoint (``POST https://api.linear.app/graphql``). Every document sent is
in :mod:`hub_connector_linear.operations` (validated against Linear's published schema by the
contract tests). Every call goes through the hub's gateway (``self.client``), which injects the
connection's token; this code never sees a credential. GraphQL ``errors`` (Linear answers them
with HTTP 200 or 400) become action errors with Linear's code: ``RATELIMITED`` is
``provider_rate_limited`` with the wait until the spent budget resets. See
docs/connectors/linear.md.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import time
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from hub_connector_linear import events as ev
from hub_connector_linear import operations as op
from hub_connector_linear.models import (
    UUID,
    AddComment,
    Comment,
    CreateIssue,
    Issue,
    IssueList,
    SearchIssues,
    UpdateIssue,
    UpdateStatus,
)
from hub_connector_linear.rate_limit import parse_rate_limit, wait_seconds
from hub_connector_sdk import (
    ApiKeyPlacement,
    ApiSpec,
    AuthenticationMethod,
    AuthSpec,
    BaseConnector,
    ConnectorCategory,
    ConnectorError,
    ConnectorHealth,
    ContentDocument,
    CredentialField,
    CredentialsRejected,
    ExportPage,
    GatewayError,
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

API_BASE = "https://api.linear.app"
GRAPHQL = "graphql"
EXTRA_HOSTS_ENV = "HUB_LINEAR_API_HOSTS"
MAX_PAGES = 20  # a bound on every paginated read
EXPORT_PAGE = 50
MAX_EXPORT_COMMENT_PAGES = 10  # 500 comments per exported issue
WEBHOOK_LABEL = "Integration Hub"
_URL = {"type": "string", "format": "uri", "maxLength": 2048}
# GraphQL error codes (extensions.code) → the hub's action error codes.
_GRAPHQL_CODES = {
    "RATELIMITED": "provider_rate_limited",
    "AUTHENTICATION_ERROR": "credentials_rejected",
    "FORBIDDEN": "provider_forbidden",
    "INVALID_INPUT": "provider_rejected",
    "GRAPHQL_VALIDATION_FAILED": "provider_rejected",
    "BAD_USER_INPUT": "provider_rejected",
    "ENTITY_NOT_FOUND": "provider_not_found",
}


def extra_hosts() -> list[str]:
    """Hosts besides api.linear.app a connection may point its base URL at (an egress proxy, a
    simulator): ``HUB_LINEAR_API_HOSTS``, comma-separated ``host`` or ``host:port``."""
    raw = os.environ.get(EXTRA_HOSTS_ENV, "")
    return [h.strip().lower() for h in raw.split(",") if h.strip()]


def _config_schema(oauth: bool) -> dict[str, Any]:
    properties: dict[str, Any] = {
        "base_url": {**_URL, "description": "API base (default https://api.linear.app)"},
        "webhook_team_id": {
            "type": "string",
            "pattern": UUID,
            "description": "team whose events webhook triggers receive (default: all public teams)",
        },
        "export_team_ids": {
            "type": "array",
            "items": {"type": "string", "pattern": UUID},
            "maxItems": 50,
            "description": "teams whose issues are exported for search (default: every team visible)",
        },
    }
    if oauth:
        for key in ("authorization", "token", "revocation"):
            properties[f"oauth_{key}_url"] = {**_URL, "description": "OAuth endpoint override"}
    return {"type": "object", "properties": properties, "additionalProperties": False}


def _api_spec(oauth: bool) -> ApiSpec:
    return ApiSpec(
        base_url=API_BASE,
        allowed_hosts=["api.linear.app", "linear.app", *extra_hosts()],
        default_headers={"Content-Type": "application/json"},
        config_schema=_config_schema(oauth),
    )


class LinearConnector(BaseConnector):
    id = "linear"
    name = "Linear"
    version = "1.0.0"
    min_hub_version = "0.1.0"
    category = ConnectorCategory.PROJECT_MANAGEMENT
    description = "Issues, workflow states, comments and search in Linear."
    docs_url = "https://linear.app/developers"
    builtin = True
    auth = AuthSpec(
        method=AuthenticationMethod.OAUTH2,
        oauth=OAuthConfig(
            authorization_url="https://linear.app/oauth/authorize",
            token_url=f"{API_BASE}/oauth/token",
            revocation_url=f"{API_BASE}/oauth/revoke",
            revocation_style="rfc7009",
            # write: create and edit issues and comments; admin: webhookCreate / webhookDelete.
            default_scopes=["read", "write", "admin"],
            scope_separator=",",  # Linear: "comma separated list of scopes"
            use_pkce=True,
            client_auth="client_secret_post",
            # actor=app: what the connection does shows as the app, not the person who connected
            # (a flow's additional_parameters may say actor=user, or prompt=consent to pick
            # another workspace).
            extra_authorize_params={"actor": "app"},
            refresh="rotating",  # new apps: ~24 h access tokens, rotating refresh tokens
            profile="linear",
        ),
    )
    api = _api_spec(oauth=True)
    webhook_signature = "linear"

    # -- calls --------------------------------------------------------------------------------------
    async def graphql(self, document: str, variables: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """POST one operation; the ``data`` of the answer, or a ProviderError for HTTP failures and
        GraphQL ``errors`` alike (Linear sends both with partial data: errors win)."""
        body: dict[str, Any] = {"query": document}
        if variables:
            body["variables"] = dict(variables)
        resp = await self.client.request("POST", GRAPHQL, json=body, raise_for_status=False)
        answer = _json(resp)
        errors = answer.get("errors") if isinstance(answer, dict) else None
        if errors:
            raise linear_error(resp, errors)
        if not resp.ok:
            raise error_for(resp)
        data = answer.get("data") if isinstance(answer, dict) else None
        if not isinstance(data, dict):
            raise ProviderError(
                "Linear answered without data", code="provider_error", status_code=resp.status_code
            )
        return data

    # -- health and identity ------------------------------------------------------------------------
    async def health_check(self) -> ConnectorHealth:
        """``query { viewer { id name email } organization { ... } }``: who the credentials are."""
        started = time.perf_counter()
        try:
            data = await self.graphql(op.VIEWER)
        except CredentialsRejected as exc:
            return self._health(False, started, exc.message, invalid=True)
        except GatewayError as exc:
            return self._health(False, started, exc.message)
        except ProviderError as exc:
            return self._health(False, started, exc.message, invalid=exc.code == "provider_forbidden")
        except ConnectorError as exc:
            return self._health(False, started, exc.message)
        return self._health(True, started, "ok", account=self.health_account_info(data))

    def health_account_info(self, body: Any) -> Mapping[str, str]:
        viewer = body.get("viewer") if isinstance(body, dict) else None
        if not isinstance(viewer, dict) or not viewer.get("id"):
            return {}
        org = body.get("organization") or {}
        info = {
            "id": str(viewer["id"]),
            "name": str(viewer.get("name") or viewer.get("displayName") or ""),
            "email": str(viewer.get("email") or ""),
        }
        if isinstance(org, dict) and org.get("id"):
            info.update(
                organization_id=str(org["id"]),
                organization_name=str(org.get("name") or ""),
                organization_url_key=str(org.get("urlKey") or ""),
            )
        return info

    # -- actions ------------------------------------------------------------------------------------
    @action(params=CreateIssue, output=Issue, scopes=["write"])
    async def create_issue(self, params: CreateIssue) -> Issue:
        """Create an issue in a team (``issueCreate``)."""
        data = await self.graphql(op.ISSUE_CREATE, {"input": params.to_api()})
        return Issue.from_api(_payload(data, "issueCreate", "issue"))

    @action(params=UpdateIssue, output=Issue, scopes=["write"], idempotent=True)
    async def update_issue(self, params: UpdateIssue) -> Issue:
        """Change an issue's title, description, priority, assignee, state, labels or due date
        (only the fields given; ``issueUpdate``)."""
        changes = params.to_api()
        if not changes:
            raise ConnectorError("give at least one field to change", code="invalid_parameters")
        data = await self.graphql(op.ISSUE_UPDATE, {"id": params.issue_id, "input": changes})
        return Issue.from_api(_payload(data, "issueUpdate", "issue"))

    @action(params=UpdateStatus, output=Issue, scopes=["write"], idempotent=True)
    async def update_status(self, params: UpdateStatus) -> Issue:
        """Move an issue to a workflow state, by id or by name within the issue's team."""
        if (params.state_id is None) == (params.state_name is None):
            raise ConnectorError("give exactly one of state_id and state_name", code="invalid_parameters")
        state_id = params.state_id or await self._state_named(params.issue_id, params.state_name or "")
        data = await self.graphql(op.ISSUE_UPDATE, {"id": params.issue_id, "input": {"stateId": state_id}})
        return Issue.from_api(_payload(data, "issueUpdate", "issue"))

    async def _state_named(self, issue_id: str, name: str) -> str:
        team = (await self.graphql(op.ISSUE_TEAM, {"id": issue_id}))["issue"]["team"]
        wanted = {"team": {"id": {"eq": team["id"]}}, "name": {"eqIgnoreCase": name}}
        states = await self._collect(
            op.WORKFLOW_STATES, "workflowStates", {"filter": wanted, "first": 50}, 50
        )
        if not states:
            raise ConnectorError(
                f"team {team.get('key') or team['id']} has no workflow state named {name!r}",
                code="unknown_state",
                status_code=404,
            )
        return str(states[0]["id"])

    @action(params=AddComment, output=Comment, scopes=["write"])
    async def add_comment(self, params: AddComment) -> Comment:
        """Comment on an issue, or reply in a comment's thread (``commentCreate``)."""
        comment_input: dict[str, Any] = {"issueId": params.issue_id, "body": params.body}
        if params.parent_id:
            comment_input["parentId"] = params.parent_id
        data = await self.graphql(op.COMMENT_CREATE, {"input": comment_input})
        return Comment.from_api(_payload(data, "commentCreate", "comment"))

    @action(params=SearchIssues, output=IssueList, scopes=["read"], idempotent=True)
    async def search_issues(self, params: SearchIssues) -> IssueList:
        """Full-text issue search (``searchIssues``), following ``pageInfo.endCursor`` up to
        ``max_items``."""
        variables: dict[str, Any] = {
            "term": params.term,
            "first": min(params.page_size, params.max_items + 1),
            "includeComments": params.include_comments,
        }
        if params.team_id:
            variables["teamId"] = params.team_id
        items = await self._collect(op.SEARCH_ISSUES, "searchIssues", variables, params.max_items + 1)
        return IssueList(
            issues=[Issue.from_api(i) for i in items[: params.max_items]],
            truncated=len(items) > params.max_items,
        )

    async def _collect(self, document: str, field: str, variables: dict[str, Any], limit: int) -> list[Any]:
        """Up to ``limit`` nodes of connection ``field``, page after page by ``pageInfo.endCursor``."""
        items: list[Any] = []
        after: str | None = None
        for _ in range(MAX_PAGES):
            page_vars = {**variables, "after": after} if after else variables
            connection = (await self.graphql(document, page_vars))[field]
            items.extend(connection["nodes"])
            info = connection["pageInfo"]
            after = info.get("endCursor") if info.get("hasNextPage") else None
            if after is None or len(items) >= limit:
                break
        return items[:limit]

    # -- triggers -----------------------------------------------------------------------------------
    def webhook_event_name(self, headers: Mapping[str, str], payload: Any) -> str | None:
        """``Issue.create``, ``Issue.update``, ``Comment.create``... from the body's type and action
        (``Linear-Event`` carries the type too)."""
        if not isinstance(payload, dict):
            return None
        kind = payload.get("type") or headers.get("linear-event")
        action_name = payload.get("action")
        return f"{kind}.{action_name}" if kind and action_name else None

    @trigger("issue_created", type=TriggerType.CREATED, events=["Issue.create"], payload=ev.IssueEvent)
    def on_issue_created(self, event: str, payload: dict[str, Any]) -> TriggerOutput:
        """An issue was created."""
        return ev.issue_event(payload)

    @trigger("issue_updated", type=TriggerType.UPDATED, events=["Issue.update"], payload=ev.IssueEvent)
    def on_issue_updated(self, event: str, payload: dict[str, Any]) -> TriggerOutput:
        """An issue changed (``changed`` lists the fields Linear's ``updatedFrom`` names)."""
        return ev.issue_event(payload)

    @trigger(
        "status_changed",
        type=TriggerType.STATUS_CHANGED,
        events=["Issue.update"],
        payload=ev.StatusChangedEvent,
    )
    def on_status_changed(self, event: str, payload: dict[str, Any]) -> TriggerOutput | None:
        """An issue moved to another workflow state (``updatedFrom.stateId`` is the previous one)."""
        return ev.status_changed(payload)

    @trigger(
        "comment_created", type=TriggerType.COMMENTED, events=["Comment.create"], payload=ev.CommentEvent
    )
    def on_comment_created(self, event: str, payload: dict[str, Any]) -> TriggerOutput:
        """Someone commented on an issue."""
        return ev.comment_event(payload)

    def webhook_occurred_at(self, headers: Mapping[str, str], payload: Any) -> datetime | None:
        return ev.when(payload.get("createdAt")) if isinstance(payload, dict) else None

    # -- webhook registration -----------------------------------------------------------------------
    async def register_webhook(
        self, trigger_ids: list[str], target_url: str, secret: str
    ) -> WebhookRegistration:
        """``webhookCreate`` for the triggers' resource types. Linear issues the signing secret
        itself (``webhook.secret``): the registration returns it and the hub keeps it in the vault
        (the hub's own ``secret`` is not sent, so there is one source of truth)."""
        resource_types = sorted(
            {e.split(".", 1)[0] for t in trigger_ids if t in self._triggers for e in self._triggers[t].events}
        )
        if not resource_types:
            raise ConnectorError(f"no Linear events for triggers {trigger_ids}", code="invalid_triggers")
        hook_input: dict[str, Any] = {
            "url": target_url,
            "resourceTypes": resource_types,
            "label": WEBHOOK_LABEL,
        }
        team = self.context.config.get("webhook_team_id")
        if isinstance(team, str) and team:
            hook_input["teamId"] = team
        else:
            hook_input["allPublicTeams"] = True
        hook = _payload(
            await self.graphql(op.WEBHOOK_CREATE, {"input": hook_input}), "webhookCreate", "webhook"
        )
        issued = hook.get("secret")
        if not isinstance(issued, str) or not issued:
            raise ProviderError("Linear created the webhook without a signing secret", code="provider_error")
        return WebhookRegistration(
            external_id=str(hook["id"]),
            events=resource_types,
            metadata={"webhook_id": hook["id"], "team_id": (hook.get("team") or {}).get("id")},
            secret=issued,
        )

    async def unregister_webhook(self, registration: WebhookRegistration) -> None:
        try:
            await self.graphql(op.WEBHOOK_DELETE, {"id": registration.external_id})
        except ProviderError as exc:
            if exc.code != "provider_not_found":  # already gone is what we wanted
                raise

    # -- content export -----------------------------------------------------------------------------
    async def export_content(self, cursor: str | None) -> ExportPage:
        """Issues with their comments, oldest update first, one page of 50 per call, filtered to
        ``updatedAt > since``; the cursor keeps Linear's ``endCursor`` (resumable), and a finished
        pass's cursor carries ``since`` = the newest ``updatedAt`` seen (incremental)."""
        state = ExportCursor.decode(cursor)
        variables: dict[str, Any] = {
            "first": EXPORT_PAGE,
            "sort": [{"updatedAt": {"order": "Ascending"}}],
        }
        issue_filter: dict[str, Any] = {}
        if state.since:
            issue_filter["updatedAt"] = {"gt": state.since}
        teams = self.context.config.get("export_team_ids")
        if isinstance(teams, list) and teams:
            issue_filter["team"] = {"id": {"in": [str(t) for t in teams]}}
        if issue_filter:
            variables["filter"] = issue_filter
        if state.after:
            variables["after"] = state.after
        connection = (await self.graphql(op.EXPORT_ISSUES, variables))["issues"]
        documents = []
        for node in connection["nodes"]:
            if state.high is None or node["updatedAt"] > state.high:
                state.high = node["updatedAt"]
            documents.append(issue_document(node, await self._all_comments(node)))
        info = connection["pageInfo"]
        if info.get("hasNextPage") and info.get("endCursor"):
            state.after = str(info["endCursor"])
            return ExportPage(documents=documents, cursor=state.encode(), has_more=True)
        return ExportPage(documents=documents, cursor=state.finished().encode(), has_more=False)

    async def _all_comments(self, node: dict[str, Any]) -> list[dict[str, Any]]:
        comments = node.get("comments") or {"nodes": [], "pageInfo": {}}
        found = list(comments["nodes"])
        info = comments.get("pageInfo") or {}
        for _ in range(MAX_EXPORT_COMMENT_PAGES):
            if not (info.get("hasNextPage") and info.get("endCursor")):
                break
            more = await self.graphql(op.ISSUE_COMMENTS, {"id": node["id"], "after": info["endCursor"]})
            page = more["issue"]["comments"]
            found.extend(page["nodes"])
            info = page["pageInfo"]
        return found


class LinearApiKeyConnector(LinearConnector):
    """The same connector with a personal API key instead of OAuth: Linear → Settings → Security
    & access → Personal API keys. Linear takes such a key as ``Authorization: <key>`` (no
    ``Bearer``)."""

    id = "linear_api_key"
    name = "Linear (personal API key)"
    description = "Linear with a personal API key (scripts, service accounts)."
    auth = AuthSpec(
        method=AuthenticationMethod.API_KEY,
        api_key=ApiKeyPlacement(location="header", name="Authorization", prefix=""),
        fields=[
            CredentialField(
                key="api_key",
                label="Personal API key",
                pattern=r"^lin_api_[A-Za-z0-9]{20,100}$",
                description="Linear → Settings → Security & access → Personal API keys (lin_api_…)",
            )
        ],
    )
    api = _api_spec(oauth=False)


# -- helpers -----------------------------------------------------------------------------------------
def _json(resp: ProviderResponse) -> Any:
    try:
        return resp.json()
    except ValueError:
        return None


def _payload(data: dict[str, Any], field: str, entity: str) -> dict[str, Any]:
    """The entity of a mutation payload (``issueCreate { success issue }``); success=false is an error."""
    result = data.get(field) or {}
    item = result.get(entity)
    if not result.get("success") or not isinstance(item, dict):
        raise ProviderError(f"Linear's {field} did not succeed", code="provider_rejected")
    return item


def linear_error(resp: ProviderResponse, errors: list[Any]) -> ProviderError:
    """GraphQL ``errors`` → one ProviderError: Linear's message, its ``extensions.code`` mapped to
    the hub's codes (``RATELIMITED`` → ``provider_rate_limited`` with the wait until the spent
    budget resets), and the other errors' messages in ``details``."""
    first = errors[0] if isinstance(errors[0], dict) else {}
    extensions = first.get("extensions") or {}
    linear_code = str(extensions.get("code") or "").upper()
    message = str(extensions.get("userPresentableMessage") or first.get("message") or "Linear GraphQL error")[
        :500
    ]
    code = _GRAPHQL_CODES.get(linear_code, "provider_error")
    raw = str(first.get("message") or "").lower()
    if code in ("provider_error", "provider_rejected") and raw.startswith("entity not found"):
        code = "provider_not_found"  # Linear: INVALID_INPUT "Entity not found: Issue"
    details = {
        "linear_code": linear_code or None,
        "errors": [str(e.get("message", ""))[:200] for e in errors[:5] if isinstance(e, dict)],
    }
    retry = None
    if code == "provider_rate_limited":
        retry = wait_seconds(parse_rate_limit(resp.headers), resp.headers)
    cls = CredentialsRejected if code == "credentials_rejected" else ProviderError
    return cls(
        message,
        code=code,
        status_code=resp.status_code,
        details=details,
        retry_after_s=retry,
        body_excerpt=body_excerpt(resp),
    )


def issue_document(node: dict[str, Any], comments: list[dict[str, Any]]) -> ContentDocument:
    """One issue for search: description, then its comments in order, as Markdown text."""
    parts = [node.get("description") or ""]
    for comment in comments:
        who = (comment.get("user") or {}).get("name") or "someone"
        parts.append(f"---\n{who} ({comment['createdAt']}):\n{comment['body']}")
    state = node.get("state") or {}
    team = node.get("team") or {}
    return ContentDocument(
        id=str(node["identifier"]),
        title=str(node["title"])[:1000],
        text="\n\n".join(p for p in parts if p),
        url=node.get("url"),
        author=(node.get("creator") or {}).get("name"),
        updated_at=datetime.fromisoformat(str(node["updatedAt"]).replace("Z", "+00:00")),
        metadata={
            "linear_id": node["id"],
            "team": team.get("key"),
            "state": state.get("name"),
            "state_type": state.get("type"),
            "priority": node.get("priority"),
            "comments": len(comments),
        },
    )


class ExportCursor:
    """Where an export stands: Linear's ``endCursor`` within this pass, the ``since`` the pass
    started from and the newest ``updatedAt`` seen (opaque base64 JSON to the hub)."""

    def __init__(self, after: str | None = None, since: str | None = None, high: str | None = None) -> None:
        self.after, self.since, self.high = after, since, high

    @classmethod
    def decode(cls, cursor: str | None) -> ExportCursor:
        if not cursor:
            return cls()
        try:
            data = json.loads(base64.urlsafe_b64decode(cursor.encode()))
            if not isinstance(data, dict) or data.get("v") != 1:
                raise ValueError("not a Linear export cursor")
            return cls(data.get("after"), data.get("since"), data.get("high"))
        except (ValueError, TypeError, binascii.Error):
            raise ConnectorError(
                "export cursor is not one this connector wrote", code="invalid_cursor"
            ) from None

    def finished(self) -> ExportCursor:
        """The cursor the next (incremental) export starts from."""
        since = self.high or self.since
        return ExportCursor(None, since, since)

    def encode(self) -> str:
        data = {"v": 1, "after": self.after, "since": self.since, "high": self.high}
        return base64.urlsafe_b64encode(json.dumps(data, separators=(",", ":")).encode()).decode()
