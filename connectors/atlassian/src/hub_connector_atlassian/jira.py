"""``JiraConnector`` (Atlassian OAuth 2.0 3LO) and ``JiraTokenConnector`` (basic auth with an API
token; Jira Cloud sites or Data Center). See docs/connectors/jira.md.

Every call goes through the hub's gateway, which injects the credential; this code never sees
one. OAuth calls go to ``api.atlassian.com/ex/jira/{cloud_id}/rest/api/3/...`` (the site is
chosen as ``common`` explains); API-token calls to ``<base_url>/rest/api/3/...``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from hub_connector_atlassian import common
from hub_connector_atlassian import jira_events as ev
from hub_connector_atlassian.adf import adf_to_text, markdown_to_adf
from hub_connector_atlassian.jira_models import (
    SEARCH_FIELDS,
    AddComment,
    Assigned,
    AssignIssue,
    Comment,
    CreatedIssue,
    CreateIssue,
    Issue,
    IssueChanged,
    IssueList,
    SearchIssues,
    Transitioned,
    TransitionIssue,
    UpdateIssue,
)
from hub_connector_atlassian.site import AtlassianConnector
from hub_connector_sdk import (
    ApiSpec,
    AuthenticationMethod,
    AuthSpec,
    ConnectorCategory,
    ConnectorError,
    ContentDocument,
    ExportPage,
    ProviderError,
    TriggerOutput,
    TriggerType,
    WebhookRegistration,
    action,
    trigger,
)

API = "rest/api/3/"
MAX_PAGES = 20  # a bound on every list action
EXPORT_PAGE = 50
WEBHOOK_LIFETIME = timedelta(days=30)  # Jira: dynamic webhooks expire after 30 days
# JQL dates have minute precision in the searching user's time zone: an incremental export
# starts this much before the newest update it saw (re-exported documents keep their ids).
EXPORT_OVERLAP = timedelta(hours=15)
JIRA_SCOPES = ["read:jira-work", "write:jira-work", "read:jira-user", "manage:jira-webhook"]
_JQL = {"type": "string", "minLength": 1, "maxLength": 2000}


def _config_schema(oauth: bool) -> dict[str, Any]:
    return common.config_schema(
        oauth=oauth,
        extra={
            "webhook_jql": {
                **_JQL,
                "description": "JQL filter of the dynamic webhook (Jira allows issueKey, project, "
                "issuetype, status, assignee, reporter with =, !=, IN, NOT IN), e.g. project = PROJ",
            },
            "export_jql": {
                **_JQL,
                "description": "which issues the content export covers (default: every issue the "
                "account can see), e.g. project in (PROJ, OPS)",
            },
        },
    )


class JiraConnector(AtlassianConnector):
    id = "jira"
    name = "Jira"
    version = "1.0.0"
    min_hub_version = "0.1.0"
    category = ConnectorCategory.PROJECT_MANAGEMENT
    description = "Jira Cloud issues, transitions, comments and JQL search (Atlassian OAuth 2.0)."
    docs_url = "https://developer.atlassian.com/cloud/jira/platform/rest/v3/"
    builtin = True
    auth = AuthSpec(method=AuthenticationMethod.OAUTH2, oauth=common.oauth_config(JIRA_SCOPES))
    api = ApiSpec(
        base_url=common.API_BASE,
        allowed_hosts=common.allowed_hosts(),
        default_headers={"Accept": "application/json"},
        config_schema=_config_schema(oauth=True),
    )
    # Dynamic webhooks of OAuth 2.0 apps: an HS256 JWT signed with the app's client secret.
    webhook_signature = "atlassian-jwt"
    product = "jira"
    api_root = API
    identity_path = API + "myself"

    def _issue_path(self, key: str, tail: str = "") -> str:
        return self.expand_path("issue/{key}" + tail, key=key)

    # -- actions ---------------------------------------------------------------------------------------
    @action(params=CreateIssue, output=CreatedIssue, scopes=["write:jira-work"])
    async def create_issue(self, params: CreateIssue) -> CreatedIssue:
        """Create an issue; the description may be plain text or Markdown."""
        body = (await self.call("POST", "issue", json=params.to_api())).json()
        return CreatedIssue(id=str(body["id"]), key=str(body["key"]), api_url=body.get("self"))

    @action(params=UpdateIssue, output=IssueChanged, scopes=["write:jira-work"], idempotent=True)
    async def update_issue(self, params: UpdateIssue) -> IssueChanged:
        """Change an issue's summary, description, labels or priority (only the fields given)."""
        body = params.to_api()
        if not body["fields"]:
            raise ConnectorError(
                "nothing to change: give summary, description, labels or priority", code="invalid_parameters"
            )
        await self.call("PUT", self._issue_path(params.issue_key), json=body)
        return IssueChanged(key=params.issue_key, changed=sorted(body["fields"]))

    @action(params=AddComment, output=Comment, scopes=["write:jira-work"])
    async def add_comment(self, params: AddComment) -> Comment:
        """Comment on an issue (plain text or Markdown)."""
        path = self._issue_path(params.issue_key, "/comment")
        body = (await self.call("POST", path, json={"body": markdown_to_adf(params.body)})).json()
        return Comment.from_api(body)

    @action(params=TransitionIssue, output=Transitioned, scopes=["write:jira-work"])
    async def transition_issue(self, params: TransitionIssue) -> Transitioned:
        """Move an issue through its workflow: by transition id, or by the name of the target
        status (or of the transition), looked up among the issue's available transitions."""
        if not params.transition_id and not params.to_status:
            raise ConnectorError("give transition_id or to_status", code="invalid_parameters")
        path = self._issue_path(params.issue_key, "/transitions")
        available = (await self.call("GET", path)).json().get("transitions") or []
        chosen = _pick_transition(available, params.transition_id, params.to_status)
        if chosen is None:
            names = ", ".join(
                f"{t.get('name')} → {(t.get('to') or {}).get('name')} ({t.get('id')})" for t in available
            )
            raise ConnectorError(
                f"issue {params.issue_key} has no such transition now; available: {names or 'none'}",
                code="transition_not_available",
                status_code=409,
            )
        body: dict[str, Any] = {"transition": {"id": str(chosen["id"])}}
        if params.comment:
            body["update"] = {"comment": [{"add": {"body": markdown_to_adf(params.comment)}}]}
        await self.call("POST", path, json=body)
        return Transitioned(
            key=params.issue_key,
            transition_id=str(chosen["id"]),
            transition=str(chosen.get("name", "")),
            to_status=(chosen.get("to") or {}).get("name"),
        )

    @action(params=AssignIssue, output=Assigned, scopes=["write:jira-work"], idempotent=True)
    async def assign_issue(self, params: AssignIssue) -> Assigned:
        """Assign an issue to an account (null unassigns)."""
        path = self._issue_path(params.issue_key, "/assignee")
        await self.call("PUT", path, json={"accountId": params.account_id})
        return Assigned(key=params.issue_key, account_id=params.account_id)

    @action(params=SearchIssues, output=IssueList, scopes=["read:jira-work"], idempotent=True)
    async def search_issues(self, params: SearchIssues) -> IssueList:
        """Issues matching a JQL query; follows Jira's ``nextPageToken`` up to ``max_items``."""
        items: list[dict[str, Any]] = []
        token: str | None = None
        more = False
        for _ in range(MAX_PAGES):
            query: dict[str, Any] = {
                "jql": params.jql,
                "maxResults": min(params.page_size, params.max_items + 1 - len(items)),
                "fields": ",".join(SEARCH_FIELDS),
            }
            if token:
                query["nextPageToken"] = token
            page = (await self.call("GET", "search/jql", params=query)).json() or {}
            items.extend(page.get("issues") or [])
            token = page.get("nextPageToken")
            more = bool(token) and not page.get("isLast", False)
            if not more or len(items) > params.max_items:
                break
        return IssueList(
            issues=[Issue.from_api(i) for i in items[: params.max_items]],
            truncated=len(items) > params.max_items or more,
        )

    # -- triggers --------------------------------------------------------------------------------------
    def webhook_event_name(self, headers: Mapping[str, str], payload: Any) -> str | None:
        event = payload.get("webhookEvent") if isinstance(payload, dict) else None
        return str(event) if event else None

    def webhook_occurred_at(self, headers: Mapping[str, str], payload: Any) -> datetime | None:
        return ev.occurred_at(payload) if isinstance(payload, dict) else None

    @trigger("issue_created", type=TriggerType.CREATED, events=["jira:issue_created"], payload=ev.IssueEvent)
    def on_issue_created(self, event: str, payload: dict[str, Any]) -> TriggerOutput:
        """An issue was created."""
        return ev.issue_event(payload)

    @trigger("issue_updated", type=TriggerType.UPDATED, events=["jira:issue_updated"], payload=ev.IssueEvent)
    def on_issue_updated(self, event: str, payload: dict[str, Any]) -> TriggerOutput:
        """An issue changed (the changelog items say what)."""
        return ev.issue_event(payload)

    @trigger(
        "status_changed",
        type=TriggerType.STATUS_CHANGED,
        events=["jira:issue_updated"],
        payload=ev.StatusChangedEvent,
    )
    def on_status_changed(self, event: str, payload: dict[str, Any]) -> TriggerOutput | None:
        """An issue moved to another status (from the changelog; other updates fire nothing)."""
        return ev.status_changed(payload)

    @trigger(
        "issue_assigned", type=TriggerType.ASSIGNED, events=["jira:issue_updated"], payload=ev.AssignedEvent
    )
    def on_issue_assigned(self, event: str, payload: dict[str, Any]) -> TriggerOutput | None:
        """An issue's assignee changed (from the changelog)."""
        return ev.assigned(payload)

    @trigger(
        "comment_created", type=TriggerType.COMMENTED, events=["comment_created"], payload=ev.CommentEvent
    )
    def on_comment_created(self, event: str, payload: dict[str, Any]) -> TriggerOutput:
        """Someone commented on an issue."""
        return ev.comment_event(payload)

    # -- webhook registration (dynamic webhooks) ----------------------------------------------------------
    def _webhook_jql(self) -> str:
        jql = self.context.config.get("webhook_jql")
        if not isinstance(jql, str) or not jql.strip():
            raise ConnectorError(
                "set the connection's webhook_jql (e.g. project = PROJ) to use Jira triggers",
                code="invalid_config",
            )
        return jql

    async def register_webhook(
        self, trigger_ids: list[str], target_url: str, secret: str
    ) -> WebhookRegistration:
        """``POST /rest/api/3/webhook`` with the triggers' events and ``webhook_jql``, then
        ``PUT /rest/api/3/webhook/refresh`` for the expiry Jira gives it (30 days); the webhooks
        service renews it before then. Jira signs deliveries with a JWT made with the OAuth
        app's client secret (not ``secret``): see docs/connectors/jira.md."""
        events = sorted({e for t in trigger_ids if t in self._triggers for e in self._triggers[t].events})
        if not events:
            raise ConnectorError(f"no Jira events for triggers {trigger_ids}", code="invalid_triggers")
        jql = self._webhook_jql()
        body = {"url": target_url, "webhooks": [{"events": events, "jqlFilter": jql}]}
        answer = (await self.call("POST", "webhook", json=body)).json() or {}
        results = answer.get("webhookRegistrationResult") or [{}]
        first = results[0] if isinstance(results[0], dict) else {}
        if not first.get("createdWebhookId"):
            problems = "; ".join(str(e) for e in first.get("errors") or []) or "no webhook id in the answer"
            raise ProviderError(
                f"Jira refused the webhook: {problems}", code="webhook_refused", status_code=400
            )
        hook_id = int(first["createdWebhookId"])
        expires = datetime.now(UTC) + WEBHOOK_LIFETIME
        refreshed = (await self.call("PUT", "webhook/refresh", json={"webhookIds": [hook_id]})).json() or {}
        if isinstance(refreshed.get("expirationDate"), int):
            expires = datetime.fromtimestamp(refreshed["expirationDate"] / 1000, UTC)
        return WebhookRegistration(
            external_id=str(hook_id),
            events=events,
            expires_at=expires,
            metadata={"webhook_id": hook_id, "jql": jql},
        )

    async def unregister_webhook(self, registration: WebhookRegistration) -> None:
        try:
            hook_id = int(registration.external_id)
        except ValueError:
            raise ConnectorError("not a Jira webhook id", code="invalid_webhook_id") from None
        try:
            await self.call("DELETE", "webhook", json={"webhookIds": [hook_id]})
        except ProviderError as exc:
            if exc.status_code != 404:  # already gone is what we wanted
                raise

    # -- content export ------------------------------------------------------------------------------------
    async def export_content(self, cursor: str | None) -> ExportPage:
        """Issues with their comments, oldest update first, one page per call (``nextPageToken``
        in the cursor, so an export resumes where it stopped); the final cursor carries the
        newest ``updated`` seen, so the next export asks only for issues updated since."""
        state = common.PassCursor.decode(cursor)
        scope = self.context.config.get("export_jql")
        clauses = [f"({scope})"] if isinstance(scope, str) and scope.strip() else []
        since = _jql_since(state.since)
        clauses.append(f'updated >= "{since}"' if since else 'updated >= "1970/01/01 00:00"')
        query: dict[str, Any] = {
            "jql": " AND ".join(clauses) + " ORDER BY updated ASC",
            "maxResults": EXPORT_PAGE,
            "fields": ",".join([*SEARCH_FIELDS, "comment"]),
        }
        if state.token:
            query["nextPageToken"] = state.token
        page = (await self.call("GET", "search/jql", params=query)).json() or {}
        documents = []
        for item in page.get("issues") or []:
            updated = (item.get("fields") or {}).get("updated")
            if isinstance(updated, str):
                when = ev.jira_time(updated)
                stamp = when.astimezone(UTC).isoformat() if when is not None else None
                if stamp is not None and (state.high is None or stamp > state.high):  # both UTC
                    state.high = stamp
            documents.append(issue_document(item))
        token = page.get("nextPageToken")
        if token and not page.get("isLast", False):
            state.token = str(token)
            return ExportPage(documents=documents, cursor=state.encode(), has_more=True)
        return ExportPage(documents=documents, cursor=state.finished().encode(), has_more=False)


