"""``SlackConnector`` (OAuth v2: bot token, optional user token, optional token rotation) and
``SlackBotTokenConnector`` (a bot token pasted in).

Every call goes through the hub's gateway (``self.client``), which injects the token as
``Authorization: Bearer``; this code never sees a credential. Requests are form-encoded, as
Slack's Web API description (``slack-web-api.json``) documents them; Slack answers HTTP 200 with
``ok: false`` on errors, which become action errors with Slack's code (``errors.slack_error``).
A Slack-compatible server or the simulator: set the connection's ``base_url`` (and, for OAuth,
the ``oauth_*`` endpoints); the operator lists its host in ``HUB_SLACK_HOSTS``. See
docs/connectors/slack.md.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from hub_connector_sdk import (
    ApiSpec,
    AuthenticationMethod,
    AuthSpec,
    BaseConnector,
    ConnectorCategory,
    ConnectorError,
    ConnectorHealth,
    CredentialField,
    CredentialsRejected,
    Cursor,
    GatewayError,
    OAuthConfig,
    ProviderResponse,
    TriggerOutput,
    TriggerType,
    action,
    trigger,
)
from hub_connector_slack import events as ev
from hub_connector_slack.errors import CREDENTIAL_ERRORS, slack_error
from hub_connector_slack.models import (
    AddReaction,
    Channel,
    ChannelList,
    GetUser,
    ListChannels,
    ListReplies,
    Message,
    MessageList,
    Reaction,
    ReplyInThread,
    SendMessage,
    UpdateMessage,
    User,
)

API_BASE = "https://slack.com/api"
HOSTS_ENV = "HUB_SLACK_HOSTS"
MAX_PAGES = 20  # a bound on every list action
# Bot scopes for every action and trigger (a user token is asked for with the flow's user_scope).
BOT_SCOPES = [
    "chat:write",
    "reactions:write",
    "reactions:read",
    "channels:read",
    "groups:read",
    "channels:history",
    "groups:history",
    "app_mentions:read",
    "users:read",
]
_URL = {"type": "string", "format": "uri", "maxLength": 2048}
_ID = {"type": "string", "pattern": "^[A-Z0-9]{2,24}$"}


def extra_hosts() -> list[str]:
    """Hosts the operator allows a Slack connection to point at (``HUB_SLACK_HOSTS``,
    comma-separated ``host`` or ``host:port``): a Slack-compatible server, or the simulator."""
    raw = os.environ.get(HOSTS_ENV, "")
    return [h.strip().lower() for h in raw.split(",") if h.strip()]


def _config_schema(oauth: bool) -> dict[str, Any]:
    properties: dict[str, Any] = {
        "base_url": {**_URL, "description": "Web API base (default https://slack.com/api)"},
        "bot_user_id": {**_ID, "description": "the app's bot user (U…): its events fire no trigger"},
        "bot_id": {**_ID, "description": "the app's bot id (B…): its messages fire no trigger"},
    }
    if oauth:
        for key in ("authorization", "token", "revocation"):
            properties[f"oauth_{key}_url"] = {**_URL, "description": "a Slack-compatible server's endpoint"}
    return {"type": "object", "properties": properties, "additionalProperties": False}


def _api_spec(oauth: bool) -> ApiSpec:
    return ApiSpec(
        base_url=API_BASE,
        allowed_hosts=["slack.com", *extra_hosts()],
        config_schema=_config_schema(oauth),
    )


class SlackConnector(BaseConnector):
    id = "slack"
    name = "Slack"
    version = "1.0.0"
    min_hub_version = "0.1.0"
    category = ConnectorCategory.COMMUNICATION
    description = "Messages, threads, reactions and channels in a Slack workspace; Events API triggers."
    docs_url = "https://api.slack.com/web"
    builtin = True
    auth = AuthSpec(
        method=AuthenticationMethod.OAUTH2,
        oauth=OAuthConfig(
            authorization_url="https://slack.com/oauth/v2/authorize",
            token_url=f"{API_BASE}/oauth.v2.access",
            revocation_url=f"{API_BASE}/auth.revoke",
            revocation_style="slack",
            default_scopes=BOT_SCOPES,
            scope_separator=",",
            # PKCE makes a Slack app public (PROVIDERS.md): a confidential app does without.
            use_pkce=False,
            # oauth.v2.access: "supply them using the HTTP Basic authentication scheme".
            client_auth="client_secret_basic",
            # Token rotation is opt-in per app: with it, 12 h access tokens and a new refresh
            # token on each refresh; without it, tokens never expire and none is sent.
            refresh="rotating",
            profile="slack",
        ),
    )
    api = _api_spec(oauth=True)
    webhook_signature = "slack-v0"

    # -- calls --------------------------------------------------------------------------------------
    async def call(
        self, method: str, *, form: Mapping[str, Any] | None = None, query: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        """One Web API method: POST with a form body, or GET with a query; ``ok: false`` raises."""
        return (await self._request(method, form=form, query=query))[1]

    async def _request(
        self, method: str, *, form: Mapping[str, Any] | None = None, query: Mapping[str, Any] | None = None
    ) -> tuple[ProviderResponse, dict[str, Any]]:
        verb = "POST" if form is not None else "GET"
        resp = await self.client.request(
            verb,
            method,
            data=_form(form) if form is not None else None,
            params=_form(query) if query is not None else None,
            raise_for_status=False,
        )
        error = slack_error(method, resp)
        if error is not None:
            raise error
        body = resp.json()
        return resp, body if isinstance(body, dict) else {}

    async def _collect(
        self, method: str, query: dict[str, Any], key: str, limit: int
    ) -> tuple[list[Any], bool]:
        """Up to ``limit`` items of a cursor-paginated method (``response_metadata.next_cursor``),
        and whether more exist."""
        paginator = Cursor("cursor", "response_metadata.next_cursor", items=key)
        items: list[Any] = []
        params: dict[str, Any] | None = dict(query)
        more = False
        for _ in range(MAX_PAGES):
            if params is None:
                break
            resp, body = await self._request(method, query=params)
            page = body.get(key) or []
            items.extend(page)
            # An empty next_cursor is Slack's "last page"; the same cursor again stops too.
            params = paginator.next_params(resp, body, params, len(page))
            if len(items) >= limit:
                more = params is not None or len(items) > limit
                break
        else:
            more = params is not None
        return items[:limit], more

    # -- actions ------------------------------------------------------------------------------------
    @action(params=SendMessage, output=Message, scopes=["chat:write"])
    async def send_message(self, params: SendMessage) -> Message:
        """Post a message to a channel (chat.postMessage), optionally in a thread (thread_ts),
        with Block Kit blocks given or made from the text."""
        form: dict[str, Any] = {"channel": params.channel, **params.content()}
        if params.thread_ts:
            form["thread_ts"] = params.thread_ts
            if params.reply_broadcast:
                form["reply_broadcast"] = True
        if params.unfurl_links is not None:
            form["unfurl_links"] = params.unfurl_links
        return await self._post_message(form)

    @action(params=ReplyInThread, output=Message, scopes=["chat:write"])
    async def reply_in_thread(self, params: ReplyInThread) -> Message:
        """Reply in a message's thread (chat.postMessage with thread_ts)."""
        form: dict[str, Any] = {"channel": params.channel, "thread_ts": params.thread_ts, **params.content()}
        if params.reply_broadcast:
            form["reply_broadcast"] = True
        return await self._post_message(form)

    async def _post_message(self, form: dict[str, Any]) -> Message:
        body = await self.call("chat.postMessage", form=form)
        message = body.get("message") or {}
        channel = str(body.get("channel") or form["channel"])
        return Message.from_api({"ts": body.get("ts"), **message}, channel)

    @action(params=UpdateMessage, output=Message, scopes=["chat:write"], idempotent=True)
    async def update_message(self, params: UpdateMessage) -> Message:
        """Change the text (and blocks) of a message the app posted (chat.update)."""
        form = {"channel": params.channel, "ts": params.ts, **params.content()}
        body = await self.call("chat.update", form=form)
        message = body.get("message") or {}
        return Message.from_api(
            {"ts": body.get("ts") or params.ts, "text": body.get("text"), **message},
            str(body.get("channel") or params.channel),
        )

    @action(params=AddReaction, output=Reaction, scopes=["reactions:write"])
    async def add_reaction(self, params: AddReaction) -> Reaction:
        """Add an emoji reaction to a message (reactions.add)."""
        name = params.name.strip(":")
        await self.call(
            "reactions.add", form={"channel": params.channel, "timestamp": params.timestamp, "name": name}
        )
        return Reaction(channel=params.channel, timestamp=params.timestamp, name=name)

    @action(params=ListChannels, output=ChannelList, scopes=["channels:read"], idempotent=True)
    async def list_channels(self, params: ListChannels) -> ChannelList:
        """Conversations the app can see (conversations.list), following
        ``response_metadata.next_cursor`` up to ``max_items``."""
        query = {
            "types": ",".join(params.types),
            "exclude_archived": params.exclude_archived,
            "limit": min(params.limit, params.max_items),
        }
        items, more = await self._collect("conversations.list", query, "channels", params.max_items)
        return ChannelList(channels=[Channel.from_api(c) for c in items], truncated=more)

    @action(params=ListReplies, output=MessageList, scopes=["channels:history"], idempotent=True)
    async def list_replies(self, params: ListReplies) -> MessageList:
        """A thread: its parent message and replies (conversations.replies), paginated."""
        query = {
            "channel": params.channel,
            "ts": params.thread_ts,
            "limit": min(params.limit, params.max_items),
        }
        items, more = await self._collect("conversations.replies", query, "messages", params.max_items)
        return MessageList(messages=[Message.from_api(m, params.channel) for m in items], truncated=more)

    @action(params=GetUser, output=User, scopes=["users:read"], idempotent=True)
    async def get_user(self, params: GetUser) -> User:
        """A user's name, display name and whether it is a bot (users.info)."""
        body = await self.call("users.info", query={"user": params.user})
        return User.from_api(body.get("user") or {"id": params.user})

    # -- health ---------------------------------------------------------------------------------------
    async def health_check(self) -> ConnectorHealth:
        """``auth.test``: HTTP 200 with ``ok: false`` is a failure too (``invalid_auth``,
        ``token_revoked``... mean the credentials are refused)."""
        started = time.perf_counter()
        try:
            body = await self.call("auth.test", query={})
        except CredentialsRejected as exc:
            return self._health(False, started, exc.message, invalid=True)
        except GatewayError as exc:
            return self._health(False, started, exc.message, invalid=exc.code in CREDENTIAL_ERRORS)
        except ConnectorError as exc:
            return self._health(False, started, exc.message)
        return self._health(True, started, "ok", account=account_info(body))

    # -- triggers (Events API) -----------------------------------------------------------------------
    def webhook_event_name(self, headers: Mapping[str, str], payload: Any) -> str | None:
        if not isinstance(payload, dict) or payload.get("type") != "event_callback":
            return None  # url_verification is answered by the hub's intake; app_rate_limited fires nothing
        event_type = ev.event_of(payload).get("type")
        return str(event_type) if event_type else None

    def webhook_event_id(self, headers: Mapping[str, str], payload: Any) -> str | None:
        value = payload.get("event_id") if isinstance(payload, dict) else None
        return str(value) if value else None

    def webhook_occurred_at(self, headers: Mapping[str, str], payload: Any) -> datetime | None:
        return ev.occurred_at(payload)

    def own_identity(self) -> dict[str, str | None]:
        """The connection's bot, from its config (or the OAuth grant's metadata)."""
        sources = (self.context.config, self.context.metadata)
        return {
            key: next((str(s[key]) for s in sources if s.get(key)), None) for key in ("bot_user_id", "bot_id")
        }

    @trigger("message_posted", type=TriggerType.CREATED, events=["message"], payload=ev.MessagePosted)
    def on_message(self, event: str, payload: dict[str, Any]) -> TriggerOutput | None:
        """A message was posted in a channel the app is in (not edits or deletions; never the
        app's own messages)."""
        return None if ev.is_own(payload, self.own_identity()) else ev.message_posted(payload)

    @trigger("app_mention", type=TriggerType.CREATED, events=["app_mention"], payload=ev.AppMention)
    def on_app_mention(self, event: str, payload: dict[str, Any]) -> TriggerOutput | None:
        """Someone mentioned the app (@app) in a message."""
        return None if ev.is_own(payload, self.own_identity()) else ev.app_mention(payload)

    @trigger("reaction_added", type=TriggerType.CUSTOM, events=["reaction_added"], payload=ev.ReactionAdded)
    def on_reaction_added(self, event: str, payload: dict[str, Any]) -> TriggerOutput | None:
        """Someone added an emoji reaction to a message (not the app itself)."""
        return None if ev.is_own(payload, self.own_identity()) else ev.reaction_added(payload)


