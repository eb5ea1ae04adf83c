"""Action parameters and outputs of the Slack connector (their JSON Schemas are the manifest's).

Outputs are normalised (a stable subset of Slack's objects), so an automation does not depend on
the many optional fields Slack adds to a message or a conversation.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

# A channel id (C…, G…, D…) or, for chat.postMessage, a channel name (#general).
CHANNEL = r"^(#?[a-z0-9][a-z0-9._-]{0,79}|[CGD][A-Z0-9]{2,20})$"
# Slack message timestamps: "1503435956.000247".
TS = r"^\d{1,12}\.\d{1,8}$"
USER = r"^[UWB][A-Z0-9]{2,20}$"
EMOJI = r"^:?[a-z0-9_+'-]{1,100}:?$"
# Slack: "text" up to 40,000 characters; a section block's text up to 3,000; 50 blocks a message.
MAX_TEXT = 40_000
SECTION_TEXT = 3_000
MAX_BLOCKS = 50


class _Params(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _MessageContent(_Params):
    text: str = Field(
        min_length=1,
        max_length=MAX_TEXT,
        description="the message in Slack mrkdwn; also the notification text when blocks are sent",
    )
    blocks: list[dict[str, Any]] | None = Field(
        default=None,
        max_length=MAX_BLOCKS,
        description="Block Kit blocks sent as given (each an object with a 'type')",
    )
    as_blocks: bool = Field(
        default=False,
        description="render text as Block Kit section blocks (mrkdwn), split every 3,000 characters",
    )

    def content(self) -> dict[str, str]:
        """``text`` and, when there are blocks, ``blocks`` as the JSON string Slack's form API takes."""
        out = {"text": self.text}
        blocks = (
            self.blocks if self.blocks is not None else (text_blocks(self.text) if self.as_blocks else None)
        )
        if blocks is not None:
            out["blocks"] = json.dumps(blocks, separators=(",", ":"))
        return out


def text_blocks(text: str) -> list[dict[str, Any]]:
    """``text`` as mrkdwn section blocks, cut at line breaks where possible (Slack refuses a
    section text over 3,000 characters)."""
    pieces: list[str] = []
    rest = text
    while rest:
        if len(rest) <= SECTION_TEXT:
            pieces.append(rest)
            break
        cut = rest.rfind("\n", 0, SECTION_TEXT)
        cut = cut if cut > 0 else SECTION_TEXT
        pieces.append(rest[:cut])
        rest = rest[cut:].lstrip("\n")
    return [{"type": "section", "text": {"type": "mrkdwn", "text": p}} for p in pieces[:MAX_BLOCKS]]


class SendMessage(_MessageContent):
    channel: str = Field(pattern=CHANNEL, description="channel id (C…/G…/D…) or #name")
    thread_ts: str | None = Field(
        default=None, pattern=TS, description="reply in this message's thread (its ts)"
    )
    reply_broadcast: bool = Field(
        default=False, description="with thread_ts: also show the reply in the channel"
    )
    unfurl_links: bool | None = None


class ReplyInThread(_MessageContent):
    channel: str = Field(pattern=CHANNEL)
    thread_ts: str = Field(pattern=TS, description="the ts of the thread's parent message")
    reply_broadcast: bool = Field(default=False, description="also show the reply in the channel")


class UpdateMessage(_MessageContent):
    channel: str = Field(pattern=r"^[CGD][A-Z0-9]{2,20}$", description="channel id of the message")
    ts: str = Field(pattern=TS, description="the message's ts")


class AddReaction(_Params):
    channel: str = Field(pattern=r"^[CGD][A-Z0-9]{2,20}$")
    timestamp: str = Field(pattern=TS, description="the message's ts")
    name: str = Field(pattern=EMOJI, description="emoji name, with or without colons: thumbsup")


ChannelType = Literal["public_channel", "private_channel", "mpim", "im"]
PUBLIC: tuple[ChannelType, ...] = ("public_channel",)


class ListChannels(_Params):
    types: list[ChannelType] = Field(default_factory=lambda: list(PUBLIC), min_length=1, max_length=4)
    exclude_archived: bool = True
    max_items: int = Field(default=200, ge=1, le=2000)
    limit: int = Field(default=200, ge=1, le=1000, description="page size asked of Slack")


class ListReplies(_Params):
    channel: str = Field(pattern=r"^[CGD][A-Z0-9]{2,20}$")
    thread_ts: str = Field(pattern=TS, description="the thread's parent message ts")
    max_items: int = Field(default=200, ge=1, le=2000)
    limit: int = Field(default=200, ge=1, le=1000, description="page size asked of Slack")


class GetUser(_Params):
    user: str = Field(pattern=USER, description="user id (U…/W…)")


# -- outputs -----------------------------------------------------------------------------------------
class Message(BaseModel):
    channel: str
    ts: str
    thread_ts: str | None = None
    text: str | None = None
    user: str | None = None
    bot_id: str | None = None
    reply_count: int | None = None

    @classmethod
    def from_api(cls, item: dict[str, Any], channel: str) -> Message:
        return cls(
            channel=channel,
            ts=str(item.get("ts", "")),
            thread_ts=item.get("thread_ts"),
            text=item.get("text"),
            user=item.get("user"),
            bot_id=item.get("bot_id"),
            reply_count=item.get("reply_count"),
        )


class Reaction(BaseModel):
    channel: str
    timestamp: str
    name: str


class Channel(BaseModel):
    id: str
    name: str | None
    is_private: bool
    is_archived: bool
    is_member: bool | None
    num_members: int | None
    topic: str | None
    purpose: str | None
    created: int | None

    @classmethod
    def from_api(cls, item: dict[str, Any]) -> Channel:
        return cls(
            id=item["id"],
            name=item.get("name"),
            is_private=bool(item.get("is_private") or item.get("is_group")),
            is_archived=bool(item.get("is_archived")),
            is_member=item.get("is_member"),
            num_members=item.get("num_members"),
            topic=(item.get("topic") or {}).get("value") or None,
            purpose=(item.get("purpose") or {}).get("value") or None,
            created=item.get("created"),
        )


class ChannelList(BaseModel):
    channels: list[Channel]
    truncated: bool = Field(description="more channels exist than max_items")


class MessageList(BaseModel):
    messages: list[Message]
    truncated: bool = Field(description="more messages exist than max_items")


class User(BaseModel):
    id: str
    name: str | None
    real_name: str | None
    display_name: str | None
    is_bot: bool
    deleted: bool
    team_id: str | None
    tz: str | None

    @classmethod
    def from_api(cls, item: dict[str, Any]) -> User:
        profile = item.get("profile") or {}
        return cls(
            id=item["id"],
            name=item.get("name"),
            real_name=item.get("real_name") or profile.get("real_name"),
            display_name=profile.get("display_name") or None,
            is_bot=bool(item.get("is_bot")),
            deleted=bool(item.get("deleted")),
            team_id=item.get("team_id"),
            tz=item.get("tz"),
        )
