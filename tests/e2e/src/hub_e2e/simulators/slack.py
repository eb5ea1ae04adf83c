"""The Slack simulator: OAuth v2 (``flavors.Slack``: bot and user tokens, opt-in token rotation),
the Web API methods the ``slack`` connector calls, per-method rate-limit tiers, and the Events API
signed as Slack signs it.

Behaviour, from Slack's Web API, Events API and rate-limit documentation:

- the Web API answers at ``/api/<method>``; the token comes as ``Authorization: Bearer``, a
  ``token`` form field or query parameter; every method takes GET or POST, form-encoded or JSON;
- every answer is HTTP 200 with ``ok``: failures are ``{"ok": false, "error": "<code>"}``
  (``not_authed``, ``invalid_auth``, ``token_revoked``, ``token_expired``, ``channel_not_found``...);
- requests are validated against ``slack-web-api.json`` (the description models the token as a
  ``token`` parameter: the bearer token stands in for it); a refused request answers
  ``invalid_arg_name`` with the problems in the ``x-slack-sim-problems`` header. Answers are held
  to the description: success bodies to the ``200`` schema, ``ok: false`` bodies to ``default``
  (a simulator bug is a 500 naming the problem);
- limits per method, per workspace and per minute (Tier 2: 20, Tier 3: 50, Tier 4: 100;
  ``chat.postMessage``: one a second per channel, as a 60-a-minute window); past a limit, HTTP 429
  with ``Retry-After`` (seconds) and ``{"ok": false, "error": "ratelimited"}``;
- the Events API: ``POST /_sim/slack/events`` is the app's "Event Subscriptions" page: setting a
  Request URL sends the signed ``url_verification`` challenge, and the subscription is kept only
  when the answer echoes it; afterwards messages, mentions and reactions (the app's own too, as
  Slack sends them) are delivered as signed ``event_callback`` envelopes
  (``X-Slack-Signature: v0=<hex HMAC-SHA256 of "v0:{timestamp}:{body}">``,
  ``X-Slack-Request-Timestamp``), checked against the Events API description's event wrapper;
- ``POST /_sim/slack/messages`` posts as a person (``<@U…>`` in the text also sends
  ``app_mention``); ``POST /_sim/slack/channels`` adds a channel; ``POST /_sim/slack/rate-limit``
  sets a method's per-minute limit; ``POST /_sim/slack/tokens`` adds a bot token (``xoxb-…``).

Simplified: one workspace (``T0SIMTEAM``); a bot may post in any channel it can see (Slack wants
it invited with ``chat:write``, or ``chat:write.public``); scopes are not enforced.
"""

from __future__ import annotations

import json
import re
import secrets
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from hub_connector_sdk import sign_webhook
from hub_connector_sdk.testkit import SpecViolation
from hub_e2e.simulators import revocation
from hub_e2e.simulators import slack_objects as so
from hub_e2e.simulators.framework import Delivery, EventError, ProviderSimulator, provider_of
from hub_e2e.simulators.httpio import bearer_token
from hub_e2e.simulators.spec_guard import AnswerViolation, SpecGuard, WebhookGuard
from hub_e2e.simulators.state import Simulator
from hub_e2e.simulators.token_endpoint import token

