"""``NotionConnector`` (public integration, OAuth) and ``NotionTokenConnector`` (internal
integration token).

Every call goes through the hub's gateway (``self.client``), which injects the connection's
token and the manifest's default headers — ``Notion-Version`` among them, so every call carries
it; this code never sees a credential. A connection's ``base_url`` may point at a stand-in for
api.notion.com (``hub-sim notion``, an egress proxy) whose host the operator lists in
``HUB_NOTION_API_HOSTS``. See docs/connectors/notion.md.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from hub_connector_notion import events as ev
from hub_connector_notion.content import MAX_BLOCKS_PER_CALL, blocks, rich_text
from hub_connector_notion.errors import notion_error
from hub_connector_notion.export import ExportCursor, export_page
from hub_connector_notion.models import (
    AddComment,
    AppendBlocks,
    AppendedBlocks,
    Comment,
    CreatePage,
    Page,
    PageList,
    QueryDatabase,
    Search,
    SearchResult,
    SearchResults,
    UpdatePage,
    dashed,
)
from hub_connector_sdk import (
    ApiSpec,
    AuthenticationMethod,
    AuthSpec,
    BaseConnector,
    ConnectorCategory,
    ConnectorError,
    CredentialField,
    Cursor,
    ExportPage,
    OAuthConfig,
    ProviderError,
    ProviderResponse,
    TriggerEvent,
    TriggerOutput,
    TriggerType,
    action,
    trigger,
)

API_BASE = "https://api.notion.com/v1"
NOTION_VERSION = "2025-09-03"
API_HOSTS_ENV = "HUB_NOTION_API_HOSTS"
MAX_PAGES = 20  # a bound on every list action (2,000 items at 100 a page)
_URL = {"type": "string", "format": "uri", "maxLength": 2048}
# Notion's pagination: ``start_cursor`` in, ``next_cursor`` + ``has_more`` out (the SDK's Cursor).
NEXT_PAGE = Cursor("start_cursor", "next_cursor", items="results", has_more="has_more")


def api_hosts() -> list[str]:
    """Hosts the operator allows a connection's base URL to point at (``HUB_NOTION_API_HOSTS``,
    comma-separated ``host`` or ``host:port``): stand-ins for api.notion.com."""
    raw = os.environ.get(API_HOSTS_ENV, "")
    return [h.strip().lower() for h in raw.split(",") if h.strip()]


def _config_schema(oauth: bool) -> dict[str, Any]:
    properties: dict[str, Any] = {
        "base_url": {**_URL, "description": "a stand-in for https://api.notion.com/v1"},
        "export_max_block_pages": {
            "type": "integer",
            "minimum": 1,
            "maximum": 20,
            "description": "pages of 100 blocks read per exported page (default 5)",
        },
    }
    if oauth:
        for key in ("authorization", "token", "revocation"):
            properties[f"oauth_{key}_url"] = {**_URL, "description": "a stand-in's OAuth endpoint"}
    return {"type": "object", "properties": properties, "additionalProperties": False}


def _api_spec(oauth: bool) -> ApiSpec:
    return ApiSpec(
        base_url=API_BASE,
        allowed_hosts=["api.notion.com", *api_hosts()],
        default_headers={"Notion-Version": NOTION_VERSION},
        config_schema=_config_schema(oauth),
    )


def _title(text: str) -> dict[str, Any]:
    return {"title": rich_text(text)}


class NotionConnector(BaseConnector):
    id = "notion"
    name = "Notion"
    version = "1.0.0"
    min_hub_version = "0.1.0"
    category = ConnectorCategory.DOCUMENTATION
    description = "Pages, blocks, databases and comments in Notion workspaces (public integration)."
    docs_url = "https://developers.notion.com/reference"
    builtin = True
    auth = AuthSpec(
        method=AuthenticationMethod.OAUTH2,
        oauth=OAuthConfig(
            authorization_url=f"{API_BASE}/oauth/authorize",
            token_url=f"{API_BASE}/oauth/token",
            revocation_url=f"{API_BASE}/oauth/revoke",
            default_scopes=[],  # Notion has no scopes: the user picks pages on its consent screen
            use_pkce=False,
            client_auth="client_secret_basic",  # "Create a token": HTTP Basic client auth ...
            token_request_format="json",  # ... and a JSON body
            extra_authorize_params={"owner": "user"},
            refresh="rotating",
            profile="notion",  # workspace_id (the account), workspace_name, bot_id captured
        ),
    )
    api = _api_spec(oauth=True)
    webhook_signature = "notion"  # X-Notion-Signature: sha256=<hex HMAC-SHA256(verification_token)>
    health_path = "users/me"

    def health_account_info(self, body: Any) -> Mapping[str, str]:
        """The integration's bot user: the workspace (the account, when Notion names it), the
        bot's id and who installed it."""
        if not isinstance(body, dict) or "id" not in body:
            return {}
        bot = body.get("bot") or {}
        owner = bot.get("owner") or {}
        info = {"id": str(body["id"]), "bot_id": str(body["id"]), "name": str(body.get("name") or "")}
        if bot.get("workspace_name"):
            info["workspace_name"] = str(bot["workspace_name"])
            info["name"] = info["workspace_name"]
        if bot.get("workspace_id"):
            # The workspace is the account, as for OAuth connections (the token's workspace_id).
            info["workspace_id"] = info["id"] = str(bot["workspace_id"])
        if owner.get("type"):
            info["owner_type"] = str(owner["type"])
        return info

    # -- calls --------------------------------------------------------------------------------------
    async def _call(self, method: str, path: str, **kw: Any) -> ProviderResponse:
        resp = await self.client.request(method, path, raise_for_status=False, **kw)
        if not resp.ok:
            raise notion_error(resp)
        return resp

    def _path(self, template: str, **ids: str) -> str:
        return self.expand_path(template, **{k: dashed(v) for k, v in ids.items()})

    async def _list(
        self, method: str, path: str, body: dict[str, Any], limit: int, page_size: int
    ) -> tuple[list[Any], bool]:
        """Up to ``limit`` results, following ``start_cursor``/``has_more`` (in the JSON body for
        POST, in the query for GET); whether more were left."""
        items: list[Any] = []
        current: dict[str, Any] | None = {**body, "page_size": min(page_size, limit + 1)}
        for _ in range(MAX_PAGES):
            if current is None or len(items) > limit:
                break
            if method == "GET":
                resp = await self._call("GET", path, params=current)
            else:
                resp = await self._call(method, path, json=current)
            answer = resp.json()
            items.extend(answer.get("results") or [])
            current = NEXT_PAGE.next_params(resp, answer, current, len(answer.get("results") or []))
        return items[:limit], len(items) > limit or current is not None

    async def _append(
        self, block_id: str, children: list[dict[str, Any]], after: str | None = None
    ) -> list[str]:
        """Append in chunks of 100 (Notion's limit per call), each after the previous chunk."""
        path = self._path("blocks/{block_id}/children", block_id=block_id)
        made: list[str] = []
        for start in range(0, len(children), MAX_BLOCKS_PER_CALL):
            body: dict[str, Any] = {"children": children[start : start + MAX_BLOCKS_PER_CALL]}
            if after:
                body["after"] = dashed(after)
            results = (await self._call("PATCH", path, json=body)).json().get("results") or []
            made += [str(r["id"]) for r in results[-len(body["children"]) :]]
            after = made[-1] if made else after
        return made

    # -- actions ------------------------------------------------------------------------------------
    @action(params=CreatePage, output=Page)
    async def create_page(self, params: CreatePage) -> Page:
        """Create a page under a page, or a row in a database; ``content`` (plain text or
        Markdown) becomes its blocks."""
        parent = (
            {"page_id": dashed(params.parent_page_id)}
            if params.parent_page_id
            else {"type": "database_id", "database_id": dashed(params.database_id or "")}
        )
        properties = {**params.properties, "title": _title(params.title)}
        body: dict[str, Any] = {"parent": parent, "properties": properties}
        page = (await self._call("POST", "pages", json=body)).json()
        if params.icon_emoji:
            page = (
                await self._call(
                    "PATCH",
                    self._path("pages/{page_id}", page_id=page["id"]),
                    json={"icon": {"emoji": params.icon_emoji}},
                )
            ).json()
        if params.content:
            await self._append(page["id"], blocks(params.content, params.content_format))
        return Page.from_api(page)

    @action(params=UpdatePage, output=Page, idempotent=True)
    async def update_page(self, params: UpdatePage) -> Page:
        """Change a page's title, properties or icon, or move it to (or out of) the trash."""
        body: dict[str, Any] = {}
        if params.properties is not None or params.title is not None:
            body["properties"] = dict(params.properties or {})
            if params.title is not None:
                body["properties"]["title"] = _title(params.title)
        if params.in_trash is not None:
            body["in_trash"] = params.in_trash
        if params.icon_emoji is not None:
            body["icon"] = {"emoji": params.icon_emoji}
        if not body:
            raise ConnectorError(
                "nothing to change: give title, properties, in_trash or icon_emoji",
                code="invalid_parameters",
                status_code=422,
            )
        resp = await self._call("PATCH", self._path("pages/{page_id}", page_id=params.page_id), json=body)
        return Page.from_api(resp.json())

    @action(params=AppendBlocks, output=AppendedBlocks)
    async def append_blocks(self, params: AppendBlocks) -> AppendedBlocks:
        """Append plain text or Markdown as blocks to a page or block (100 blocks per call)."""
        children = blocks(params.content, params.content_format)
        if not children:
            raise ConnectorError(
                "content holds no text to append", code="invalid_parameters", status_code=422
            )
        made = await self._append(params.block_id, children, params.after)
        return AppendedBlocks(block_id=dashed(params.block_id), block_ids=made)

    @action(params=QueryDatabase, output=PageList, idempotent=True)
    async def query_database(self, params: QueryDatabase) -> PageList:
        """A database's rows (pages), filtered and sorted as Notion's query takes them; follows
        ``start_cursor``/``has_more`` up to ``max_items``."""
        source = params.data_source_id or await self._data_source_of(params.database_id or "")
        body: dict[str, Any] = {}
        if params.filter is not None:
            body["filter"] = params.filter
        if params.sorts:
            body["sorts"] = params.sorts
        path = self._path("data_sources/{data_source_id}/query", data_source_id=source)
        items, more = await self._list("POST", path, body, params.max_items, params.page_size)
        return PageList(pages=[Page.from_api(i) for i in items if i.get("object") == "page"], truncated=more)

    async def _data_source_of(self, database_id: str) -> str:
        """The database's (first) data source: since Notion-Version 2025-09-03 a database holds
        data sources and rows are queried through them."""
        database = (
            await self._call("GET", self._path("databases/{database_id}", database_id=database_id))
        ).json()
        sources = database.get("data_sources") or []
        if not sources:
            raise ConnectorError(
                "the database has no data source to query", code="provider_not_found", status_code=404
            )
        return str(sources[0]["id"])

    @action(params=Search, output=SearchResults, idempotent=True)
    async def search(self, params: Search) -> SearchResults:
        """Pages and data sources shared with the integration whose title matches ``query``."""
        body: dict[str, Any] = {"sort": {"direction": params.sort, "timestamp": "last_edited_time"}}
        if params.query:
            body["query"] = params.query
        if params.object:
            body["filter"] = {"property": "object", "value": params.object}
        items, more = await self._list("POST", "search", body, params.max_items, params.page_size)
        return SearchResults(results=[SearchResult.from_api(i) for i in items], truncated=more)

    @action(params=AddComment, output=Comment)
    async def add_comment(self, params: AddComment) -> Comment:
        """Comment on a page (plain text or Markdown's inline marks)."""
        body = {
            "parent": {"page_id": dashed(params.page_id)},
            "rich_text": rich_text(params.text, params.content_format),
        }
        return Comment.from_api((await self._call("POST", "comments", json=body)).json())

    # -- triggers -----------------------------------------------------------------------------------
    def webhook_event_name(self, headers: Mapping[str, str], payload: Any) -> str | None:
        kind = payload.get("type") if isinstance(payload, dict) else None
        return kind if isinstance(kind, str) else None

    @trigger("page_created", type=TriggerType.CREATED, events=["page.created"], payload=ev.PageEvent)
    def on_page_created(self, event: str, payload: dict[str, Any]) -> TriggerOutput:
        """A page was created (the payload carries the page, re-fetched)."""
        return ev.page_event(payload)

    @trigger(
        "page_updated",
        type=TriggerType.UPDATED,
        events=["page.content_updated", "page.properties_updated"],
        payload=ev.PageEvent,
    )
    def on_page_updated(self, event: str, payload: dict[str, Any]) -> TriggerOutput:
        """A page's content or properties changed (Notion aggregates edits made close together)."""
        return ev.page_event(payload)

    @trigger(
        "comment_created", type=TriggerType.COMMENTED, events=["comment.created"], payload=ev.CommentEvent
    )
    def on_comment_created(self, event: str, payload: dict[str, Any]) -> TriggerOutput:
        """Someone commented on a page (the payload carries the page, re-fetched)."""
        return ev.comment_event(payload)

    async def refetch_trigger_events(self, events: list[TriggerEvent]) -> list[TriggerEvent]:
        """Notion's events are thin: add each event's page as it is now (one fetch per page). A
        page that is gone or no longer shared still fires, with ``page_unavailable`` saying why;
        any other failure raises, and the hub retries the delivery."""
        pages: dict[str, tuple[dict[str, Any] | None, str | None]] = {}
        completed: list[TriggerEvent] = []
        for event in events:
            page_id = str(event.payload["page_id"])
            if page_id not in pages:
                pages[page_id] = await self._current_page(page_id)
            page, missing = pages[page_id]
            payload = {**event.payload, "page": page, "page_unavailable": missing}
            completed.append(event.model_copy(update={"payload": payload}))
        return completed

    async def _current_page(self, page_id: str) -> tuple[dict[str, Any] | None, str | None]:
        try:
            resp = await self._call("GET", self._path("pages/{page_id}", page_id=page_id))
        except ProviderError as exc:
            if exc.code in ("provider_not_found", "provider_forbidden"):
                return None, exc.message
            raise
        return Page.from_api(resp.json()).model_dump(mode="json"), None

    # -- content export -----------------------------------------------------------------------------
    async def export_content(self, cursor: str | None) -> ExportPage:
        """Pages and database rows the integration can read, newest edit first, one search page
        per call, each with its blocks as text; incremental by ``last_edited_time`` (see
        :mod:`hub_connector_notion.export`)."""
        limit = self.context.config.get("export_max_block_pages")
        return await export_page(
            self._call,
            ExportCursor.decode(cursor),
            max_block_pages=int(limit) if isinstance(limit, int) else 5,
        )


class NotionTokenConnector(NotionConnector):
    """The same connector with an internal integration token (``ntn_…`` or the older
    ``secret_…``), for a workspace's own integration: no OAuth app, the token is pasted once."""

    id = "notion_token"
    name = "Notion (internal integration)"
    description = "Notion with an internal integration token."
    auth = AuthSpec(
        method=AuthenticationMethod.BEARER,
        fields=[
            CredentialField(
                key="token",
                label="Internal integration secret",
                pattern=r"^(ntn_|secret_)[A-Za-z0-9]{20,200}$",
                description="notion.so/profile/integrations → your integration → Internal integration secret",
            )
        ],
    )
    api = _api_spec(oauth=False)
