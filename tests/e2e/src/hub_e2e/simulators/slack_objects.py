"""Slack's objects as its Web API and Events API describe them (``slack-web-api.json``'s
``objs_conversation``, ``objs_message``, ``objs_user``, ``objs_bot_profile``; the Events API's
event wrapper), built from the Slack simulator's state. The connector's contract tests use them
as realistic answers, so both sides are held to the descriptions by one set of builders.
"""

from __future__ import annotations

import secrets
import string
import time
from dataclasses import dataclass, field
from typing import Any

from hub_e2e.simulators.crypto import stable_number

TEAM_ID = "T0SIMTEAM"
TEAM_NAME = "Simulated Team"
TEAM_URL = "https://simulated-team.slack.com/"
_last_micros = [0]


def user_id(subject: str) -> str:
    """A person's user id (the subject who approved the OAuth flow), as the Slack flavor names it."""
    return f"U{stable_number('slack-user', subject):08d}"


def bot_user_id(client_id: str) -> str:
    return f"U{stable_number('slack-bot', client_id):08d}"


def bot_id(client_id: str) -> str:
    return f"B{stable_number('slack-bot-id', client_id):08d}"


def app_id(client_id: str) -> str:
    return f"A{stable_number('app', client_id):08d}"


def new_ts() -> str:
    """A message timestamp, unique within the process (Slack: ``0123456789.012345``)."""
    micros = max(int(time.time() * 1_000_000), _last_micros[0] + 1)
    _last_micros[0] = micros
    return f"{micros // 1_000_000:010d}.{micros % 1_000_000:06d}"


def event_id() -> str:
    return "Ev" + "".join(secrets.choice(string.ascii_uppercase + string.digits) for _ in range(10))


@dataclass
class App:
    """A Slack app installed in the team: its ids, from the OAuth client id."""

    client_id: str
    name: str = "simbot"

    @property
    def app_id(self) -> str:
        return app_id(self.client_id)

    @property
    def bot_user_id(self) -> str:
        return bot_user_id(self.client_id)

    @property
    def bot_id(self) -> str:
        return bot_id(self.client_id)


@dataclass
class Message:
    ts: str
    text: str
    user: str
    bot: App | None = None  # posted with this app's bot token
    blocks: list[dict[str, Any]] | None = None
    thread_ts: str | None = None
    replies: list[str] = field(default_factory=list)  # ts of the replies (a parent message)
    reactions: dict[str, list[str]] = field(default_factory=dict)  # name -> users
    edited: bool = False


@dataclass
class Channel:
    id: str
    name: str
    private: bool = False
    archived: bool = False
    topic: str = ""
    purpose: str = ""
    created: int = field(default_factory=lambda: int(time.time()) - 86_400)
    creator: str = "U0SIMADMIN"
    members: set[str] = field(default_factory=set)
    messages: dict[str, Message] = field(default_factory=dict)

    def thread(self, parent_ts: str) -> list[Message]:
        parent = self.messages.get(parent_ts)
        if parent is None or parent.thread_ts not in (None, parent.ts):
            return []
        return [parent, *(self.messages[ts] for ts in parent.replies if ts in self.messages)]


def conversation(channel: Channel, member: str | None) -> dict[str, Any]:
    """``objs_conversation`` (a channel or a private channel)."""

    def about(value: str) -> dict[str, Any]:
        return {"value": value, "creator": channel.creator if value else "", "last_set": 0}

    return {
        "id": channel.id,
        "name": channel.name,
        "name_normalized": channel.name,
        "created": channel.created,
        "creator": channel.creator,
        "is_archived": channel.archived,
        "is_channel": not channel.private,
        "is_group": channel.private,
        "is_general": channel.name == "general",
        "is_im": False,
        "is_mpim": False,
        "is_private": channel.private,
        "is_shared": False,
        "is_org_shared": False,
        "is_ext_shared": False,
        "is_pending_ext_shared": False,
        "is_member": member in channel.members if member else False,
        "num_members": len(channel.members),
        "pending_shared": [],
        "previous_names": [],
        "topic": about(channel.topic),
        "purpose": about(channel.purpose),
    }


def bot_profile(app: App) -> dict[str, Any]:
    icon = "https://a.slack-edge.com/80588/img/plugins/app/bot_36.png"
    return {
        "id": app.bot_id,
        "app_id": app.app_id,
        "name": app.name,
        "deleted": False,
        "updated": 1_700_000_000,
        "team_id": TEAM_ID,
        "icons": {"image_36": icon, "image_48": icon, "image_72": icon},
    }


def message(item: Message, *, with_blocks: bool = True) -> dict[str, Any]:
    """``objs_message``, as chat.postMessage and conversations.replies answer it."""
    out: dict[str, Any] = {"type": "message", "ts": item.ts, "text": item.text, "user": item.user}
    out["team"] = TEAM_ID
    if item.bot is not None:
        out["bot_id"] = item.bot.bot_id
        out["bot_profile"] = bot_profile(item.bot)
    if item.blocks and with_blocks:
        out["blocks"] = item.blocks
    if item.thread_ts:
        out["thread_ts"] = item.thread_ts
    if item.replies:
        out["reply_count"] = len(item.replies)
    if item.reactions:
        out["reactions"] = [
            {"name": name, "users": users, "count": len(users)} for name, users in item.reactions.items()
        ]
    return out