WINDOW_S = 60
# The simulator's own copy of Slack's documented tiers (not the connector's METHOD_TIERS: the
# simulator models Slack independently of the code it tests).
# Slack's tiers, per minute (the "+" in "Tier 2: 20+ per minute" is not promised: the floor).
TIER_LIMITS = {"tier2": 20, "tier3": 50, "tier4": 100, "special": 60}
METHOD_TIERS = {
    "chat.postMessage": "special",
    "chat.update": "tier3",
    "reactions.add": "tier3",
    "conversations.list": "tier2",
    "conversations.replies": "tier3",
    "users.info": "tier4",
    "auth.test": "tier4",
}
DESCRIBED_VERB = {
    "chat.postMessage": "POST",
    "chat.update": "POST",
    "reactions.add": "POST",
    "conversations.list": "GET",
    "conversations.replies": "GET",
    "users.info": "GET",
    "auth.test": "GET",
}
AUTH_ERRORS = {"missing": "not_authed", "unknown": "invalid_auth", "revoked": "token_revoked"}
AUTH_ERRORS["expired"] = "token_expired"
SEED_CHANNELS = (("C0SIMGENERAL", "general", False), ("C0SIMRANDOM0", "random", False))
SEED_PEOPLE = {"U0SIMHUMAN1": "ada", "U0SIMHUMAN2": "grace", "U0SIMADMIN": "admin"}
EMOJI = re.compile(r"^[a-z0-9_+'-]{1,100}$")
MENTION = re.compile(r"<@([UW][A-Z0-9]+)>")
MAX_TEXT = 40_000
DEFAULT_SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"  # shaped like Slack's (32 hex-ish)
VERIFICATION_TOKEN = "simVerificationToken0000"  # the deprecated body token Slack still sends


