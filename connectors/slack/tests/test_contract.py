"""Every Slack action's requests validate against slack-web-api.json (the SDK's contract harness,
with Slack's token and ``ok: false`` conventions: ``conftest.SlackContract``), and the stubbed
answers too; HTTP-200 ``ok: false`` is an action error with Slack's code; a rate limit is
``provider_rate_limited`` with the method's Retry-After; list actions follow
``response_metadata.next_cursor``."""

from __future__ import annotations

import json
from typing import Any

import pytest

from hub_connector_sdk.testkit import GatewayStub, StubRequest, run_action, run_health_check
from hub_connector_slack import SlackBotTokenConnector, SlackConnector
from hub_e2e.simulators import slack_objects as so

pytestmark = pytest.mark.unit
APP = so.App("1234.5678")
GENERAL = so.Channel("C0SIMGENERAL", "general", members={APP.bot_user_id})
TS = "1503435956.000247"


def posted(req: StubRequest, *, thread_ts: str | None = None) -> dict[str, Any]:
    form = {k: v[0] for k, v in (req.form or {}).items()}
    blocks = json.loads(form["blocks"]) if "blocks" in form else None
    item = so.Message(TS, form.get("text", ""), APP.bot_user_id, bot=APP, blocks=blocks, thread_ts=thread_ts)
    channel = GENERAL.id if form["channel"] == "#general" else form["channel"]  # Slack answers the id
    return {"ok": True, "channel": channel, "ts": TS, "message": so.message(item)}


async def act(stub: GatewayStub, action_id: str, params: dict[str, Any], connector=SlackConnector) -> Any:
    result = await run_action(connector, action_id, params, stub=stub)
    assert result.success, result
    return result.data


async def test_send_message_posts_a_form_to_chat_post_message(stub):
    stub.route("POST", "/chat.postMessage", posted)
    data = await act(stub, "send_message", {"channel": "C0SIMGENERAL", "text": "Deploy *done*"})
    assert data == {
        "channel": "C0SIMGENERAL",
        "ts": TS,
        "thread_ts": None,
        "text": "Deploy *done*",
        "user": APP.bot_user_id,
        "bot_id": APP.bot_id,
        "reply_count": None,
    }
    (call,) = stub.calls
    assert call.headers["content-type"] == "application/x-www-form-urlencoded"
    assert call.form == {"channel": ["C0SIMGENERAL"], "text": ["Deploy *done*"]}


async def test_send_message_in_a_thread_with_block_kit_text(stub):
    stub.route("POST", "/chat.postMessage", lambda req: posted(req, thread_ts="1503435900.000100"))
    long_text = "line\n" * 700  # 3,500 characters: two section blocks
    data = await act(
        stub,
        "send_message",
        {
            "channel": "#general",
            "text": long_text,
            "thread_ts": "1503435900.000100",
            "reply_broadcast": True,
            "as_blocks": True,
        },
    )
    assert data["thread_ts"] == "1503435900.000100"
    form = stub.calls[0].form or {}
    assert form["thread_ts"] == ["1503435900.000100"] and form["reply_broadcast"] == ["true"]
    blocks = json.loads(form["blocks"][0])
    assert [b["type"] for b in blocks] == ["section", "section"]
    assert all(b["text"]["type"] == "mrkdwn" and len(b["text"]["text"]) <= 3000 for b in blocks)
    assert "".join(b["text"]["text"] for b in blocks).replace("\n", "") == long_text.replace("\n", "")


async def test_send_message_with_blocks_given(stub):
    stub.route("POST", "/chat.postMessage", posted)
    blocks = [{"type": "header", "text": {"type": "plain_text", "text": "Issue opened"}}]
    await act(stub, "send_message", {"channel": "C0SIMGENERAL", "text": "Issue opened", "blocks": blocks})
    assert json.loads((stub.calls[0].form or {})["blocks"][0]) == blocks


