"""The Confluence part of the Atlassian simulator: REST v2 pages, spaces and footer comments at
``/ex/confluence/{cloud_id}/wiki/api/v2/...`` (OAuth) and ``/wiki/api/v2/...`` (API token),
checked against confluence-v2.json; ``GET /wiki/api/v2/pages`` ("Get pages") and
``GET /wiki/rest/api/user/current`` (REST v1) are not in the kept description and are served
unchecked.

Page bodies are taken as ``atlas_doc_format`` (ADF as a JSON string) or ``storage`` and
answered in the representation asked for (``body-format``); lists page with an opaque cursor
in ``_links.next``. Webhooks are configured by an admin, never by API: ``POST
/_sim/atlassian/confluence-webhooks`` (``{url, secret, events}``) plays the admin's form;
page changes are then delivered with ``X-Hub-Signature: sha256=<hex HMAC-SHA256 of the body>``
and no delivery id, as Confluence does.
"""

from __future__ import annotations

import asyncio
import base64
import html
import json
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from hub_connector_sdk import HmacSignature, sign_webhook
from hub_e2e.simulators.atlassian_base import Call, Caller, JiraError
from hub_e2e.simulators.framework import ProviderSimulator

PAGE_EVENTS = ("page_created", "page_updated")
SIGNATURE = HmacSignature(header="X-Hub-Signature", prefix="sha256=")
SEED_SPACES = (
    ("98305", "OPS", "Operations"),
    ("98306", "DOCS", "Documentation"),
    ("98307", "ENG", "Engineering"),
)


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"offset:{offset}".encode()).decode().rstrip("=")


def _offset(cursor: str | None) -> int:
    if not cursor:
        return 0
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        return int(text.removeprefix("offset:"))
    except (ValueError, UnicodeDecodeError):
        raise JiraError(400, "Invalid cursor") from None


# -- ADF → storage (what Confluence stores an ADF body as) ------------------------------------------------
def _inline(node: dict[str, Any]) -> str:
    if node.get("type") == "hardBreak":
        return "<br />"
    text = html.escape(str(node.get("text", "")), quote=False)
    for mark in node.get("marks") or []:
        kind = mark.get("type")
        if kind == "strong":
            text = f"<strong>{text}</strong>"
        elif kind == "em":
            text = f"<em>{text}</em>"
        elif kind == "code":
            text = f"<code>{text}</code>"
        elif kind == "link":
            text = f'<a href="{html.escape(str((mark.get("attrs") or {}).get("href", "")))}">{text}</a>'
    return text


def adf_to_storage(doc: Any) -> str:
    out: list[str] = []
    for block in (doc or {}).get("content") or []:
        kind, children = block.get("type"), block.get("content") or []
        inline = "".join(_inline(c) for c in children if isinstance(c, dict))
        if kind == "heading":
            level = int((block.get("attrs") or {}).get("level", 1))
            out.append(f"<h{level}>{inline}</h{level}>")
        elif kind in ("bulletList", "orderedList"):
            tag = "ul" if kind == "bulletList" else "ol"
            items = "".join(f"<li>{adf_to_storage({'content': i.get('content')})}</li>" for i in children)
            out.append(f"<{tag}>{items}</{tag}>")
        elif kind == "codeBlock":
            code = "".join(str(c.get("text", "")) for c in children)
            out.append(
                '<ac:structured-macro ac:name="code"><ac:plain-text-body>'
                f"<![CDATA[{code}]]></ac:plain-text-body></ac:structured-macro>"
            )
        elif kind == "rule":
            out.append("<hr />")
        else:
            out.append(f"<p>{inline}</p>")
    return "".join(out)


@dataclass
class WikiPage:
    id: str
    space_id: str
    title: str
    adf: dict[str, Any]
    author: Caller
    parent_id: str | None = None
    status: str = "current"
    version: int = 1
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    changed_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    last_modifier: Caller | None = None


@dataclass
class AdminWebhook:
    url: str
    secret: str | None
    events: list[str]