class SlackError(Exception):
    """An ``ok: false`` answer (HTTP 200 unless a rate limit)."""

    def __init__(self, code: str, *, status: int = 200, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(code)
        self.code, self.status, self.headers = code, status, dict(headers or {})

    def response(self) -> JSONResponse:
        return JSONResponse({"ok": False, "error": self.code}, self.status, self.headers)


@dataclass
class Caller:
    user: str  # the user id the token acts as (the bot user for a bot token)
    app: so.App
    is_bot: bool
    team: str = so.TEAM_ID


@dataclass
class Window:
    count: int = 0
    reset: float = field(default_factory=lambda: time.time() + WINDOW_S)


@dataclass
class Subscription:
    """The app's Event Subscriptions: its Request URL, signing secret and subscribed events."""

    app: so.App
    url: str
    signing_secret: str
    events: tuple[str, ...]


@dataclass
class Call:
    request: Request
    caller: Caller
    method: str
    args: dict[str, Any]


Handler = Callable[["SlackSimulator", Call], Awaitable[dict[str, Any]]]


class SlackSimulator(ProviderSimulator):
    name = "slack"
    oauth_flavor = "slack"
    spec_name = "slack-web-api.json"
    webhook_spec_name = "slack-events-api-async-v1.json"
    api_prefixes = ("/api",)

    def __init__(self, guard: SpecGuard, webhook_guard: WebhookGuard | None = None) -> None:
        super().__init__(guard, webhook_guard)
        self.limits: dict[str, int] = {}
        self.bot_tokens: dict[str, Caller] = {}
        self.signing_secret = DEFAULT_SIGNING_SECRET
        self.reset()

    def reset(self) -> None:
        super().reset()
        self.channels: dict[str, so.Channel] = {}
        for cid, name, private in SEED_CHANNELS:
            self.channels[cid] = so.Channel(cid, name, private, members=set(SEED_PEOPLE))
        self.people: dict[str, str] = dict(SEED_PEOPLE)
        self.apps: dict[str, so.App] = {}
        self.windows: dict[tuple[str, str], Window] = {}
        self.subscriptions: dict[str, Subscription] = {}

    # -- who calls ----------------------------------------------------------------------------------
    def app(self, client_id: str) -> so.App:
        if client_id not in self.apps:
            self.apps[client_id] = so.App(client_id)
            for channel in self.channels.values():
                if not channel.private:
                    channel.members.add(self.apps[client_id].bot_user_id)
        return self.apps[client_id]

    async def authenticate(self, request: Request, args: Mapping[str, Any]) -> Caller:
        sim: Simulator = request.app.state.sim
        value = bearer_token(request) or args.get("token") or request.query_params.get("token")
        for known, caller in self.bot_tokens.items():
            if value and secrets.compare_digest(str(value), known):
                return caller
        token, status = sim.store.access_status(str(value) if value else None)
        if token is None:
            raise SlackError(AUTH_ERRORS.get(status, "invalid_auth"))
        app = self.app(token.client_id)
        if token.kind == "user":
            uid = so.user_id(token.subject)
            self.people.setdefault(uid, token.subject)
            return Caller(uid, app, is_bot=False)
        return Caller(app.bot_user_id, app, is_bot=True)

    def add_pat(self, token: str, login: str) -> None:
        """Accept ``token`` as the bot token of an app named ``login`` (installed by hand)."""
        app = self.app(f"manual-install-{login}")
        app.name = login
        self.bot_tokens[token] = Caller(app.bot_user_id, app, is_bot=True)

    def count(self, caller: Caller, method: str, args: Mapping[str, Any]) -> None:
        """Spend one call of ``method``'s per-minute budget (per channel for chat.postMessage)."""
        tier = METHOD_TIERS.get(method, "tier3")
        limit = self.limits.get(method, TIER_LIMITS[tier])
        scope = f"{caller.team}:{caller.app.client_id}:{method}"
        if method == "chat.postMessage":
            scope += f":{args.get('channel')}"
        window = self.windows.get((scope, method))
        if window is None or window.reset <= time.time():
            window = self.windows[(scope, method)] = Window()
        if window.count >= limit:
            wait = max(1, int(window.reset - time.time() + 0.999))
            raise SlackError("ratelimited", status=429, headers={"Retry-After": str(wait)})
        window.count += 1

    # -- the request pipeline -------------------------------------------------------------------------
    async def handle(self, request: Request, method: str, handler: Handler) -> Response:
        template = f"/{method}"
        problems: list[str] = []
        try:
            args = await self._arguments(request)
            caller = await self.authenticate(request, args)
            self.count(caller, method, args)
            problems = self._validate(request, method, args)
            if problems:
                raise SlackError("invalid_arg_name")
            body = await handler(self, Call(request, caller, method, args))
        except SlackError as err:
            if err.status != 200:  # a rate limit: HTTP 429, which the description does not describe
                return err.response()
            answer = self._checked(template, {"ok": False, "error": self._documented(template, err.code)})
            if problems:
                answer.headers["x-slack-sim-problems"] = "; ".join(problems)[:2000]
            return answer
        return self._checked(template, {"ok": True, **body})

    def _documented(self, template: str, code: str) -> str:
        """Slack sends token_revoked/token_expired from every method; a method whose description
        lists neither answers invalid_auth, so every answer stays one the description allows."""
        if self.guard.spec is None or code not in ("token_revoked", "token_expired"):
            return code
        operation = self.guard.spec.document["paths"][template]
        verb = next(iter(operation))
        enum = operation[verb]["responses"]["default"]["schema"]["properties"]["error"].get("enum") or []
        return code if code in enum else "invalid_auth"

    def _checked(self, template: str, body: dict[str, Any]) -> Response:
        if self.guard.spec is not None:
            # ok:false answers are the operation's "default" response; 599 is documented nowhere,
            # so the check falls through to it.
            status = 200 if body.get("ok") else 599
            verb = DESCRIBED_VERB[template.lstrip("/")]
            try:
                self.guard.spec.validate_response(verb, template, status, described_part(template, body))
            except SpecViolation as err:
                message = f"simulator answer broke the description: {err.problems[:10]}"
                return JSONResponse({"ok": False, "error": "fatal_error", "detail": message}, 500)
        return JSONResponse(body)

    @staticmethod
    async def _arguments(request: Request) -> dict[str, Any]:
        """Query parameters, then a form or JSON body (Slack reads all three)."""
        args: dict[str, Any] = dict(request.query_params)
        raw = await request.body()
        kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if raw and kind == "application/json":
            try:
                body = json.loads(raw)
            except ValueError:
                raise SlackError("invalid_json") from None
            if not isinstance(body, dict):
                raise SlackError("json_not_object")
            args.update(body)
        elif raw:
            args.update(parse_qsl(raw.decode("utf-8", errors="replace"), keep_blank_values=True))
        return args

    def _validate(self, request: Request, method: str, args: dict[str, Any]) -> list[str]:
        """The request against the description, when sent with the verb it describes (Slack takes
        either; the description has one per method)."""
        if self.guard.spec is None or request.method != DESCRIBED_VERB[method]:
            return []
        query: dict[str, Any] = dict(request.query_params)
        body = None if request.method == "GET" else {k: v for k, v in args.items() if k not in query}
        headers: dict[str, str] = dict(request.headers)
        credential_as_described(self.guard.spec.document, request.method, f"/{method}", query, headers)
        try:
            self.guard.spec.validate_request(request.method, f"/{method}", query, body, headers=headers)
        except SpecViolation as err:
            return list(err.problems)
        return []

    # -- state helpers --------------------------------------------------------------------------------
    def channel_for(self, value: Any, caller: Caller) -> so.Channel:
        text = str(value or "")
        found = self.channels.get(text) or next(
            (c for c in self.channels.values() if c.name == text.lstrip("#")), None
        )
        if found is None or (found.private and caller.user not in found.members):
            raise SlackError("channel_not_found")
        return found

    def post(
        self,
        channel: so.Channel,
        text: str,
        user: str,
        *,
        app: so.App | None = None,
        blocks: list[dict[str, Any]] | None = None,
        thread_ts: str | None = None,
    ) -> so.Message:
        item = so.Message(so.new_ts(), text, user, bot=app, blocks=blocks, thread_ts=thread_ts)
        channel.messages[item.ts] = item
        if thread_ts:
            parent = channel.messages[thread_ts]
            parent.thread_ts = parent.ts
            parent.replies.append(item.ts)
        self.emit(so.message_event(channel, item))
        for mentioned in MENTION.findall(text):
            for sub in self.subscriptions.values():
                if sub.app.bot_user_id == mentioned and user != mentioned:
                    self.emit(so.mention_event(channel, item), only=sub)
        return item

    # -- actions --------------------------------------------------------------------------------------
    async def auth_test(self, call: Call) -> dict[str, Any]:
        caller = call.caller
        name = call.caller.app.name if caller.is_bot else self.people.get(caller.user, "someone")
        body: dict[str, Any] = {"url": so.TEAM_URL, "team": so.TEAM_NAME, "team_id": so.TEAM_ID}
        body.update(user=name, user_id=caller.user, is_enterprise_install=False)
        if caller.is_bot:
            body["bot_id"] = caller.app.bot_id
        return body

    @staticmethod
    def _blocks(args: Mapping[str, Any]) -> list[dict[str, Any]] | None:
        raw = args.get("blocks")
        if raw in (None, ""):
            return None
        try:
            blocks = json.loads(raw) if isinstance(raw, str) else raw
        except ValueError:
            raise SlackError("invalid_array_arg") from None
        if not isinstance(blocks, list) or not all(isinstance(b, dict) and b.get("type") for b in blocks):
            raise SlackError("invalid_array_arg")
        return blocks

    def _content(self, args: Mapping[str, Any]) -> tuple[str, list[dict[str, Any]] | None]:
        """A message's text and blocks; one of them is required, the text at most 40,000 chars."""
        text = str(args.get("text") or "")
        blocks = self._blocks(args)
        if not text and not blocks:
            raise SlackError("no_text")
        if len(text) > MAX_TEXT:
            raise SlackError("msg_too_long")
        return text, blocks

    async def post_message(self, call: Call) -> dict[str, Any]:
        channel = self.channel_for(call.args.get("channel"), call.caller)
        if channel.archived:
            raise SlackError("is_archived")
        text, blocks = self._content(call.args)
        thread_ts = call.args.get("thread_ts") or None
        if thread_ts is not None:
            parent = channel.messages.get(str(thread_ts))
            # Simplified: a thread_ts naming no message posts to the channel.
            thread_ts = (parent.thread_ts or parent.ts) if parent is not None else None
        app = call.caller.app if call.caller.is_bot else None
        item = self.post(channel, text, call.caller.user, app=app, blocks=blocks, thread_ts=thread_ts)
        return {"channel": channel.id, "ts": item.ts, "message": so.message(item)}

    async def update_message(self, call: Call) -> dict[str, Any]:
        channel = self.channel_for(call.args.get("channel"), call.caller)
        item = channel.messages.get(str(call.args.get("ts")))
        if item is None:
            raise SlackError("message_not_found")
        if item.user != call.caller.user:
            raise SlackError("cant_update_message")
        text, blocks = self._content(call.args)
        item.text, item.blocks, item.edited = text, blocks if blocks is not None else item.blocks, True
        changed = so.message_event(channel, item, subtype="message_changed")
        self.emit({**changed, "message": so.message(item), "hidden": True, "ts": so.new_ts()})
        return {"channel": channel.id, "ts": item.ts, "text": item.text, "message": {"text": item.text}}

    async def add_reaction(self, call: Call) -> dict[str, Any]:
        channel = self.channel_for(call.args.get("channel"), call.caller)
        stamp = str(call.args.get("timestamp") or "")
        if not re.fullmatch(r"\d+\.\d+", stamp):
            raise SlackError("bad_timestamp")
        item = channel.messages.get(stamp)
        if item is None:
            raise SlackError("message_not_found")
        name = str(call.args.get("name") or "").strip(":")
        if not EMOJI.fullmatch(name):
            raise SlackError("invalid_name")
        users = item.reactions.setdefault(name, [])
        if call.caller.user in users:
            raise SlackError("already_reacted")
        users.append(call.caller.user)
        self.emit(so.reaction_event(channel, item, call.caller.user, name))
        return {}

    @staticmethod
    def _page(args: Mapping[str, Any], items: list[Any], default: int = 100) -> tuple[list[Any], str]:
        """One page and the next cursor ("" on the last page), as Slack's cursor pagination."""
        try:
            limit = max(1, min(int(args.get("limit") or default), 1000))
            start = int(str(args.get("cursor") or "0").removeprefix("dXNlcjp"))
        except ValueError:
            raise SlackError("invalid_arg_name") from None
        chunk = items[start : start + limit]
        after = start + limit
        return chunk, (f"dXNlcjp{after}" if after < len(items) else "")

    async def list_conversations(self, call: Call) -> dict[str, Any]:
        types = set(str(call.args.get("types") or "public_channel").split(","))
        exclude = str(call.args.get("exclude_archived", "false")).lower() == "true"
        visible = [
            c
            for c in self.channels.values()
            if ("private_channel" if c.private else "public_channel") in types
            and not (exclude and c.archived)
            and (not c.private or call.caller.user in c.members)
        ]
        chunk, cursor = self._page(call.args, visible)
        return {
            "channels": [so.conversation(c, call.caller.user) for c in chunk],
            "response_metadata": {"next_cursor": cursor},
        }

    async def list_replies(self, call: Call) -> dict[str, Any]:
        channel = self.channel_for(call.args.get("channel"), call.caller)
        thread = channel.thread(str(call.args.get("ts") or ""))
        if not thread:
            raise SlackError("thread_not_found")
        chunk, cursor = self._page(call.args, thread, default=1000)
        body: dict[str, Any] = {"messages": [so.reply(m, thread[0]) for m in chunk], "has_more": bool(cursor)}
        if cursor:
            body["response_metadata"] = {"next_cursor": cursor}
        return body

    async def user_info(self, call: Call) -> dict[str, Any]:
        uid = str(call.args.get("user") or "")
        if uid in self.people:
            return {"user": so.user(uid, self.people[uid])}
        app = next((a for a in self.apps.values() if a.bot_user_id == uid), None)
        if app is None:
            raise SlackError("user_not_found")
        return {"user": so.user(uid, app.name, is_bot=True, app=app)}

    # -- Events API -----------------------------------------------------------------------------------
    def event_catalog(self) -> Mapping[str, tuple[str, ...]]:
        return {"message": (), "app_mention": (), "reaction_added": (), "url_verification": ()}

    def payload_schema(self, event: str, action: str | None) -> str:
        return "GenericEventWrapper"  # the wrapper the description gives these topics

    def webhook_headers(
        self, event: str, body: bytes, secret: str | None, guid: str, hook_id: int | None
    ) -> dict[str, str]:
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
        }
        if secret:
            # The SDK's signer for the preset the connector declares: what the hub verifies.
            headers.update(sign_webhook("slack-v0", secret, body))
        return headers

    async def deliver(
        self,
        url: str,
        secret: str | None,
        event: str,
        action: str | None,
        payload: Any,
        *,
        hook_id: int | None = None,
    ) -> Delivery:
        if event != "url_verification":  # the challenge is no event_callback: not in the wrapper
            return await super().deliver(url, secret, event, action, payload, hook_id=hook_id)
        body = json.dumps(payload, separators=(",", ":")).encode()
        guid = payload["challenge"]
        headers = self.webhook_headers(event, body, secret, guid, hook_id)
        return await self.outbox.send(url, headers, body, event=event, action=None, guid=guid)

    def emit(self, event: dict[str, Any], *, only: Subscription | None = None) -> None:
        """Deliver ``event`` to every app subscribed to its type, after the answer (Slack's
        Events API is asynchronous)."""
        for sub in [only] if only is not None else list(self.subscriptions.values()):
            if event["type"] in sub.events:
                payload = so.envelope(sub.app, event, token=VERIFICATION_TOKEN)
                self.outbox.send_later(
                    self.deliver(sub.url, sub.signing_secret, event["type"], None, payload)
                )

    async def subscribe(self, app: so.App, url: str, secret: str, events: tuple[str, ...]) -> Delivery:
        """Set the app's Request URL: Slack sends ``url_verification`` and keeps the URL only when
        the answer echoes the challenge."""
        challenge = secrets.token_urlsafe(32)
        payload = {"token": VERIFICATION_TOKEN, "challenge": challenge, "type": "url_verification"}
        delivery = await self.deliver(url, secret, "url_verification", None, payload)
        try:
            answered = json.loads(delivery.response_body).get("challenge")
        except (ValueError, AttributeError):
            answered = delivery.response_body.strip()
        if delivery.status_code == 200 and answered == challenge:
            self.subscriptions[app.client_id] = Subscription(app, url, secret, events)
        return delivery

    def build_event(self, request: Request, event: str, action: str | None, data: Mapping[str, Any]) -> Any:
        """A payload for ``/_sim/webhooks``: a new message in ``data.channel`` (default
        #general) by ``data.user`` (default a person; ``data.bot: true`` — the app's own bot) with
        ``data.text``; a mention of the app; a reaction ``data.reaction`` to that message."""
        if event == "url_verification":
            return {"token": VERIFICATION_TOKEN, "challenge": secrets.token_urlsafe(32), "type": event}
        app = self.app(str(data.get("client_id") or "hub-sim-demo"))
        channel = self.channels.get(str(data.get("channel") or "C0SIMGENERAL"))
        if channel is None:
            raise EventError(f"no channel {data.get('channel')!r}; one of {sorted(self.channels)}")
        own = bool(data.get("bot"))
        user = app.bot_user_id if own else str(data.get("user") or "U0SIMHUMAN1")
        text = str(data.get("text") or "Hello from hub-sim")
        if event == "app_mention" and f"<@{app.bot_user_id}>" not in text:
            text = f"<@{app.bot_user_id}> {text}"
        item = so.Message(so.new_ts(), text, user, bot=app if own else None)
        channel.messages[item.ts] = item
        if event == "message":
            body = so.message_event(channel, item)
        elif event == "app_mention":
            body = so.mention_event(channel, item)
        else:
            item.reactions[str(data.get("reaction") or "thumbsup")] = [user]
            body = so.reaction_event(channel, item, user, str(data.get("reaction") or "thumbsup"))
        return so.envelope(app, body, token=VERIFICATION_TOKEN)

    # -- routes ---------------------------------------------------------------------------------------
    def api_routes(self) -> list[BaseRoute]:
        def route(method: str, handler: Handler) -> Route:
            async def endpoint(request: Request) -> Response:
                slack = provider_of(request)
                assert isinstance(slack, SlackSimulator)
                return await slack.handle(request, method, handler)

            return Route(f"/{method}", endpoint, methods=["GET", "POST"])

        # The flavor's OAuth calls live under /api too: mounted here, or this mount would hide them.
        return [
            Route("/oauth.v2.access", token, methods=["POST"]),
            Route("/auth.revoke", revocation.slack_auth_revoke, methods=["GET", "POST"]),
            route("auth.test", SlackSimulator.auth_test),
            route("chat.postMessage", SlackSimulator.post_message),
            route("chat.update", SlackSimulator.update_message),
            route("reactions.add", SlackSimulator.add_reaction),
            route("conversations.list", SlackSimulator.list_conversations),
            route("conversations.replies", SlackSimulator.list_replies),
            route("users.info", SlackSimulator.user_info),
        ]

    def admin_routes(self) -> list[BaseRoute]:
        return [
            Route("/events", _subscribe, methods=["POST"]),
            Route("/messages", _admin(_post_as_person), methods=["POST"]),
            Route("/channels", _admin(_add_channel), methods=["POST"]),
            Route("/rate-limit", _admin(_set_rate_limit), methods=["POST"]),
            Route("/tokens", _admin(_add_token), methods=["POST"]),
            Route("/drain", _drain, methods=["POST"]),
        ]