def reply(item: Message, parent: Message) -> dict[str, Any]:
    """A message of a conversations.replies answer (parent or reply)."""
    out: dict[str, Any] = {"type": "message", "ts": item.ts, "text": item.text, "user": item.user}
    if item.thread_ts:
        out["thread_ts"] = item.thread_ts
    if item is parent and parent.replies:
        out["reply_count"] = len(parent.replies)
    elif item is not parent:
        out["parent_user_id"] = parent.user
    if item.bot is not None:
        out["bot_id"] = item.bot.bot_id
    return out


def user(uid: str, name: str, *, is_bot: bool = False, app: App | None = None) -> dict[str, Any]:
    """``objs_user`` (a non-enterprise user)."""
    display = name.replace("-", " ").title()
    profile: dict[str, Any] = {
        "avatar_hash": "g0000000000a",
        "display_name": name,
        "display_name_normalized": name,
        "real_name": display,
        "real_name_normalized": display,
        "status_text": "",
        "status_emoji": "",
        "status_expiration": 0,
        "team": TEAM_ID,
        "title": "",
        "phone": "",
        "skype": "",
        "fields": None,
        "image_24": "https://secure.gravatar.com/avatar/0.jpg",
        "image_32": "https://secure.gravatar.com/avatar/0.jpg",
        "image_48": "https://secure.gravatar.com/avatar/0.jpg",
        "image_72": "https://secure.gravatar.com/avatar/0.jpg",
        "image_192": "https://secure.gravatar.com/avatar/0.jpg",
        "image_512": "https://secure.gravatar.com/avatar/0.jpg",
    }
    if not is_bot:
        profile["email"] = f"{name}@example.test"
    if app is not None:
        profile["bot_id"] = app.bot_id
        profile["api_app_id"] = app.app_id
        profile["always_active"] = False
    return {
        "id": uid,
        "team_id": TEAM_ID,
        "name": name,
        "deleted": False,
        "color": "9f69e7",
        "real_name": display,
        "tz": "Europe/Berlin",
        "tz_label": "Central European Time",
        "tz_offset": 3600,
        "profile": profile,
        "is_admin": False,
        "is_owner": False,
        "is_primary_owner": False,
        "is_restricted": False,
        "is_ultra_restricted": False,
        "is_bot": is_bot,
        "is_app_user": False,
        "updated": 1_700_000_000,
        "has_2fa": False,
    }


def envelope(app: App, event: dict[str, Any], *, token: str) -> dict[str, Any]:
    """An Events API ``event_callback`` for ``app`` (the common event wrapper)."""
    event = {**event, "event_ts": event.get("event_ts") or event.get("ts") or new_ts()}
    return {
        "token": token,
        "team_id": TEAM_ID,
        "api_app_id": app.app_id,
        "event": event,
        "type": "event_callback",
        "event_id": event_id(),
        "event_time": int(time.time()),
        "authed_users": [app.bot_user_id],
        "authorizations": [
            {
                "enterprise_id": None,
                "team_id": TEAM_ID,
                "user_id": app.bot_user_id,
                "is_bot": True,
                "is_enterprise_install": False,
            }
        ],
        "is_ext_shared_channel": False,
        "event_context": "4-" + secrets.token_urlsafe(24),
    }


def message_event(channel: Channel, item: Message, *, subtype: str | None = None) -> dict[str, Any]:
    """The ``message`` event Slack sends for a new message (``channel_type: channel``)."""
    event: dict[str, Any] = {
        "type": "message",
        "channel": channel.id,
        "channel_type": "group" if channel.private else "channel",
        "user": item.user,
        "text": item.text,
        "ts": item.ts,
        "team": TEAM_ID,
    }
    if subtype:
        event["subtype"] = subtype
    if item.thread_ts:
        event["thread_ts"] = item.thread_ts
    if item.bot is not None:
        event["bot_id"] = item.bot.bot_id
        event["app_id"] = item.bot.app_id
        event["bot_profile"] = bot_profile(item.bot)
    if item.blocks:
        event["blocks"] = item.blocks
    return event


def mention_event(channel: Channel, item: Message) -> dict[str, Any]:
    event = {"type": "app_mention", "channel": channel.id, "user": item.user, "text": item.text}
    event.update({"ts": item.ts, "team": TEAM_ID})
    if item.thread_ts:
        event["thread_ts"] = item.thread_ts
    return event


def reaction_event(channel: Channel, item: Message, who: str, name: str) -> dict[str, Any]:
    return {
        "type": "reaction_added",
        "user": who,
        "reaction": name,
        "item_user": item.user,
        "item": {"type": "message", "channel": channel.id, "ts": item.ts},
        "event_ts": new_ts(),
    }
