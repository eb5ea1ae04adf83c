"""The Slack simulator (``hub-sim slack``) as a real process: OAuth v2 quirks (bot token at the top,
user token under ``authed_user``, opt-in rotation), the Web API methods the connector calls
(checked against slack-web-api.json by the simulator itself), ``ok: false`` errors, per-method
rate limits, cursor pagination, and the Events API signed as Slack signs it (url_verification
first, payloads checked against the Events API description)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from hub_connector_sdk import verify_webhook
from hub_connector_sdk.testkit import spec_file
from hub_e2e.receiver import WebhookReceiver
from hub_e2e.simulators.runner import ProviderSim

pytestmark = pytest.mark.component  # the simulator alone: no hub service (docs/testing.md)
CALLBACK = "http://127.0.0.1:9/v1/oauth/callback"  # never contacted: the tests read the redirect
CLIENT = {
    "client_id": "1234.5678",
    "client_secret": "slack-sim-secret-0123456789",
    "redirect_uris": [CALLBACK],
}
BOT = "xoxb-simulatedBotToken-000000000001"
SECRET = "e2e-slack-signing-secret-0000000001"


@pytest.fixture(scope="module")
def sim() -> Iterator[ProviderSim]:
    if spec_file("slack-web-api.json") is None:
        pytest.skip("slack-web-api.json not available (HUB_SPECS_DIR)")
    with ProviderSim(provider="slack", clients=[CLIENT], pats={BOT: "manualbot"}) as running:
        yield running


def call(sim: ProviderSim, method: str, token: str = BOT, **form: str) -> httpx.Response:
    verb = "GET" if method.startswith(("conversations.", "users.", "auth.")) else "POST"
    headers = {"Authorization": f"Bearer {token}"}
    if verb == "GET":
        return httpx.get(f"{sim.url}/api/{method}", params=form, headers=headers, timeout=10)
    return httpx.post(f"{sim.url}/api/{method}", data=form, headers=headers, timeout=10)


def oauth(sim: ProviderSim, **extra: str) -> dict:
    params = {"client_id": CLIENT["client_id"], "redirect_uri": CALLBACK, "scope": "chat:write,channels:read"}
    authorize = httpx.get(
        f"{sim.url}/oauth/v2/authorize", params={**params, "state": "s1", "response_type": "code", **extra}
    )
    assert authorize.status_code == 302, authorize.text
    code = parse_qs(urlsplit(authorize.headers["location"]).query)["code"][0]
    answer = httpx.post(
        f"{sim.url}/api/oauth.v2.access",
        data={"code": code, "redirect_uri": CALLBACK},
        auth=(CLIENT["client_id"], CLIENT["client_secret"]),
    )
    assert answer.status_code == 200, answer.text
    return answer.json()


def echo_challenge(body: bytes) -> bytes:
    payload = json.loads(body)
    return json.dumps({"challenge": payload["challenge"]}).encode() if "challenge" in payload else b""


def test_banner_and_description_checks(sim):
    banner = sim.log_path.read_text()
    assert f"hub-sim slack: http://127.0.0.1:{sim.port}" in banner
    assert f"token endpoint:         http://127.0.0.1:{sim.port}/api/oauth.v2.access" in banner
    assert "checked against slack-web-api.json" in banner
    info = sim.info()
    assert info["spec_checked"] and info["webhook_payloads_checked"]
    assert info["api_base_urls"] == [f"{sim.url}/api"]


def test_oauth_v2_bot_and_user_tokens_then_the_web_api(sim):
    body = oauth(sim, user_scope="search:read")
    assert body["ok"] is True and body["token_type"] == "bot" and body["access_token"].startswith("xoxb-")
    assert body["authed_user"]["access_token"].startswith("xoxp-") and body["team"]["id"] == "T0SIMTEAM"
    assert "refresh_token" not in body and "expires_in" not in body  # rotation is opt-in
    me = call(sim, "auth.test", body["access_token"]).json()
    assert me["ok"] and me["user_id"] == body["bot_user_id"] and me["bot_id"].startswith("B")
    person = call(sim, "auth.test", body["authed_user"]["access_token"]).json()
    assert person["user_id"] == body["authed_user"]["id"] and "bot_id" not in person


def test_token_rotation_when_switched_on():
    if spec_file("slack-web-api.json") is None:
        pytest.skip("slack-web-api.json not available (HUB_SPECS_DIR)")
    with ProviderSim(provider="slack", clients=[CLIENT], settings={"issue_refresh_tokens": True}) as rotating:
        body = oauth(rotating)
        assert body["access_token"].startswith("xoxe.xoxb-1-") and body["expires_in"] == 43200
        refreshed = httpx.post(
            f"{rotating.url}/api/oauth.v2.access",
            data={"grant_type": "refresh_token", "refresh_token": body["refresh_token"]},
            auth=(CLIENT["client_id"], CLIENT["client_secret"]),
        ).json()
        assert refreshed["ok"] and refreshed["refresh_token"] != body["refresh_token"]
        assert call(rotating, "auth.test", refreshed["access_token"]).json()["ok"] is True
        again = httpx.post(
            f"{rotating.url}/api/oauth.v2.access",
            data={"grant_type": "refresh_token", "refresh_token": body["refresh_token"]},
            auth=(CLIENT["client_id"], CLIENT["client_secret"]),
        )
        assert again.status_code == 200 and again.json() == {"ok": False, "error": "invalid_refresh_token"}


def test_messages_threads_reactions_and_ok_false_errors(sim):
    posted = call(sim, "chat.postMessage", channel="C0SIMGENERAL", text="Deploy done").json()
    assert posted["ok"] and posted["message"]["bot_id"] and posted["message"]["text"] == "Deploy done"
    ts = posted["ts"]
    blocks = json.dumps([{"type": "section", "text": {"type": "mrkdwn", "text": "*bold*"}}])
    reply = call(sim, "chat.postMessage", channel="C0SIMGENERAL", text="details", thread_ts=ts, blocks=blocks)
    assert (
        reply.json()["message"]["thread_ts"] == ts
        and reply.json()["message"]["blocks"][0]["type"] == "section"
    )
    updated = call(sim, "chat.update", channel="C0SIMGENERAL", ts=ts, text="Deploy done (v2)").json()
    assert updated["ok"] and updated["text"] == "Deploy done (v2)"
    assert call(sim, "reactions.add", channel="C0SIMGENERAL", timestamp=ts, name="rocket").json() == {
        "ok": True
    }
    again = call(sim, "reactions.add", channel="C0SIMGENERAL", timestamp=ts, name="rocket")
    assert again.status_code == 200 and again.json() == {"ok": False, "error": "already_reacted"}
    thread = call(sim, "conversations.replies", channel="C0SIMGENERAL", ts=ts).json()
    assert [m["text"] for m in thread["messages"]] == ["Deploy done (v2)", "details"]
    missing = call(sim, "chat.postMessage", channel="C0NOSUCHCHAN", text="x").json()
    assert missing == {"ok": False, "error": "channel_not_found"}
    assert call(sim, "auth.test", "xoxb-unknown-token-000000").json() == {
        "ok": False,
        "error": "invalid_auth",
    }
    assert httpx.get(f"{sim.url}/api/auth.test").json() == {"ok": False, "error": "not_authed"}


def test_a_request_the_description_refuses_is_invalid_arg_name(sim):
    refused = call(sim, "reactions.add", channel="C0SIMGENERAL", name="x")  # no timestamp
    assert refused.json() == {"ok": False, "error": "invalid_arg_name"}
    assert "timestamp" in refused.headers["x-slack-sim-problems"]


def test_cursor_pagination_and_users(sim):
    for i in range(3):
        assert httpx.post(f"{sim.url}/_sim/slack/channels", json={"name": f"page-{i}"}).status_code == 201
    seen: list[str] = []
    cursor = ""
    for _ in range(10):
        page = call(sim, "conversations.list", limit="2", cursor=cursor).json()
        seen += [c["id"] for c in page["channels"]]
        cursor = page["response_metadata"]["next_cursor"]
        if not cursor:
            break
    assert len(seen) == len(set(seen)) >= 5
    user = call(sim, "users.info", user="U0SIMHUMAN1").json()
    assert user["ok"] and user["user"]["name"] == "ada" and user["user"]["is_bot"] is False
    assert call(sim, "users.info", user="U0NOBODY00").json() == {"ok": False, "error": "user_not_found"}


def test_per_method_tier_limit_is_a_429_with_retry_after_for_that_method_only(sim):
    limited = httpx.post(f"{sim.url}/_sim/slack/rate-limit", json={"method": "users.info", "limit": 1})
    assert limited.status_code == 200
    assert call(sim, "users.info", user="U0SIMHUMAN1").json()["ok"] is True
    refused = call(sim, "users.info", user="U0SIMHUMAN1")
    assert refused.status_code == 429 and refused.json() == {"ok": False, "error": "ratelimited"}
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    assert call(sim, "auth.test").json()["ok"] is True  # another method's tier is untouched
    httpx.post(f"{sim.url}/_sim/slack/rate-limit", json={"method": "users.info", "limit": 100})


def test_event_subscription_verifies_the_url_then_delivers_signed_events(sim):
    with WebhookReceiver(reply=echo_challenge) as hooks:
        subscribed = httpx.post(
            f"{sim.url}/_sim/slack/events",
            json={"url": hooks.url, "signing_secret": SECRET, "client_id": "manual-install-manualbot"},
            timeout=15,
        )
        assert subscribed.status_code == 200 and subscribed.json()["verified"] is True, subscribed.text
        challenge = hooks.received[0]
        assert json.loads(challenge.body)["type"] == "url_verification"
        verify_webhook("slack-v0", SECRET, challenge.headers, challenge.body)
        person = httpx.post(
            f"{sim.url}/_sim/slack/messages",
            json={"channel": "C0SIMGENERAL", "text": f"hi <@{subscribed.json()['bot_user_id']}>"},
        )
        assert person.status_code == 201
        own = call(sim, "chat.postMessage", channel="C0SIMGENERAL", text="bot speaking").json()
        assert own["ok"]
        got = hooks.wait_for(4)  # challenge, message + app_mention, the bot's own message
    events = [json.loads(r.body) for r in got[1:]]
    for received in got[1:]:
        verify_webhook("slack-v0", SECRET, received.headers, received.body)
    kinds = sorted(e["event"]["type"] for e in events)
    assert kinds == ["app_mention", "message", "message"]
    assert all(e["type"] == "event_callback" and e["event_id"].startswith("Ev") for e in events)
    mine = next(e for e in events if e["event"].get("bot_id"))
    assert mine["event"]["app_id"] == mine["api_app_id"] and mine["event"]["text"] == "bot speaking"


def test_a_url_that_does_not_echo_the_challenge_is_not_subscribed(sim):
    with WebhookReceiver() as hooks:
        refused = httpx.post(f"{sim.url}/_sim/slack/events", json={"url": hooks.url}, timeout=15)
    assert refused.status_code == 422 and refused.json()["verified"] is False


def test_sim_webhooks_sends_a_named_event_signed_like_slack(sim):
    with WebhookReceiver() as hooks:
        delivery = sim.send_webhook("reaction_added", hooks.url, secret=SECRET, reaction="eyes")
        (got,) = hooks.wait_for(1)
    assert delivery["status_code"] == 200
    verified = verify_webhook("slack-v0", SECRET, got.headers, got.body)
    assert verified.timestamp is not None
    assert json.loads(got.body)["event"]["reaction"] == "eyes"