# Fields Slack sends that the 2020 description leaves out: conversations.replies paginates with
# response_metadata.next_cursor like every cursor method (its method page), the schema has only
# has_more. Checked without them; everything else in the answer is held to the description.
UNDESCRIBED_FIELDS = {"/conversations.replies": frozenset({"response_metadata"})}


def described_part(template: str, body: Any) -> Any:
    """``body`` without the fields the description does not know (see UNDESCRIBED_FIELDS)."""
    extra = UNDESCRIBED_FIELDS.get(template)
    if not extra or not isinstance(body, dict):
        return body
    return {k: v for k, v in body.items() if k not in extra}


def credential_as_described(
    document: Mapping[str, Any], verb: str, template: str, query: dict[str, Any], headers: dict[str, str]
) -> None:
    """slack-web-api.json models the token as a ``token`` parameter (a header for ``chat.*``,
    ``reactions.add`` and ``auth.test``, a query parameter for the rest); callers send it as
    ``Authorization: Bearer``, which Slack takes in its place. Put a stand-in where the description
    expects it, so the rest of the request is checked as described."""
    operation = document["paths"][template][verb.lower()]
    for param in operation.get("parameters", []):
        if param.get("name") == "token" and param.get("in") == "header":
            headers["token"] = "xoxb-stand-in"
        elif param.get("name") == "token" and param.get("in") == "query":
            query.setdefault("token", "xoxb-stand-in")