class SlackBotTokenConnector(SlackConnector):
    """The same connector with a bot token (``xoxb-…``) copied from the app's "OAuth & Permissions"
    page: for a single-workspace app installed by hand."""

    id = "slack_bot"
    name = "Slack (bot token)"
    description = "A Slack workspace through an app's bot token (xoxb-…) installed by hand."
    auth = AuthSpec(
        method=AuthenticationMethod.BEARER,
        fields=[
            CredentialField(
                key="token",
                label="Bot User OAuth Token",
                pattern=r"^xox[bp]-[A-Za-z0-9-]{10,250}$",
                description="Slack app settings → OAuth & Permissions → Bot User OAuth Token",
            )
        ],
    )
    api = _api_spec(oauth=False)


def account_info(body: Mapping[str, Any]) -> dict[str, str]:
    """Who the token is (auth.test): the workspace is the account; its bot user and bot id too."""
    info = {
        "id": body.get("team_id"),
        "name": body.get("team"),
        "team_id": body.get("team_id"),
        "url": body.get("url"),
        "user": body.get("user"),
        "user_id": body.get("user_id"),
        "bot_id": body.get("bot_id"),
    }
    return {k: str(v) for k, v in info.items() if v}


def _form(values: Mapping[str, Any]) -> dict[str, str]:
    """Form fields as Slack reads them: booleans as ``true``/``false``, None left out."""
    out: dict[str, str] = {}
    for key, value in values.items():
        if value is None:
            continue
        out[key] = ("true" if value else "false") if isinstance(value, bool) else str(value)
    return out