class JiraTokenConnector(JiraConnector):
    """The same connector with basic auth (email + API token on Jira Cloud, or a Data Center
    account): calls go to the connection's ``base_url`` (the site). Jira lets only apps
    register dynamic webhooks, so triggers are set up by hand (admin webhooks, ``jira-hmac``)."""

    id = "jira_api_token"
    name = "Jira (API token)"
    description = "Jira Cloud or Data Center with an email and API token (basic auth)."
    auth = AuthSpec(method=AuthenticationMethod.BASIC, fields=common.token_fields("Jira"))
    api = ApiSpec(
        base_url="https://your-domain.atlassian.net",
        allowed_hosts=common.allowed_hosts(),
        default_headers={"Accept": "application/json"},
        config_schema=_config_schema(oauth=False),
    )
    # Admin webhooks with a secret: X-Hub-Signature: sha256=<hex HMAC of the body>.
    webhook_signature = "jira-hmac"
    uses_sites = False

    async def register_webhook(
        self, trigger_ids: list[str], target_url: str, secret: str
    ) -> WebhookRegistration:
        raise ConnectorError(
            "Jira lets only OAuth apps register webhooks by API: register this one as an admin "
            "webhook (mode manual)",
            code="webhook_registration_unsupported",
        )

    async def unregister_webhook(self, registration: WebhookRegistration) -> None:
        await JiraTokenConnector.register_webhook(self, [], "", "")