async def test_reply_in_thread(stub):
    stub.route("POST", "/chat.postMessage", lambda req: posted(req, thread_ts="1503435900.000100"))
    data = await act(
        stub, "reply_in_thread", {"channel": "C0SIMGENERAL", "thread_ts": "1503435900.000100", "text": "ack"}
    )
    assert data["thread_ts"] == "1503435900.000100"
    assert (stub.calls[0].form or {})["thread_ts"] == ["1503435900.000100"]


async def test_update_message(stub):
    answer = {"ok": True, "channel": "C0SIMGENERAL", "ts": TS, "text": "v2", "message": {"text": "v2"}}
    stub.route("POST", "/chat.update", answer)
    data = await act(stub, "update_message", {"channel": "C0SIMGENERAL", "ts": TS, "text": "v2"})
    assert data["text"] == "v2" and data["ts"] == TS
    assert (stub.calls[0].form or {})["ts"] == [TS]


async def test_add_reaction_strips_colons(stub):
    stub.route("POST", "/reactions.add", {"ok": True})
    data = await act(stub, "add_reaction", {"channel": "C0SIMGENERAL", "timestamp": TS, "name": ":rocket:"})
    assert data == {"channel": "C0SIMGENERAL", "timestamp": TS, "name": "rocket"}
    assert (stub.calls[0].form or {})["name"] == ["rocket"]


async def test_list_channels_follows_next_cursor(stub):
    channels = [so.Channel(f"C0SIMPAGE{i:03d}", f"page-{i}", members={APP.bot_user_id}) for i in range(5)]

    def page(req: StubRequest) -> dict[str, Any]:
        start = int(req.param("cursor") or 0)
        chunk = channels[start : start + 2]
        cursor = str(start + 2) if start + 2 < len(channels) else ""
        return {
            "ok": True,
            "channels": [so.conversation(c, APP.bot_user_id) for c in chunk],
            "response_metadata": {"next_cursor": cursor},
        }

    stub.route("GET", "/conversations.list", page)
    data = await act(stub, "list_channels", {"limit": 2, "types": ["public_channel", "private_channel"]})
    assert [c["id"] for c in data["channels"]] == [c.id for c in channels]
    assert data["truncated"] is False and data["channels"][0]["is_member"] is True
    assert [c.param("cursor") for c in stub.calls] == [None, "2", "4"]
    assert stub.calls[0].param("types") == "public_channel,private_channel"
    assert stub.calls[0].param("exclude_archived") == "true"


async def test_list_channels_stops_at_max_items_and_says_truncated(stub):
    many = [so.conversation(so.Channel(f"C0SIMMANY{i:03d}", f"c{i}"), None) for i in range(3)]
    stub.route(
        "GET",
        "/conversations.list",
        {"ok": True, "channels": many, "response_metadata": {"next_cursor": "x"}},
    )
    data = await act(stub, "list_channels", {"max_items": 2})
    assert len(data["channels"]) == 2 and data["truncated"] is True
    assert len(stub.calls) == 1


async def test_list_replies(stub):
    parent = so.Message(TS, "parent", "U0SIMHUMAN1", thread_ts=TS, replies=["1503435957.000001"])
    child = so.Message("1503435957.000001", "child", APP.bot_user_id, bot=APP, thread_ts=TS)
    answer = {"ok": True, "has_more": False, "messages": [so.reply(parent, parent), so.reply(child, parent)]}
    stub.route("GET", "/conversations.replies", answer)
    data = await act(stub, "list_replies", {"channel": "C0SIMGENERAL", "thread_ts": TS})
    assert [m["text"] for m in data["messages"]] == ["parent", "child"] and data["messages"][0][
        "reply_count"
    ] == 1
    assert stub.calls[0].param("ts") == TS


async def test_get_user(stub):
    stub.route("GET", "/users.info", {"ok": True, "user": so.user("U0SIMHUMAN1", "ada")})
    data = await act(stub, "get_user", {"user": "U0SIMHUMAN1"})
    assert data["name"] == "ada" and data["is_bot"] is False and data["display_name"] == "ada"


