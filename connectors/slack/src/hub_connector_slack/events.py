"""Trigger payloads: Slack Events API deliveries normalised, with the event's own time, and the
connection's own bot kept out.

An Events API delivery is an envelope (``type: event_callback``, ``team_id``, ``api_app_id``,
``event_id``, ``event_time``, ``authorizations``) around one ``event``. The envelope's
``event_id`` is the event's identity (Slack retries carry the same one, so it is the dedupe key);
the time is the event's own ``ts`` (when the message was posted, the reaction added), else the
envelope's ``event_time``.

**Self-messages.** A message the connection's own app posted (``send_message``...) comes back as
a ``message`` event. Were it to fire ``message_posted``, an automation "on a message, post a
message" would loop forever. An event is the app's own when its ``app_id`` (or
``bot_profile.app_id``) is the envelope's ``api_app_id``, or when its ``bot_id``/``user`` is the
connection's bot (the connection config's ``bot_id``/``bot_user_id``, the OAuth grant's
``bot_user_id``, or an ``authorizations`` entry with ``is_bot``). Such events fire nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, Field

from hub_connector_sdk import TriggerOutput

# Message subtypes that are a new message someone posted; edits, deletions, joins... are not.
POSTED_SUBTYPES = frozenset({None, "thread_broadcast", "file_share", "me_message", "bot_message"})


class MessagePosted(BaseModel):
    team_id: str | None
    channel: str
    channel_type: str | None = Field(description="channel, group, im, mpim, app_home")
    ts: str
    thread_ts: str | None = Field(description="set when the message is in a thread")
    is_thread_reply: bool
    user: str | None
    bot_id: str | None
    subtype: str | None
    text: str


class AppMention(BaseModel):
    team_id: str | None
    channel: str
    ts: str
    thread_ts: str | None
    user: str | None
    text: str


class ReactionAdded(BaseModel):
    team_id: str | None
    user: str
    reaction: str
    item_type: str = Field(description="message, file or file_comment")
    channel: str | None
    item_ts: str | None = Field(description="ts of the message reacted to")
    item_user: str | None = Field(description="author of the item reacted to")


def event_of(payload: Any) -> dict[str, Any]:
    event = payload.get("event") if isinstance(payload, dict) else None
    return event if isinstance(event, dict) else {}


def slack_time(value: Any) -> datetime | None:
    """Slack's ``ts`` ("1503435956.000247") or ``event_time`` (epoch seconds) as a time."""
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        return None
    if not 0 < seconds < 32_503_680_000:  # before year 3000
        return None
    return datetime.fromtimestamp(seconds, UTC)


def occurred_at(payload: Any) -> datetime | None:
    event = event_of(payload)
    return slack_time(event.get("ts") or event.get("event_ts")) or slack_time(
        payload.get("event_time") if isinstance(payload, dict) else None
    )


def is_own(payload: Mapping[str, Any], own: Mapping[str, str | None]) -> bool:
    """Whether the event was caused by the connection's own app or bot (see module docstring)."""
    event = event_of(payload)
    app_id = payload.get("api_app_id")
    posted_by_app = event.get("app_id") or (event.get("bot_profile") or {}).get("app_id")
    if app_id and posted_by_app == app_id:
        return True
    bot_users = {own.get("bot_user_id")}
    for auth in payload.get("authorizations") or []:
        if isinstance(auth, dict) and auth.get("is_bot") and auth.get("user_id"):
            bot_users.add(str(auth["user_id"]))
    bot_users.discard(None)
    if event.get("user") in bot_users:
        return True
    return bool(own.get("bot_id")) and event.get("bot_id") == own.get("bot_id")


def _output(payload: dict[str, Any], body: BaseModel) -> TriggerOutput:
    event_id = payload.get("event_id")
    return TriggerOutput(
        payload=body.model_dump(mode="json"),
        event_id=str(event_id) if event_id else None,
        occurred_at=occurred_at(payload),
    )


def message_posted(payload: dict[str, Any]) -> TriggerOutput | None:
    event = event_of(payload)
    subtype = event.get("subtype")
    if subtype not in POSTED_SUBTYPES or event.get("hidden") or not event.get("channel"):
        return None
    thread_ts = event.get("thread_ts")
    body = MessagePosted(
        team_id=payload.get("team_id"),
        channel=event["channel"],
        channel_type=event.get("channel_type"),
        ts=str(event.get("ts") or event.get("event_ts")),
        thread_ts=thread_ts,
        is_thread_reply=bool(thread_ts) and thread_ts != event.get("ts"),
        user=event.get("user"),
        bot_id=event.get("bot_id"),
        subtype=subtype,
        text=str(event.get("text") or ""),
    )
    return _output(payload, body)


def app_mention(payload: dict[str, Any]) -> TriggerOutput | None:
    event = event_of(payload)
    if not event.get("channel"):
        return None
    body = AppMention(
        team_id=payload.get("team_id"),
        channel=event["channel"],
        ts=str(event.get("ts") or event.get("event_ts")),
        thread_ts=event.get("thread_ts"),
        user=event.get("user"),
        text=str(event.get("text") or ""),
    )
    return _output(payload, body)


def reaction_added(payload: dict[str, Any]) -> TriggerOutput | None:
    event = event_of(payload)
    raw_item = event.get("item")
    item: dict[str, Any] = raw_item if isinstance(raw_item, dict) else {}
    if not event.get("user") or not event.get("reaction"):
        return None
    body = ReactionAdded(
        team_id=payload.get("team_id"),
        user=event["user"],
        reaction=event["reaction"],
        item_type=str(item.get("type") or "message"),
        channel=item.get("channel"),
        item_ts=item.get("ts"),
        item_user=event.get("item_user"),
    )
    return _output(payload, body)