def _pick_transition(
    available: list[dict[str, Any]], transition_id: str | None, to_status: str | None
) -> dict[str, Any] | None:
    if transition_id:
        return next((t for t in available if str(t.get("id")) == transition_id), None)
    wanted = (to_status or "").strip().lower()
    by_status = [t for t in available if str((t.get("to") or {}).get("name", "")).lower() == wanted]
    by_name = [t for t in available if str(t.get("name", "")).lower() == wanted]
    found = by_status or by_name
    return found[0] if found else None


def issue_document(item: dict[str, Any]) -> ContentDocument:
    fields = item.get("fields") or {}
    issue = Issue.from_api(item)
    comments = (fields.get("comment") or {}).get("comments") or []
    parts = [issue.description] if issue.description else []
    for comment in comments:
        if isinstance(comment, dict):
            who = (comment.get("author") or {}).get("displayName") or "someone"
            parts.append(f"{who} ({comment.get('created', '')}):\n{adf_to_text(comment.get('body'))}")
    updated = ev.jira_time(str(fields.get("updated") or "")) or datetime.now(UTC)
    return ContentDocument(
        id=issue.key,
        title=f"{issue.key}: {issue.summary or ''}"[:1000],
        text="\n\n".join(parts),
        url=issue.api_url,
        author=issue.reporter,
        updated_at=updated,
        metadata={
            "key": issue.key,
            "project": issue.project,
            "status": issue.status,
            "issue_type": issue.issue_type,
            "assignee": issue.assignee,
            "labels": issue.labels,
            "comments": len(comments),
        },
    )


def _jql_since(since: str | None) -> str | None:
    if not since:
        return None
    try:
        moment = datetime.fromisoformat(since) - EXPORT_OVERLAP
    except ValueError:
        return None
    return moment.astimezone(UTC).strftime("%Y/%m/%d %H:%M")