class ConfluenceState(ProviderSimulator):
    """Pages, spaces, comments and admin webhooks: the Confluence half of ``AtlassianSimulator``."""

    search_delay_s: float = 0.0  # lists answer this much later (a test stops the hub mid-export)

    def reset_confluence(self) -> None:
        self.spaces = [
            {"id": sid, "key": key, "name": name, "type": "global", "status": "current"}
            for sid, key, name in SEED_SPACES
        ]
        self.pages: dict[str, WikiPage] = {}
        self.admin_webhooks: list[AdminWebhook] = []
        self._page_ids = 557000

    # -- state ---------------------------------------------------------------------------------------------
    def add_page(
        self, space_id: str, title: str, adf: dict[str, Any], author: Caller, **extra: Any
    ) -> WikiPage:
        self._page_ids += 1
        page = WikiPage(str(self._page_ids), space_id, title, adf, author, **extra)
        self.pages[page.id] = page
        return page

    def space_key(self, space_id: str) -> str:
        return next((s["key"] for s in self.spaces if s["id"] == space_id), "")

    def page_json(self, page: WikiPage, body_format: str | None) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": page.id,
            "status": page.status,
            "title": page.title,
            "spaceId": page.space_id,
            "authorId": page.author.account_id,
            "ownerId": page.author.account_id,
            "createdAt": iso(page.created_at),
            "version": {
                "number": page.version,
                "createdAt": iso(page.changed_at),
                "message": "",
                "minorEdit": False,
                "authorId": (page.last_modifier or page.author).account_id,
            },
            "_links": {"webui": f"/spaces/{self.space_key(page.space_id)}/pages/{page.id}"},
        }
        if page.parent_id:
            out["parentId"] = page.parent_id
        if body_format == "storage":
            out["body"] = {"storage": {"representation": "storage", "value": adf_to_storage(page.adf)}}
        elif body_format == "atlas_doc_format":
            out["body"] = {
                "atlas_doc_format": {"representation": "atlas_doc_format", "value": json.dumps(page.adf)}
            }
        return out

    @staticmethod
    def body_adf(body: Any) -> dict[str, Any]:
        """A write body (flat or nested) as ADF; storage is kept as one paragraph of its text."""
        if isinstance(body, dict) and "representation" not in body:
            kind = next(iter(body), None)
            body = {"representation": kind, **(body.get(kind) or {})} if kind else {}
        if not isinstance(body, dict):
            raise JiraError(400, "body is required")
        value = str(body.get("value", ""))
        if body.get("representation") == "atlas_doc_format":
            try:
                doc = json.loads(value)
            except ValueError:
                raise JiraError(400, "body.value is not valid Atlassian Document Format") from None
            if not isinstance(doc, dict) or doc.get("type") != "doc":
                raise JiraError(400, "body.value is not valid Atlassian Document Format")
            return doc
        text = html.unescape(value)
        return {
            "type": "doc",
            "version": 1,
            "content": [{"type": "paragraph", "content": [{"type": "text", "text": text}]}],
        }

    def page_of(self, call: Call) -> WikiPage:
        found = self.pages.get(call.request.path_params["id"])
        if found is None or found.status == "deleted":
            raise JiraError(404, "Page not found")
        return found

    # -- handlers ------------------------------------------------------------------------------------------
    async def wiki_create_page(self, call: Call) -> tuple[int, Any]:
        body = call.body or {}
        space_id = str(body.get("spaceId", ""))
        if not any(s["id"] == space_id for s in self.spaces):
            raise JiraError(404, f"Space {space_id} not found")
        status = body.get("status", "current")
        if status != "draft" and not body.get("title"):
            raise JiraError(400, "Title is required for a published page")
        page = self.add_page(
            space_id,
            str(body.get("title", "")),
            self.body_adf(body.get("body")),
            call.caller,
            parent_id=body.get("parentId"),
            status=status,
        )
        self.emit_page(call, "page_created", page)
        return 200, self.page_json(page, "atlas_doc_format")

    async def wiki_get_page(self, call: Call) -> tuple[int, Any]:
        page = self.page_of(call)
        return 200, self.page_json(page, call.request.query_params.get("body-format"))

    async def wiki_update_page(self, call: Call) -> tuple[int, Any]:
        page = self.page_of(call)
        body = call.body or {}
        number = int((body.get("version") or {}).get("number", 0))
        if number != page.version + 1:
            raise JiraError(409, f"Version must be incremented on update. Current version is: {page.version}")
        page.title = str(body.get("title") or page.title)
        page.adf = self.body_adf(body.get("body"))
        page.version, page.changed_at, page.last_modifier = number, datetime.now(UTC), call.caller
        page.status = str(body.get("status", page.status))
        self.emit_page(call, "page_updated", page)
        return 200, self.page_json(page, "atlas_doc_format")

    async def wiki_list_pages(self, call: Call) -> tuple[int, Any]:
        if self.search_delay_s:
            await asyncio.sleep(self.search_delay_s)
        query = call.request.query_params
        spaces = {s for s in (query.get("space-id") or "").split(",") if s}
        items = [
            p for p in self.pages.values() if p.status == "current" and (not spaces or p.space_id in spaces)
        ]
        sort = query.get("sort", "id")
        key = sort.removeprefix("-")
        if key == "modified-date":
            items.sort(key=lambda p: (p.changed_at, int(p.id)), reverse=sort.startswith("-"))
        else:
            items.sort(key=lambda p: int(p.id), reverse=sort.startswith("-"))
        return 200, self._page_of(call, [self.page_json(p, query.get("body-format")) for p in items], "pages")

    async def wiki_spaces(self, call: Call) -> tuple[int, Any]:
        query = call.request.query_params
        keys = {k for k in (query.get("keys") or "").split(",") if k}
        kinds = {k for k in (query.get("type") or "").split(",") if k}
        items = [
            {
                **s,
                "authorId": "712020:admin",
                "createdAt": "2026-01-01T00:00:00.000Z",
                "homepageId": str(int(s["id"]) + 1),
                "_links": {"webui": f"/spaces/{s['key']}"},
            }
            for s in self.spaces
            if (not keys or s["key"] in keys) and (not kinds or s["type"] in kinds)
        ]
        return 200, self._page_of(call, items, "spaces")

    def _page_of(self, call: Call, items: list[dict[str, Any]], name: str) -> dict[str, Any]:
        query = call.request.query_params
        limit = max(1, min(int(query.get("limit", 25)), 250))
        offset = _offset(query.get("cursor"))
        links: dict[str, str] = {"base": f"{str(call.request.base_url).rstrip('/')}/wiki"}
        if offset + limit < len(items):
            rest = "&".join(f"{k}={v}" for k, v in query.items() if k != "cursor")
            links["next"] = (
                f"/wiki/api/v2/{name}?{rest + '&' if rest else ''}cursor={_cursor(offset + limit)}"
            )
        return {"results": items[offset : offset + limit], "_links": links}

    async def wiki_add_comment(self, call: Call) -> tuple[int, Any]:
        body = call.body or {}
        page = self.pages.get(str(body.get("pageId", "")))
        if page is None:
            raise JiraError(404, "Page not found")
        adf = self.body_adf(body.get("body"))
        self._page_ids += 1
        return 201, {
            "id": str(self._page_ids),
            "status": "current",
            "title": f"Re: {page.title}",
            "pageId": page.id,
            "version": {"number": 1, "createdAt": iso(datetime.now(UTC)), "authorId": call.caller.account_id},
            "body": {"atlas_doc_format": {"representation": "atlas_doc_format", "value": json.dumps(adf)}},
            "_links": {"webui": f"/spaces/{self.space_key(page.space_id)}/pages/{page.id}"},
        }

    async def wiki_current_user(self, call: Call) -> tuple[int, Any]:
        return 200, {
            "type": "known",
            "accountId": call.caller.account_id,
            "accountType": "atlassian",
            "email": call.caller.email,
            "publicName": call.caller.name,
            "displayName": call.caller.name,
        }

    # -- webhooks ------------------------------------------------------------------------------------------
    def page_payload(self, event: str, page: WikiPage, actor: Caller, site: str) -> dict[str, Any]:
        return {
            "event": event,
            "timestamp": int(time.time() * 1000),
            "userAccountId": actor.account_id,
            "page": {
                "id": int(page.id),
                "title": page.title,
                "spaceKey": self.space_key(page.space_id),
                "creatorAccountId": page.author.account_id,
                "lastModifierAccountId": (page.last_modifier or page.author).account_id,
                "creationDate": int(page.created_at.timestamp() * 1000),
                "modificationDate": int(page.changed_at.timestamp() * 1000),
                "version": page.version,
                "self": f"{site}/wiki/spaces/{self.space_key(page.space_id)}/pages/{page.id}",
                "contentType": "page",
            },
        }

    def emit_page(self, call: Call, event: str, page: WikiPage) -> None:
        payload = self.page_payload(event, page, call.caller, str(call.request.base_url).rstrip("/"))
        for hook in self.admin_webhooks:
            if event in hook.events:
                self.outbox.send_later(self.deliver(hook.url, hook.secret, event, None, payload))

    def page_event_payload(self, request: Request, event: str, data: Any) -> dict[str, Any]:
        actor = Caller("557058:sim", "Sim User", "sim@example.test", None, "sim", ())
        page = self.pages.get(str(data.get("page_id", "")))
        if page is None:
            space = next(
                (s for s in self.spaces if s["key"] == str(data.get("space_key") or "OPS")), self.spaces[0]
            )
            text = str(data.get("body") or "Simulated page")
            doc = {
                "type": "doc",
                "version": 1,
                "content": [{"type": "paragraph", "content": [{"type": "text", "text": text}]}],
            }
            page = self.add_page(space["id"], str(data.get("title") or "Simulated page"), doc, actor)
        elif event == "page_updated":
            page.version, page.changed_at, page.last_modifier = page.version + 1, datetime.now(UTC), actor
        return self.page_payload(event, page, actor, str(request.base_url).rstrip("/"))

    @staticmethod
    def page_webhook_headers(body: bytes, secret: str | None) -> dict[str, str]:
        headers = {"Content-Type": "application/json", "User-Agent": "Confluence Webhook Client"}
        if secret:
            headers.update(sign_webhook(SIGNATURE, secret, body))
        return headers

    def confluence_admin_routes(self) -> list[Route]:
        async def configure(request: Request) -> Response:
            """The admin's Settings → Webhooks form: ``{url, secret, events}``."""
            body = json.loads(await request.body() or b"{}")
            events = [e for e in body.get("events") or PAGE_EVENTS if e in PAGE_EVENTS]
            hook = AdminWebhook(str(body["url"]), body.get("secret"), events)
            self.admin_webhooks.append(hook)
            return JSONResponse({"url": hook.url, "events": hook.events}, status_code=201)

        return [Route("/confluence-webhooks", configure, methods=["POST"])]


def confluence_routes() -> list[tuple[str, Any, str, bool]]:
    """(path, handler, method, described in confluence-v2.json)."""
    from hub_e2e.simulators.atlassian import AtlassianSimulator as S

    v2 = "/wiki/api/v2"
    return [
        (f"{v2}/pages", S.wiki_create_page, "POST", True),
        (f"{v2}/pages", S.wiki_list_pages, "GET", False),
        (f"{v2}/pages/{{id}}", S.wiki_get_page, "GET", True),
        (f"{v2}/pages/{{id}}", S.wiki_update_page, "PUT", True),
        (f"{v2}/spaces", S.wiki_spaces, "GET", True),
        (f"{v2}/footer-comments", S.wiki_add_comment, "POST", True),
        ("/wiki/rest/api/user/current", S.wiki_current_user, "GET", False),
    ]
