"""The Notion simulator: Notion's OAuth (``flavors.Notion``: Basic client auth, JSON token body,
``owner=user``, ``workspace_id``/``bot_id`` in the answer), the API the ``notion`` connector
uses on an in-memory workspace, rate limits, and thin webhook events signed as Notion signs them.

Behaviour, from Notion's API reference:

- the API answers under ``/v1``; ``Authorization: Bearer <token>``: an OAuth token the simulator
  issued, or an internal integration token registered with ``--pat`` / ``POST
  /_sim/notion/tokens``; anything else is 401 ``unauthorized``;
- ``Notion-Version`` is required on every call (400 ``missing_version`` without it);
- every request is validated against ``notion.json`` and its supplements (the 2022-06-28
  database query, the token endpoint), 400 ``validation_error`` otherwise, and every answer
  against the response schema; ``GET /v1/pages/{id}``, ``GET /v1/blocks/{id}/children`` and
  ``GET /v1/databases/{id}`` are not in those files (Notion publishes no full description), so
  they are served unchecked;
- errors are ``{"object": "error", "status", "code", "message"}``;
- lists paginate with ``start_cursor``/``page_size`` in, ``next_cursor``/``has_more`` out;
- ``POST /_sim/notion/hold {"path", "skip"}`` makes calls to a path hang until ``POST
  /_sim/notion/release`` (a slow provider, to interrupt a client mid-call);
- rate limits: ``POST /_sim/notion/throttle {"count", "status": 429|529, "retry_after"}``
  answers the next ``count`` calls with 429 ``rate_limited`` (or 529) and ``Retry-After``;
- webhooks: ``POST /_sim/notion/subscriptions {"url"}`` creates a subscription the way
  Notion's integration settings do: Notion posts ``{"verification_token"}`` to the URL once
  (unsigned) and later signs each event with it (``X-Notion-Signature: sha256=<hex
  HMAC-SHA256>``). Page creation, edits and comments made through the API then send thin
  events (``page.created``, ``page.content_updated``, ``page.properties_updated``,
  ``comment.created``) to every verified subscription; ``POST /_sim/webhooks`` sends one on demand.

Simplified: search matches a case-insensitive substring of the title; a data-source query
applies no filter (sorts by ``last_edited_time`` only); blocks appended to a block other than a
page are stored flat under it; events are never aggregated.
"""

from __future__ import annotations

import asyncio
import base64
import json
import secrets
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from hub_connector_sdk import sign_webhook
from hub_e2e.simulators import identity
from hub_e2e.simulators.crypto import secrets_equal
from hub_e2e.simulators.framework import EventError, ProviderSimulator
from hub_e2e.simulators.httpio import bearer_token
from hub_e2e.simulators.spec_guard import AnswerViolation, SpecGuard, SpecViolation, WebhookGuard
from hub_e2e.simulators.state import Simulator

API_VERSION = "2025-09-03"
SPEC_FILES = (
    "notion.json",
    "notion-database-query-2022-06-28.json",
    "notion-oauth-token-create.json",
    "notion-oauth-token-refresh.json",
)
EVENTS = ("page.created", "page.content_updated", "page.properties_updated", "comment.created")