def _slack(request: Request) -> SlackSimulator:
    provider = provider_of(request)
    assert isinstance(provider, SlackSimulator)
    return provider


def _bad(message: str, status: int = 400) -> JSONResponse:
    return JSONResponse({"error": "bad_request", "detail": message}, status_code=status)


async def _json(request: Request) -> dict[str, Any] | None:
    try:
        body = json.loads(await request.body() or b"{}")
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def _admin(
    handler: Callable[[SlackSimulator, dict[str, Any]], Response],
) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        body = await _json(request)
        if body is None:
            return _bad("body is a JSON object")
        try:
            return handler(_slack(request), body)
        except SlackError as err:
            return _bad(err.code)

    return endpoint


async def _subscribe(request: Request) -> Response:
    """``{"url", "signing_secret"?, "client_id"?, "events"?}``: the app's Event Subscriptions."""
    body = await _json(request)
    slack = _slack(request)
    if body is None or not isinstance(body.get("url"), str) or not body["url"].startswith("http"):
        return _bad("url is required (http or https)")
    secret = body.get("signing_secret") or slack.signing_secret
    events = body.get("events") or ["message", "app_mention", "reaction_added"]
    if not isinstance(secret, str) or not isinstance(events, list):
        return _bad("signing_secret is a string, events a list")
    app = slack.app(str(body.get("client_id") or "hub-sim-demo"))
    delivery = await slack.subscribe(app, body["url"], secret, tuple(str(e) for e in events))
    verified = app.client_id in slack.subscriptions and slack.subscriptions[app.client_id].url == body["url"]
    answer = {"verified": verified, "app_id": app.app_id, "bot_user_id": app.bot_user_id}
    answer.update(bot_id=app.bot_id, events=events, delivery=delivery.view())
    return JSONResponse(answer, status_code=200 if verified else 422)