async def test_ok_false_is_an_action_error_with_slacks_code(stub):
    stub.route("POST", "/chat.postMessage", {"ok": False, "error": "channel_not_found"})
    result = await run_action(
        SlackConnector, "send_message", {"channel": "C0NOSUCH00", "text": "x"}, stub=stub
    )
    assert result.success is False and result.error_code == "channel_not_found"
    assert result.status_code == 200 and "chat.postMessage" in (result.error_message or "")
    assert "channel_not_found" in (result.error_details or {})["provider_body"]


async def test_a_refused_token_is_an_error_with_slacks_code(stub):
    stub.route("POST", "/reactions.add", {"ok": False, "error": "invalid_auth"})
    params = {"channel": "C0SIMGENERAL", "timestamp": TS, "name": "eyes"}
    result = await run_action(SlackConnector, "add_reaction", params, stub=stub)
    assert result.success is False and result.error_code == "invalid_auth"


async def test_a_rate_limit_names_the_method_and_its_retry_after(stub):
    stub.route(
        "GET",
        "/users.info",
        status=429,
        json={"ok": False, "error": "ratelimited"},
        headers={"Retry-After": "17"},
    )
    stub.check_responses = False  # HTTP 429 is not in the description (Slack documents it in prose)
    result = await run_action(SlackConnector, "get_user", {"user": "U0SIMHUMAN1"}, stub=stub)
    assert result.success is False and result.error_code == "provider_rate_limited"
    assert result.retry_after_s == 17.0 and result.status_code == 429
    assert "users.info" in (result.error_message or "") and "tier4" in (result.error_message or "")


async def test_parameters_are_checked_before_any_call(stub):
    from hub_connector_sdk import InvalidParameters

    with pytest.raises(InvalidParameters):
        await run_action(
            SlackConnector,
            "add_reaction",
            {"channel": "C0SIMGENERAL", "timestamp": "yesterday", "name": "x"},
            stub=stub,
        )
    assert stub.calls == []


async def test_health_check_is_auth_test_and_names_the_workspace_and_bot(stub):
    body = {"ok": True, "url": so.TEAM_URL, "team": so.TEAM_NAME, "team_id": so.TEAM_ID}
    body.update(user="simbot", user_id=APP.bot_user_id, bot_id=APP.bot_id, is_enterprise_install=False)
    stub.route("GET", "/auth.test", body)
    health = await run_health_check(SlackConnector, stub=stub)
    assert health.is_healthy and health.account_info["id"] == so.TEAM_ID
    assert health.account_info["user_id"] == APP.bot_user_id and health.account_info["bot_id"] == APP.bot_id


@pytest.mark.parametrize("code", ["invalid_auth", "token_revoked", "not_authed"])
async def test_health_check_ok_false_with_a_credential_code_means_token_invalid(stub, code):
    stub.route("GET", "/auth.test", {"ok": False, "error": code})
    health = await run_health_check(SlackBotTokenConnector, stub=stub)
    assert (
        health.is_healthy is False and health.credentials_invalid is True and code in (health.message or "")
    )


async def test_health_check_an_expired_rotating_token_is_no_dead_credential(stub):
    """With token rotation an access token lives 12 h and is refreshed: token_expired fails the
    check without marking the connection token_invalid."""
    stub.route("GET", "/auth.test", {"ok": False, "error": "token_expired"})
    stub.check_responses = False  # token rotation (2021) postdates the description's error list
    health = await run_health_check(SlackConnector, stub=stub)
    assert health.is_healthy is False and health.credentials_invalid is False


def test_every_action_has_a_contract_test_here():
    tests = {name for name in globals() if name.startswith("test_")}
    for action_id in (a.id for a in SlackConnector.manifest().actions):
        assert any(action_id in name for name in tests), f"no contract test names {action_id}"