class NotionError(Exception):
    def __init__(
        self, status: int, code: str, message: str, headers: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, dict(headers or {})

    def response(self) -> JSONResponse:
        body = {"object": "error", "status": self.status, "code": self.code, "message": self.message}
        return JSONResponse(body, status_code=self.status, headers=self.headers)


class NotionGuard(SpecGuard):
    """Several description files (Notion's are split by API version): a request passes when one
    allows it; its answer is checked by the file that described the operation."""

    def __init__(self, guards: list[SpecGuard]) -> None:
        super().__init__(None)
        self.guards = [g for g in guards if g.active]

    @property
    def active(self) -> bool:
        return bool(self.guards)

    def check_request(
        self, method: str, path: str, query: Mapping[str, Any], body: Any, headers: Mapping[str, str]
    ) -> str | None:
        failures: list[SpecViolation] = []
        for guard in self.guards:
            try:
                return guard.check_request(method, path, query, body, headers)
            except SpecViolation as exc:
                failures.append(exc)
        if failures:
            raise min(failures, key=lambda f: f.operation is None)
        return None

    def check_answer(self, method: str, template: str | None, status: int, body: Any) -> None:
        for guard in self.guards:
            assert guard.spec is not None
            if template in guard.spec.document.get("paths", {}):
                guard.check_answer(method, template, status, body)
                return


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{datetime.now(UTC).microsecond // 1000:03d}Z"


def new_id() -> str:
    return str(uuid.uuid4())


def plain(items: Any) -> str:
    return "".join(str((i.get("text") or {}).get("content", "")) for i in items or [] if isinstance(i, dict))


def rich(items: Any) -> list[dict[str, Any]]:
    """Request text objects as Notion answers them (annotations, plain_text, href filled in)."""
    out = []
    for item in items or []:
        text = item.get("text") or {}
        link = text.get("link")
        out.append(
            {
                "type": "text",
                "text": {"content": text.get("content", ""), "link": link},
                "annotations": {
                    "bold": False,
                    "italic": False,
                    "strikethrough": False,
                    "underline": False,
                    "code": False,
                    "color": "default",
                    **(item.get("annotations") or {}),
                },
                "plain_text": text.get("content", ""),
                "href": (link or {}).get("url"),
            }
        )
    return out


@dataclass
class Caller:
    user_id: str
    bot_id: str
    workspace_id: str
    workspace_name: str
    owner: dict[str, Any]


@dataclass
class Subscription:
    id: str
    url: str
    verification_token: str
    workspace_id: str | None = None  # None: every workspace (one integration, many installs)


@dataclass
class Hold:
    """Calls to ``path`` after the first ``skip`` wait until released (a slow provider)."""

    path: str
    skip: int
    released: asyncio.Event = field(default_factory=asyncio.Event)
    held: int = 0


@dataclass
class Workspace:
    id: str
    name: str
    pages: dict[str, dict[str, Any]] = field(default_factory=dict)
    blocks: dict[str, dict[str, Any]] = field(default_factory=dict)
    children: dict[str, list[str]] = field(default_factory=dict)  # parent id -> block ids
    comments: dict[str, dict[str, Any]] = field(default_factory=dict)
    databases: dict[str, dict[str, Any]] = field(default_factory=dict)
    sources: dict[str, dict[str, Any]] = field(default_factory=dict)  # data source id -> database id, title


@dataclass
class Call:
    request: Request
    caller: Caller
    space: Workspace
    body: Any


Handler = Callable[["NotionSimulator", Call], Awaitable[tuple[int, Any]]]


class NotionSimulator(ProviderSimulator):
    name = "notion"
    oauth_flavor = "notion"
    spec_name = "notion.json"
    webhook_spec_name = None  # Notion publishes no machine-readable webhook description
    api_prefixes: ClassVar[tuple[str, ...]] = ("",)

    def __init__(self, guard: SpecGuard, webhook_guard: WebhookGuard | None = None) -> None:
        super().__init__(guard, webhook_guard)
        self.tokens: dict[str, Caller] = {}
        self.reset()

    @classmethod
    def load(cls, *, require_spec: bool = False) -> NotionSimulator:
        guards = [SpecGuard.load(name, required=require_spec) for name in SPEC_FILES]
        return cls(NotionGuard(guards), WebhookGuard(None))

    def reset(self) -> None:
        super().reset()
        self.spaces: dict[str, Workspace] = {}
        self.subscriptions: dict[str, Subscription] = {}
        self.throttle: list[tuple[int, float]] = []  # (status, retry_after) for the next calls
        self.hold: Hold | None = None
        self.integration_id = new_id()

    # -- tokens and workspaces -----------------------------------------------------------------------
    def add_pat(self, token: str, login: str) -> None:
        """An internal integration token of ``login``'s workspace."""
        workspace = identity.notion_workspace("internal", login)
        bot = identity.notion_bot_id(f"internal:{login}")
        self.tokens[token] = Caller(
            identity.notion_person(login)["id"],
            bot,
            workspace["workspace_id"],
            workspace["workspace_name"],
            {"type": "workspace", "workspace": True},
        )

    def authenticate(self, request: Request) -> Caller:
        sim: Simulator = request.app.state.sim
        value = bearer_token(request)
        if value:
            token = sim.store.valid_access_token(value)
            if token is not None:
                workspace = identity.notion_workspace(token.client_id, token.subject)
                person = identity.notion_person(token.subject)
                return Caller(
                    person["id"],
                    identity.notion_bot_id(token.client_id),
                    workspace["workspace_id"],
                    workspace["workspace_name"],
                    {"type": "user", "user": person},
                )
            for known, caller in self.tokens.items():
                if secrets_equal(value, known):
                    return caller
        raise NotionError(401, "unauthorized", "API token is invalid.")

    def space(self, caller: Caller) -> Workspace:
        space = self.spaces.get(caller.workspace_id)
        if space is None:
            space = self.spaces[caller.workspace_id] = Workspace(caller.workspace_id, caller.workspace_name)
            self.seed(space, caller)
        return space

    def seed(self, space: Workspace, caller: Caller) -> None:
        """A shared root page ("Sim Home") and a database ("Tasks") with one data source."""
        home = self.put_page(space, caller, {"type": "workspace", "workspace": True}, "Sim Home", {})
        database_id, source_id = new_id(), new_id()
        space.databases[database_id] = {
            "object": "database",
            "id": database_id,
            "title": rich([{"text": {"content": "Tasks"}}]),
            "parent": {"type": "page_id", "page_id": home["id"]},
            "data_sources": [{"id": source_id, "name": "Tasks"}],
        }
        space.sources[source_id] = {"database_id": database_id, "name": "Tasks"}

    def put_page(
        self, space: Workspace, caller: Caller, parent: dict[str, Any], title: str, props: dict[str, Any]
    ) -> dict[str, Any]:
        stamp = now()
        page_id = new_id()
        page = {
            "object": "page",
            "id": page_id,
            "created_time": stamp,
            "last_edited_time": stamp,
            "created_by": {"object": "user", "id": caller.user_id},
            "last_edited_by": {"object": "user", "id": caller.user_id},
            "cover": None,
            "icon": None,
            "parent": parent,
            "archived": False,
            "in_trash": False,
            "properties": {
                **props,
                "title": {"id": "title", "type": "title", "title": rich([{"text": {"content": title}}])},
            },
            "url": f"https://www.notion.so/{title.replace(' ', '-')}-{page_id.replace('-', '')}",
            "public_url": None,
        }
        space.pages[page_id] = page
        return page

    def find_page(self, space: Workspace, page_id: str) -> dict[str, Any]:
        page = space.pages.get(_dashed(page_id))
        if page is None:
            raise NotionError(
                404,
                "object_not_found",
                f"Could not find page with ID: {_dashed(page_id)}. Make sure the relevant pages "
                "and databases are shared with your integration.",
            )
        return page

    # -- request pipeline ---------------------------------------------------------------------------
    async def handle(self, request: Request, handler: Handler, *, described: bool = True) -> Response:
        try:
            if not request.headers.get("notion-version"):
                raise NotionError(
                    400,
                    "missing_version",
                    "Notion-Version header failed validation: "
                    "Notion-Version header should be defined, instead was `undefined`.",
                )
            caller = self.authenticate(request)
            if self.throttle:
                status, wait = self.throttle.pop(0)
                code = "rate_limited" if status == 429 else "service_unavailable"
                message = (
                    "You have been rate limited. Please try again in a few minutes."
                    if status == 429
                    else "Notion is unavailable, please try again later."
                )
                raise NotionError(status, code, message, {"Retry-After": f"{wait:g}"})
            await self._maybe_hold(request)
            body = await self._json_body(request)
            template = self._validate(request, body) if described else None
            status, answer = await handler(self, Call(request, caller, self.space(caller), body))
        except NotionError as err:
            return err.response()
        try:
            self.guard.check_answer(request.method, template, status, answer)
        except AnswerViolation as err:  # a simulator bug: make it loud
            return JSONResponse(
                {"object": "error", "message": f"simulator answer broke the description: {err}"}, 500
            )
        return JSONResponse(answer, status_code=status)

    async def _maybe_hold(self, request: Request) -> None:
        hold = self.hold
        if hold is None or request.url.path != hold.path:
            return
        if hold.skip > 0:
            hold.skip -= 1
            return
        hold.held += 1
        await hold.released.wait()

    @staticmethod
    async def _json_body(request: Request) -> Any:
        raw = await request.body()
        if not raw:
            return None
        try:
            return json.loads(raw)
        except ValueError:
            raise NotionError(400, "invalid_json", "Error parsing JSON body.") from None

    def _validate(self, request: Request, body: Any) -> str | None:
        query = {k: v for k, v in request.query_params.items()}
        try:
            return self.guard.check_request(request.method, request.url.path, query, body, request.headers)
        except SpecViolation as err:
            raise NotionError(
                400, "validation_error", "body failed validation: " + "; ".join(err.problems)[:800]
            ) from None

    @staticmethod
    def page_of(items: list[Any], start: Any, size: Any) -> dict[str, Any]:
        offset = int(base64.urlsafe_b64decode(str(start)).decode()) if start else 0
        limit = min(int(size or 100), 100)
        chunk = items[offset : offset + limit]
        more = offset + limit < len(items)
        cursor = base64.urlsafe_b64encode(str(offset + limit).encode()).decode() if more else None
        return {"object": "list", "results": chunk, "next_cursor": cursor, "has_more": more}

    # -- API ------------------------------------------------------------------------------------------
    def api_routes(self) -> list[BaseRoute]:
        def route(path: str, method: str, handler: Handler, *, described: bool = True) -> Route:
            async def endpoint(request: Request) -> Response:
                return await self.handle(request, handler, described=described)

            return Route(path, endpoint, methods=[method])

        S = NotionSimulator
        return [
            route("/v1/users/me", "GET", S.get_self),
            route("/v1/pages", "POST", S.create_page),
            route("/v1/pages/{page_id}", "GET", S.get_page, described=False),
            route("/v1/pages/{page_id}", "PATCH", S.update_page),
            route("/v1/blocks/{block_id}/children", "GET", S.list_children, described=False),
            route("/v1/blocks/{block_id}/children", "PATCH", S.append_children),
            route("/v1/search", "POST", S.search),
            route("/v1/comments", "POST", S.create_comment),
            route("/v1/databases/{database_id}", "GET", S.get_database, described=False),
            route("/v1/data_sources/{data_source_id}/query", "POST", S.query_source),
        ]

    async def get_self(self, call: Call) -> tuple[int, Any]:
        c = call.caller
        bot = {"owner": c.owner, "workspace_name": c.workspace_name, "workspace_id": c.workspace_id}
        return 200, {
            "object": "user",
            "id": c.bot_id,
            "name": "Simulated Integration",
            "avatar_url": None,
            "type": "bot",
            "bot": bot,
        }

    async def create_page(self, call: Call) -> tuple[int, Any]:
        parent = (call.body or {}).get("parent")
        if not isinstance(parent, dict):
            raise NotionError(
                400, "validation_error", "body failed validation: body.parent should be defined."
            )
        props = dict(call.body.get("properties") or {})
        title_prop: dict[str, Any] = props.pop("title", None) or next(
            (props.pop(k) for k, v in list(props.items()) if isinstance(v, dict) and "title" in v),
            {"title": []},
        )
        stored_parent: dict[str, Any]
        if "page_id" in parent:
            self.find_page(call.space, parent["page_id"])
            stored_parent = {"type": "page_id", "page_id": _dashed(parent["page_id"])}
        elif "database_id" in parent:
            database_id = _dashed(parent["database_id"])
            database = call.space.databases.get(database_id)
            if database is None:
                raise NotionError(404, "object_not_found", f"Could not find database with ID: {database_id}.")
            stored_parent = {
                "type": "data_source_id",
                "data_source_id": database["data_sources"][0]["id"],
                "database_id": database_id,
            }
        else:
            stored_parent = {"type": "workspace", "workspace": True}
        values = {k: _property(v) for k, v in props.items()}
        page = self.put_page(call.space, call.caller, stored_parent, plain(title_prop.get("title")), values)
        self.emit(call, "page.created", page["id"], {"parent": _event_parent(stored_parent)})
        return 200, page

    async def get_page(self, call: Call) -> tuple[int, Any]:
        return 200, self.find_page(call.space, call.request.path_params["page_id"])

    async def update_page(self, call: Call) -> tuple[int, Any]:
        page = self.find_page(call.space, call.request.path_params["page_id"])
        changed: list[str] = []
        for key, value in (call.body.get("properties") or {}).items():
            if key == "title" or (isinstance(value, dict) and "title" in value):
                page["properties"]["title"]["title"] = rich(value.get("title"))
                changed.append("title")
            else:
                page["properties"][key] = _property(value)
                changed.append(key)
        for flag in ("in_trash", "archived"):
            if flag in call.body:
                page["in_trash"] = page["archived"] = bool(call.body[flag])
        if "icon" in call.body:
            page["icon"] = {"type": "emoji", **call.body["icon"]}
        page["last_edited_time"] = now()
        if changed:
            self.emit(
                call,
                "page.properties_updated",
                page["id"],
                {"parent": _event_parent(page["parent"]), "updated_properties": changed},
            )
        return 200, page

    def _container(self, space: Workspace, block_id: str) -> str:
        key = _dashed(block_id)
        if key not in space.pages and key not in space.blocks:
            raise NotionError(404, "object_not_found", f"Could not find block with ID: {key}.")
        return key

    async def list_children(self, call: Call) -> tuple[int, Any]:
        key = self._container(call.space, call.request.path_params["block_id"])
        items = [call.space.blocks[b] for b in call.space.children.get(key, [])]
        query = call.request.query_params
        return 200, {
            **self.page_of(items, query.get("start_cursor"), query.get("page_size")),
            "type": "block",
            "block": {},
        }

    async def append_children(self, call: Call) -> tuple[int, Any]:
        key = self._container(call.space, call.request.path_params["block_id"])
        stamp = now()
        made = []
        for child in call.body["children"]:
            kind = child["type"]
            content = dict(child[kind])
            if "rich_text" in content:
                content["rich_text"] = rich(content["rich_text"])
            block = {
                "object": "block",
                "id": new_id(),
                "parent": {"type": "page_id", "page_id": key},
                "created_time": stamp,
                "last_edited_time": stamp,
                "has_children": False,
                "archived": False,
                "in_trash": False,
                "type": kind,
                kind: content,
            }
            call.space.blocks[block["id"]] = block
            made.append(block)
        siblings = call.space.children.setdefault(key, [])
        after = call.body.get("after")
        at = siblings.index(_dashed(after)) + 1 if after and _dashed(after) in siblings else len(siblings)
        siblings[at:at] = [b["id"] for b in made]
        if key in call.space.blocks:
            call.space.blocks[key]["has_children"] = True
        page_id = key if key in call.space.pages else None
        if page_id:
            page = call.space.pages[page_id]
            page["last_edited_time"] = stamp
            self.emit(
                call,
                "page.content_updated",
                page_id,
                {
                    "parent": _event_parent(page["parent"]),
                    "updated_blocks": [{"id": b["id"], "type": "block"} for b in made],
                },
            )
        return 200, {
            "object": "list",
            "results": made,
            "next_cursor": None,
            "has_more": False,
            "type": "block",
            "block": {},
        }

    async def search(self, call: Call) -> tuple[int, Any]:
        body = call.body or {}
        wanted = (body.get("filter") or {}).get("value")
        needle = str(body.get("query") or "").lower()
        found: list[dict[str, Any]] = []
        if wanted in (None, "page"):
            found += [
                p
                for p in call.space.pages.values()
                if needle in plain(p["properties"]["title"]["title"]).lower()
            ]
        if wanted in (None, "data_source"):
            for source_id, source in call.space.sources.items():
                if needle in source["name"].lower():
                    database = call.space.databases[source["database_id"]]
                    found.append(
                        {
                            "object": "data_source",
                            "id": source_id,
                            "title": database["title"],
                            "parent": {"type": "database_id", "database_id": database["id"]},
                            "last_edited_time": now(),
                            "url": None,
                        }
                    )
        descending = ((body.get("sort") or {}).get("direction") or "descending") == "descending"
        found.sort(key=lambda p: (p["last_edited_time"], p["id"]), reverse=descending)
        return 200, {
            **self.page_of(found, body.get("start_cursor"), body.get("page_size")),
            "type": "page_or_data_source",
            "page_or_data_source": {},
        }

    async def create_comment(self, call: Call) -> tuple[int, Any]:
        page = self.find_page(call.space, call.body["parent"]["page_id"])
        comment: dict[str, Any] = {
            "object": "comment",
            "id": new_id(),
            "parent": {"type": "page_id", "page_id": page["id"]},
            "discussion_id": new_id(),
            "created_time": now(),
            "last_edited_time": now(),
            "created_by": {"object": "user", "id": call.caller.bot_id},
            "rich_text": rich(call.body["rich_text"]),
        }
        call.space.comments[comment["id"]] = comment
        self.emit(
            call,
            "comment.created",
            comment["id"],
            {"page_id": page["id"], "parent": {"id": page["id"], "type": "page"}},
            entity="comment",
        )
        return 200, comment

    async def get_database(self, call: Call) -> tuple[int, Any]:
        database = call.space.databases.get(_dashed(call.request.path_params["database_id"]))
        if database is None:
            raise NotionError(404, "object_not_found", "Could not find database.")
        return 200, database

    async def query_source(self, call: Call) -> tuple[int, Any]:
        source_id = _dashed(call.request.path_params["data_source_id"])
        if source_id not in call.space.sources:
            raise NotionError(404, "object_not_found", f"Could not find data_source with ID: {source_id}.")
        rows = [p for p in call.space.pages.values() if p["parent"].get("data_source_id") == source_id]
        body = call.body or {}
        descending = any(s.get("direction") == "descending" for s in body.get("sorts") or [])
        rows.sort(key=lambda p: p["created_time"], reverse=descending)
        return 200, {
            **self.page_of(rows, body.get("start_cursor"), body.get("page_size")),
            "type": "page_or_data_source",
            "page_or_data_source": {},
        }

    # -- webhooks -------------------------------------------------------------------------------------
    def event_catalog(self) -> Mapping[str, tuple[str, ...]]:
        return {name: () for name in EVENTS}

    def payload_schema(self, event: str, action: str | None) -> str:
        return event

    def webhook_headers(
        self, event: str, body: bytes, secret: str | None, guid: str, hook_id: int | None
    ) -> dict[str, str]:
        headers = {"Content-Type": "application/json", "User-Agent": "notion-api"}
        if secret:
            headers.update(sign_webhook("notion", secret, body))
        return headers

    def event(
        self,
        caller: Caller,
        subscription: Subscription | None,
        kind: str,
        entity_id: str,
        data: dict[str, Any],
        entity: str = "page",
    ) -> dict[str, Any]:
        return {
            "id": new_id(),
            "timestamp": now(),
            "workspace_id": caller.workspace_id,
            "workspace_name": caller.workspace_name,
            "subscription_id": subscription.id if subscription else new_id(),
            "integration_id": self.integration_id,
            "authors": [{"id": caller.user_id, "type": "person"}],
            "attempt_number": 1,
            "api_version": API_VERSION,
            "type": kind,
            "entity": {"id": entity_id, "type": entity},
            "data": data,
        }

    def emit(self, call: Call, kind: str, entity_id: str, data: dict[str, Any], entity: str = "page") -> None:
        """Send the event to every subscription of this workspace, after the API answered."""
        for sub in list(self.subscriptions.values()):
            if sub.workspace_id in (None, call.caller.workspace_id):
                payload = self.event(call.caller, sub, kind, entity_id, data, entity)
                self.outbox.send_later(self.deliver(sub.url, sub.verification_token, kind, None, payload))

    def build_event(self, request: Request, event: str, action: str | None, data: Mapping[str, Any]) -> Any:
        """A payload for ``/_sim/webhooks``: about ``data.page_id`` of the internal token's
        workspace ``data.login`` (default sim-user), else a new page there."""
        login = str(data.get("login") or "sim-user")
        token = next(
            (t for t, c in self.tokens.items() if c.user_id == identity.notion_person(login)["id"]), None
        )
        if token is None:
            self.add_pat(f"sim-{login}", login)
            token = f"sim-{login}"
        caller = self.tokens[token]
        space = self.space(caller)
        page_id = data.get("page_id")
        if page_id is not None:
            try:
                page = self.find_page(space, str(page_id))
            except NotionError as err:
                raise EventError(err.message) from None
        else:
            home = next(iter(space.pages.values()))
            title = str(data.get("title") or "Simulated page")
            page = self.put_page(space, caller, {"type": "page_id", "page_id": home["id"]}, title, {})
        parent = _event_parent(page["parent"])
        if event == "comment.created":
            comment_id = new_id()
            return self.event(
                caller,
                None,
                event,
                comment_id,
                {"page_id": page["id"], "parent": {"id": page["id"], "type": "page"}},
                entity="comment",
            )
        extra: dict[str, Any] = {"parent": parent}
        if event == "page.properties_updated":
            extra["updated_properties"] = ["title"]
        if event == "page.content_updated":
            extra["updated_blocks"] = []
        return self.event(caller, None, event, page["id"], extra)

    def admin_routes(self) -> list[BaseRoute]:
        def admin(
            endpoint: Callable[[Request], Awaitable[Response]],
        ) -> Callable[[Request], Awaitable[Response]]:
            async def guarded(request: Request) -> Response:
                try:
                    return await endpoint(request)
                except (NotionError, ValueError, TypeError) as err:  # a bad admin body: say so
                    return JSONResponse({"error": "bad_request", "detail": str(err)}, status_code=400)

            return guarded

        return [
            Route("/tokens", admin(_add_token), methods=["POST"]),
            Route("/subscriptions", admin(_subscribe), methods=["POST"]),
            Route("/throttle", admin(_throttle), methods=["POST"]),
            Route("/hold", admin(_hold), methods=["POST"]),
            Route("/release", admin(_release), methods=["POST"]),
            Route("/drain", admin(_drain), methods=["POST"]),
        ]


def _dashed(value: str) -> str:
    raw = str(value).replace("-", "").lower()
    return f"{raw[:8]}-{raw[8:12]}-{raw[12:16]}-{raw[16:20]}-{raw[20:]}" if len(raw) == 32 else str(value)


def _event_parent(parent: dict[str, Any]) -> dict[str, Any]:
    kind = parent.get("type")
    if kind == "page_id":
        return {"id": parent["page_id"], "type": "page"}
    if kind == "data_source_id":
        return {
            "id": parent.get("database_id"),
            "type": "database",
            "data_source_id": parent["data_source_id"],
        }
    return {"id": None, "type": "space"}


def _property(value: Any) -> Any:
    """A property value as Notion answers it (rich text filled in)."""
    if isinstance(value, dict):
        for key in ("rich_text", "title"):
            if key in value:
                return {"type": key, key: rich(value[key])}
        kind = next(iter(value), None)
        return {"type": kind, **value} if kind else value
    return value


def _notion(request: Request) -> NotionSimulator:
    provider = request.app.state.provider
    assert isinstance(provider, NotionSimulator)
    return provider


async def _admin_json(request: Request) -> dict[str, Any]:
    try:
        body = json.loads(await request.body() or b"{}")
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise NotionError(400, "invalid_json", "body is a JSON object")
    return body


async def _add_token(request: Request) -> Response:
    body = await _admin_json(request)
    token = str(body.get("token") or "ntn_" + secrets.token_hex(20))
    _notion(request).add_pat(token, str(body.get("login") or "sim-user"))
    return JSONResponse({"token": token}, status_code=201)


async def _subscribe(request: Request) -> Response:
    """What saving a webhook URL in Notion's integration settings does: one unsigned POST of the
    verification token to the URL; the subscription then signs every event with that token."""
    sim = _notion(request)
    body = await _admin_json(request)
    url = body.get("url")
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        return JSONResponse({"error": "url is required"}, status_code=400)
    sub = Subscription(new_id(), url, "secret_" + secrets.token_urlsafe(32), body.get("workspace_id"))
    sim.subscriptions[sub.id] = sub
    payload = json.dumps({"verification_token": sub.verification_token}).encode()
    delivery = await sim.outbox.send(
        url, {"Content-Type": "application/json"}, payload, event="verification", action=None, guid=new_id()
    )
    return JSONResponse(
        {
            "id": sub.id,
            "url": url,
            "verification_token": sub.verification_token,
            "verification": delivery.view(),
        },
        status_code=201,
    )


async def _throttle(request: Request) -> Response:
    body = await _admin_json(request)
    status = int(body.get("status", 429))
    if status not in (429, 503, 529):
        return JSONResponse({"error": "status is 429, 503 or 529"}, status_code=400)
    sim = _notion(request)
    sim.throttle = [(status, float(body.get("retry_after", 1)))] * int(body.get("count", 1))
    return JSONResponse({"queued": len(sim.throttle)})


async def _hold(request: Request) -> Response:
    """``{"path": "/v1/search", "skip": 1}``: calls to the path after the first ``skip`` hang
    until ``POST /_sim/notion/release`` (tests interrupt a client mid-call this way)."""
    body = await _admin_json(request)
    sim = _notion(request)
    sim.hold = Hold(str(body.get("path") or "/v1/search"), int(body.get("skip", 0)))
    return JSONResponse({"path": sim.hold.path, "skip": sim.hold.skip})


async def _release(request: Request) -> Response:
    sim = _notion(request)
    held = 0
    if sim.hold is not None:
        held = sim.hold.held
        sim.hold.released.set()
        sim.hold = None
    return JSONResponse({"held": held})


async def _drain(request: Request) -> Response:
    await _notion(request).outbox.drain()
    return Response(status_code=204)