def _post_as_person(slack: SlackSimulator, body: dict[str, Any]) -> Response:
    """``{"channel", "text", "user"?, "thread_ts"?}``: a person posts (events follow)."""
    user = str(body.get("user") or "U0SIMHUMAN1")
    if user not in slack.people:
        return _bad(f"no person {user}; one of {sorted(slack.people)}")
    channel = slack.channel_for(body.get("channel") or "C0SIMGENERAL", Caller(user, so.App("-"), False))
    text = body.get("text")
    if not isinstance(text, str) or not text:
        return _bad("text is a non-empty string")
    thread_ts = body.get("thread_ts")
    if thread_ts is not None and thread_ts not in channel.messages:
        return _bad(f"no message {thread_ts} in {channel.id}")
    item = slack.post(channel, text, user, thread_ts=thread_ts)
    return JSONResponse({"channel": channel.id, "ts": item.ts, "message": so.message(item)}, 201)


def _add_channel(slack: SlackSimulator, body: dict[str, Any]) -> Response:
    """``{"name", "private"?: false, "archived"?: false}``."""
    name = body.get("name")
    if not isinstance(name, str) or not re.fullmatch(r"[a-z0-9][a-z0-9_-]{0,79}", name):
        return _bad("name is a lower-case channel name")
    private = bool(body.get("private"))
    cid = ("G" if private else "C") + f"0SIM{len(slack.channels):06d}"
    members = set(slack.people) | {a.bot_user_id for a in slack.apps.values()}
    channel = so.Channel(cid, name, private, archived=bool(body.get("archived")), members=members)
    slack.channels[cid] = channel
    return JSONResponse({"id": cid, "name": name}, status_code=201)


