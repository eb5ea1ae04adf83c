"""``ConfluenceConnector`` (Atlassian OAuth 2.0 3LO) and ``ConfluenceTokenConnector`` (basic auth
with an API token). See docs/connectors/confluence.md.

Confluence REST v2: OAuth calls go to ``api.atlassian.com/ex/confluence/{cloud_id}/wiki/api/v2/``,
API-token calls to ``<site>/wiki/api/v2/``. Page bodies are written as Atlassian Document Format
(``atlas_doc_format``) converted from plain text or Markdown, and read back as text from the
storage format. Lists page with the cursor of ``_links.next``.

Webhooks cannot be registered by API for OAuth apps: they are set up by a Confluence admin
(Settings → Webhooks) with the URL and secret of a ``manual`` registration; Confluence signs them
with ``X-Hub-Signature: sha256=<hex HMAC-SHA256 of the body>`` and sends no delivery id (the
webhooks service dedupes on the body's hash).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

from hub_connector_atlassian import common
from hub_connector_atlassian.adf import markdown_to_adf
from hub_connector_atlassian.confluence_models import (
    AddComment,
    Comment,
    CreatePage,
    GetPage,
    ListSpaces,
    Page,
    PageEvent,
    Space,
    SpaceList,
    UpdatePage,
    body_text,
    page_event,
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
    HmacSignature,
    TriggerOutput,
    TriggerType,
    action,
    trigger,
)

API = "wiki/api/v2/"
MAX_PAGES = 40
EXPORT_PAGE = 25
CONFLUENCE_SCOPES = [
    "read:page:confluence",
    "write:page:confluence",
    "read:space:confluence",
    "write:comment:confluence",
    "read:confluence-user",
]
# Confluence's webhooks with a secret (Settings → Webhooks): an HMAC of the body, no delivery id.
SIGNATURE = HmacSignature(header="X-Hub-Signature", prefix="sha256=")
_ID_LIST = {"type": "array", "items": {"type": "string", "pattern": r"^[0-9]{1,20}$"}, "maxItems": 100}


def _config_schema(oauth: bool) -> dict[str, Any]:
    return common.config_schema(
        oauth=oauth,
        extra={
            "export_space_ids": {
                **_ID_LIST,
                "description": "spaces whose pages the content export covers (default: every space)",
            }
        },
    )


def _adf_body(text: str) -> dict[str, str]:
    return {"representation": "atlas_doc_format", "value": json.dumps(markdown_to_adf(text))}


def next_cursor(body: Any) -> str | None:
    """The ``cursor`` of ``_links.next`` (``/wiki/api/v2/spaces?cursor=...``), if there is one."""
    link = ((body or {}).get("_links") or {}).get("next") if isinstance(body, dict) else None
    if not isinstance(link, str) or not link:
        return None
    values = parse_qs(urlsplit(link).query).get("cursor")
    return values[0] if values else None


class ConfluenceConnector(AtlassianConnector):
    id = "confluence"
    name = "Confluence"
    version = "1.0.0"
    min_hub_version = "0.1.0"
    category = ConnectorCategory.DOCUMENTATION
    description = "Confluence Cloud pages, spaces and comments (Atlassian OAuth 2.0)."
    docs_url = "https://developer.atlassian.com/cloud/confluence/rest/v2/"
    builtin = True
    auth = AuthSpec(method=AuthenticationMethod.OAUTH2, oauth=common.oauth_config(CONFLUENCE_SCOPES))
    api = ApiSpec(
        base_url=common.API_BASE,
        allowed_hosts=common.allowed_hosts(),
        default_headers={"Accept": "application/json"},
        config_schema=_config_schema(oauth=True),
    )
    webhook_signature = SIGNATURE
    product = "confluence"
    api_root = API
    identity_path = "wiki/rest/api/user/current"  # REST v1: v2 has no current-user operation

    # -- actions ---------------------------------------------------------------------------------------
    async def _space_id(self, params: CreatePage) -> str:
        if params.space_id:
            return params.space_id
        found = (await self.call("GET", "spaces", params={"keys": params.space_key, "limit": 1})).json()
        results = (found or {}).get("results") or []
        if not results:
            raise ConnectorError(
                f"no space with key {params.space_key}", code="space_not_found", status_code=404
            )
        return str(results[0]["id"])

    @action(params=CreatePage, output=Page, scopes=["write:page:confluence"])
    async def create_page(self, params: CreatePage) -> Page:
        """Create a page in a space (by id or key); the body may be plain text or Markdown."""
        body: dict[str, Any] = {
            "spaceId": await self._space_id(params),
            "status": "draft" if params.draft else "current",
            "title": params.title,
            "body": _adf_body(params.body),
        }
        if params.parent_id:
            body["parentId"] = params.parent_id
        return Page.from_api((await self.call("POST", "pages", json=body)).json())

    @action(params=UpdatePage, output=Page, scopes=["write:page:confluence"])
    async def update_page(self, params: UpdatePage) -> Page:
        """Replace a page's body (and title): reads the current version, writes the next one."""
        path = self.expand_path("pages/{id}", id=params.page_id)
        current = (await self.call("GET", path)).json() or {}
        version: dict[str, Any] = {"number": int((current.get("version") or {}).get("number", 0)) + 1}
        if params.version_message:
            version["message"] = params.version_message
        body = {
            "id": params.page_id,
            "status": "current",
            "title": params.title or current.get("title") or "",
            "body": _adf_body(params.body),
            "version": version,
        }
        return Page.from_api((await self.call("PUT", path, json=body)).json())

    @action(params=GetPage, output=Page, scopes=["read:page:confluence"], idempotent=True)
    async def get_page(self, params: GetPage) -> Page:
        """A page with its body as plain text (from the storage format)."""
        path = self.expand_path("pages/{id}", id=params.page_id)
        return Page.from_api((await self.call("GET", path, params={"body-format": "storage"})).json())

    @action(params=ListSpaces, output=SpaceList, scopes=["read:space:confluence"], idempotent=True)
    async def list_spaces(self, params: ListSpaces) -> SpaceList:
        """Spaces the account can see; follows the ``_links.next`` cursor up to ``max_items``."""
        items: list[dict[str, Any]] = []
        cursor: str | None = None
        for _ in range(MAX_PAGES):
            query: dict[str, Any] = {"limit": min(params.page_size, params.max_items + 1 - len(items))}
            if params.keys:
                query["keys"] = ",".join(params.keys)
            if params.type:
                query["type"] = params.type
            if cursor:
                query["cursor"] = cursor
            page = (await self.call("GET", "spaces", params=query)).json() or {}
            items.extend(page.get("results") or [])
            cursor = next_cursor(page)
            if cursor is None or len(items) > params.max_items:
                break
        return SpaceList(
            spaces=[Space.from_api(s) for s in items[: params.max_items]],
            truncated=len(items) > params.max_items or cursor is not None,
        )

    @action(params=AddComment, output=Comment, scopes=["write:comment:confluence"])
    async def add_comment(self, params: AddComment) -> Comment:
        """Add a footer comment to a page (plain text or Markdown)."""
        body = {"pageId": params.page_id, "body": _adf_body(params.body)}
        return Comment.from_api((await self.call("POST", "footer-comments", json=body)).json())

    # -- triggers (manual webhooks) --------------------------------------------------------------------
    def webhook_event_name(self, headers: Mapping[str, str], payload: Any) -> str | None:
        if isinstance(payload, dict):
            for key in ("event", "eventType", "webhookEvent"):
                if isinstance(payload.get(key), str):
                    return str(payload[key])
        return headers.get("x-atlassian-event") or headers.get("x-event-key")

    def webhook_occurred_at(self, headers: Mapping[str, str], payload: Any) -> datetime | None:
        stamp = payload.get("timestamp") if isinstance(payload, dict) else None
        if isinstance(stamp, int | float) and not isinstance(stamp, bool):
            return datetime.fromtimestamp(stamp / 1000, UTC)
        return None

    @trigger("page_created", type=TriggerType.CREATED, events=["page_created"], payload=PageEvent)
    def on_page_created(self, event: str, payload: dict[str, Any]) -> TriggerOutput:
        """A page was created."""
        body = page_event(event, payload)
        return TriggerOutput(payload=body.model_dump(mode="json"), occurred_at=body.page.created_at)

    @trigger("page_updated", type=TriggerType.UPDATED, events=["page_updated"], payload=PageEvent)
    def on_page_updated(self, event: str, payload: dict[str, Any]) -> TriggerOutput:
        """A page was edited (a new version)."""
        body = page_event(event, payload)
        return TriggerOutput(payload=body.model_dump(mode="json"), occurred_at=body.page.modified_at)

    # -- content export ------------------------------------------------------------------------------------
    async def export_content(self, cursor: str | None) -> ExportPage:
        """Pages (storage format as text), newest change first, one page of results per call
        (Confluence's cursor in ours, so an export resumes where it stopped). A pass ends at the
        first page changed before the previous pass's newest change; the final cursor carries
        that change's time, so the next export is incremental. ``GET /pages`` is Confluence
        v2's "Get pages" (not in the kept description; see docs/connectors/confluence.md)."""
        state = common.PassCursor.decode(cursor)
        query: dict[str, Any] = {"body-format": "storage", "sort": "-modified-date", "limit": EXPORT_PAGE}
        spaces = self.context.config.get("export_space_ids")
        if isinstance(spaces, list) and spaces:
            query["space-id"] = ",".join(str(s) for s in spaces)
        if state.token:
            query["cursor"] = state.token
        answer = (await self.call("GET", "pages", params=query)).json() or {}
        documents: list[ContentDocument] = []
        reached_since = False
        for item in answer.get("results") or []:
            changed = str((item.get("version") or {}).get("createdAt") or item.get("createdAt") or "")
            if state.since and changed and changed <= state.since:
                reached_since = True
                break
            if changed and (state.high is None or changed > state.high):
                state.high = changed
            documents.append(page_document(item))
        token = None if reached_since else next_cursor(answer)
        if token:
            state.token = token
            return ExportPage(documents=documents, cursor=state.encode(), has_more=True)
        return ExportPage(documents=documents, cursor=state.finished().encode(), has_more=False)