def _set_rate_limit(slack: SlackSimulator, body: dict[str, Any]) -> Response:
    """``{"method": "chat.postMessage", "limit": 2}``: the method's per-minute limit, usage reset."""
    method, limit = body.get("method"), body.get("limit")
    if method not in METHOD_TIERS or not isinstance(limit, int) or isinstance(limit, bool) or limit < 0:
        return _bad(f"method is one of {sorted(METHOD_TIERS)}, limit a non-negative integer")
    slack.limits[method] = limit
    slack.windows = {k: v for k, v in slack.windows.items() if k[1] != method}
    return JSONResponse({"method": method, "limit": limit})


def _add_token(slack: SlackSimulator, body: dict[str, Any]) -> Response:
    """``{"token": "xoxb-…", "name": "mybot"}``: a bot token of a hand-installed app."""
    token = body.get("token")
    if not isinstance(token, str) or not token.startswith("xoxb-") or len(token) < 16:
        return _bad("token is an xoxb- bot token")
    slack.add_pat(token, str(body.get("name") or "manualbot"))
    caller = slack.bot_tokens[token]
    return JSONResponse({"bot_user_id": caller.user, "app_id": caller.app.app_id}, status_code=201)


async def _drain(request: Request) -> Response:
    """Wait until every event the simulator has queued was attempted."""
    await _slack(request).outbox.drain()
    return Response(status_code=204)


__all__ = ["AnswerViolation", "SlackSimulator"]