class ConfluenceTokenConnector(ConfluenceConnector):
    """The same connector with basic auth (email + API token) on a Confluence Cloud site: calls
    go to the connection's ``base_url`` (``https://<site>.atlassian.net``)."""

    id = "confluence_api_token"
    name = "Confluence (API token)"
    description = "Confluence Cloud with an email and API token (basic auth)."
    auth = AuthSpec(method=AuthenticationMethod.BASIC, fields=common.token_fields("Confluence"))
    api = ApiSpec(
        base_url="https://your-domain.atlassian.net",
        allowed_hosts=common.allowed_hosts(),
        default_headers={"Accept": "application/json"},
        config_schema=_config_schema(oauth=False),
    )
    uses_sites = False


def page_document(item: dict[str, Any]) -> ContentDocument:
    page = Page.from_api(item)
    changed = page.updated_at or page.created_at
    try:
        updated = datetime.fromisoformat(str(changed).replace("Z", "+00:00"))
    except ValueError:
        updated = datetime.now(UTC)
    return ContentDocument(
        id=page.id,
        title=(page.title or "")[:1000],
        text=body_text(item.get("body")),
        url=page.url,
        author=page.author_id,
        updated_at=updated,
        metadata={"space_id": page.space_id, "parent_id": page.parent_id, "version": page.version},
    )
