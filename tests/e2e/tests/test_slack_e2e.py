"""Slack end to end: the built-in ``slack`` connector connected through the Slack simulator's OAuth
v2 pages (bot token, plus a user token through ``user_scope``; token rotation refreshed through the
oauth service), every action run through
connectors → gateway → simulator, Slack's ``ok: false`` reaching the action result, and the
Events API: a manual registration with Slack's steps, the signing secret stored, Slack's
``url_verification`` answered by the hub's intake, a person's message and mention firing
``integration.trigger-fired`` — and the app's own post, which Slack also delivers, firing nothing."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest

from hub_common.settings import HubSettings
from hub_common.testing.events import expect_events
from hub_common.web.auth import mint_user_token
from hub_e2e.provider_hub import provider_hub

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]  # five services start on a shared machine
TENANT = "e2e-slack"
CLIENT_ID, CLIENT_SECRET = "1234567890.0987654321", "e2e-slack-client-secret-0123456789"
SIGNING_SECRET = "e2e-slack-signing-secret-00000000"
BOT = "xoxb-e2eHandInstalledBotToken-0000001"


@pytest.fixture(scope="module")
def hub(hub_stack, module_dsn) -> Iterator[dict]:
    env = {
        # The simulator stands in for slack.com, a host the operator allows.
        "HUB_SLACK_HOSTS": "127.0.0.1",
        "HUB_WEBHOOKS_DELIVERY_OFFSET_RESET": "latest",
    }
    client, pats = (CLIENT_ID, CLIENT_SECRET), {BOT: "deploybot"}
    with provider_hub(
        hub_stack, module_dsn, "slack", env, spec="slack-web-api.json", client=client, pats=pats
    ) as running:
        yield running


def headers() -> dict[str, str]:
    token = mint_user_token(HubSettings(), tenant=TENANT, user="alice", tier="enterprise")
    return {"Authorization": f"Bearer {token}"}


def wait_active(hub, cid: str) -> dict:
    deadline = time.monotonic() + 30
    while True:
        body = httpx.get(f"{hub['connectors'].url}/v1/connections/{cid}", headers=headers()).json()
        if body.get("status") == "active":
            return body
        assert time.monotonic() < deadline, f"connection stayed {body.get('status')}: {body}"
        time.sleep(0.1)


def connect_oauth(hub) -> str:
    sim, connectors, oauth = hub["sim"], hub["connectors"], hub["oauth"]
    config = {
        "base_url": f"{sim.url}/api",
        "oauth_authorization_url": f"{sim.url}/oauth/v2/authorize",
        "oauth_token_url": f"{sim.url}/api/oauth.v2.access",
        "oauth_revocation_url": f"{sim.url}/api/auth.revoke",
    }
    created = httpx.post(
        f"{connectors.url}/v1/connections",
        headers=headers(),
        json={"connector_id": "slack", "name": f"slack {time.monotonic_ns()}", "config": config},
    )
    assert created.status_code == 201, created.text
    cid = created.json()["id"]
    app = httpx.put(
        f"{oauth.url}/v1/oauth/apps/slack",
        headers=headers(),
        json={"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET},
    )
    assert app.status_code in (200, 201), app.text
    flow = httpx.post(
        f"{oauth.url}/v1/oauth/flows",
        headers=headers(),
        json={"connection_id": cid, "additional_parameters": {"user_scope": "search:read"}},
    )
    assert flow.status_code == 201, flow.text
    with httpx.Client(follow_redirects=True, timeout=30) as browser:
        landed = browser.get(flow.json()["start_url"])
    assert landed.status_code == 200, landed.text
    (authorize,) = [r.url for r in landed.history if r.url.path == "/oauth/v2/authorize"]
    assert authorize.params["scope"].startswith("chat:write,")  # Slack's comma-separated scopes
    assert authorize.params["user_scope"] == "search:read"
    assert str(landed.url).startswith(f"{oauth.url}/v1/oauth/callback")
    active = wait_active(hub, cid)
    assert active["external_account_id"] == "T0SIMTEAM"  # the workspace, from oauth.v2.access
    return cid


def run(hub, cid: str, action: str, parameters: dict) -> dict:
    resp = httpx.post(
        f"{hub['connectors'].url}/v1/connections/{cid}/actions/{action}",
        headers=headers(),
        json={"parameters": parameters},
        timeout=60,
    )
    assert resp.status_code == 200, resp.text
    result = resp.json()
    assert result["success"] is True, result
    return result["data"]


def test_every_action_through_connectors_gateway_and_simulator(hub):
    cid = connect_oauth(hub)
    posted = run(
        hub,
        cid,
        "send_message",
        {"channel": "#general", "text": "Issue #42 opened: *crash on save*", "as_blocks": True},
    )
    assert posted["channel"] == "C0SIMGENERAL" and posted["bot_id"] and posted["text"].startswith("Issue #42")
    ts = posted["ts"]
    reply = run(
        hub, cid, "reply_in_thread", {"channel": "C0SIMGENERAL", "thread_ts": ts, "text": "Assigned to ada"}
    )
    assert reply["thread_ts"] == ts
    updated = run(
        hub, cid, "update_message", {"channel": "C0SIMGENERAL", "ts": ts, "text": "Issue #42 closed"}
    )
    assert updated["text"] == "Issue #42 closed"
    assert (
        run(
            hub, cid, "add_reaction", {"channel": "C0SIMGENERAL", "timestamp": ts, "name": "white_check_mark"}
        )["name"]
        == "white_check_mark"
    )
    thread = run(hub, cid, "list_replies", {"channel": "C0SIMGENERAL", "thread_ts": ts})
    assert [m["text"] for m in thread["messages"]] == ["Issue #42 closed", "Assigned to ada"]
    channels = run(hub, cid, "list_channels", {"limit": 1})  # two pages through the gateway
    assert {c["name"] for c in channels["channels"]} == {"general", "random"}
    person = run(hub, cid, "get_user", {"user": "U0SIMHUMAN1"})
    assert person["name"] == "ada" and person["is_bot"] is False


def test_ok_false_reaches_the_result_with_slacks_error_code(hub):
    cid = connect_oauth(hub)
    resp = httpx.post(
        f"{hub['connectors'].url}/v1/connections/{cid}/actions/send_message",
        headers=headers(),
        json={"parameters": {"channel": "C0NOSUCHCHAN", "text": "hello?"}},
        timeout=60,
    )
    result = resp.json()
    assert result["success"] is False and result["error_code"] == "channel_not_found", result
    assert result["status_code"] == 200 and "chat.postMessage" in result["error_message"]


async def test_manual_registration_url_verification_and_events_without_the_apps_own(hub, hub_stack):
    cid = connect_oauth(hub)
    sim, webhooks = hub["sim"], hub["webhooks"].url
    async with httpx.AsyncClient(headers=headers(), timeout=60) as api:
        created = await api.post(
            f"{webhooks}/v1/webhooks/registrations",
            json={"connection_id": cid, "trigger_ids": ["message_posted", "app_mention"], "mode": "manual"},
        )
        assert created.status_code == 201, created.text
        registration = created.json()
        assert registration["status"] == "pending_secret" and registration["secret"] is None
        assert any(registration["url"] in step for step in registration["steps"])
        assert "Signing Secret" in registration["steps"][0]
        stored = await api.put(
            f"{webhooks}/v1/webhooks/registrations/{registration['id']}/secret",
            json={"secret": SIGNING_SECRET},
        )
        assert stored.status_code == 200 and stored.json()["status"] == "active", stored.text

        # Slack's Event Subscriptions page: entering the Request URL sends the signed challenge.
        subscribed = await api.post(
            f"{sim.url}/_sim/slack/events",
            json={"url": registration["url"], "signing_secret": SIGNING_SECRET, "client_id": CLIENT_ID},
        )
        assert subscribed.status_code == 200 and subscribed.json()["verified"] is True, subscribed.text
        bot_user = subscribed.json()["bot_user_id"]

        async with expect_events(
            hub_stack.kafka_bootstrap,
            "integration.trigger-fired",
            match=lambda e: e["connection_id"] == cid,
            count=2,
            exact=True,
            timeout_s=60,
            settle_s=2.0,
        ) as fired:
            # The app posts (Slack delivers that message to the app too) ...
            own = run(hub, cid, "send_message", {"channel": "C0SIMGENERAL", "text": "I am the bot"})
            # ... then a person writes, mentioning the app.
            person = await api.post(
                f"{sim.url}/_sim/slack/messages",
                json={
                    "channel": "C0SIMGENERAL",
                    "text": f"<@{bot_user}> please deploy",
                    "user": "U0SIMHUMAN2",
                },
            )
            assert person.status_code == 201, person.text
            deliveries = sim.deliveries()  # all three attempted, so acknowledged durable by the intake
    by_trigger = {e.data["trigger_id"]: e.data for e in fired}
    assert set(by_trigger) == {"message_posted", "app_mention"}  # nothing for the bot's own post
    message = by_trigger["message_posted"]
    assert message["payload"]["user"] == "U0SIMHUMAN2" and message["payload"]["text"].endswith(
        "please deploy"
    )
    assert message["event_id"].startswith("Ev") and message["registration_id"] == registration["id"]
    assert by_trigger["app_mention"]["payload"]["channel"] == "C0SIMGENERAL"
    mine = [d for d in deliveries if d["request"]["payload"].get("event", {}).get("text") == "I am the bot"]
    assert [d["status_code"] for d in mine] == [200]  # delivered and accepted by the intake ...
    assert own["ts"] == mine[0]["request"]["payload"]["event"]["ts"]  # ... and parsed into nothing


def test_token_rotation_switched_on_refreshes_through_the_hub(hub):
    """An app with token rotation: 12-hour tokens and a refresh token; a refresh through the
    oauth service stores the new pair (Slack returns a new refresh token each time) and the
    actions keep working with the new access token."""
    sim = hub["sim"]
    sim.update_settings(issue_refresh_tokens=True)
    try:
        cid = connect_oauth(hub)
        assert run(hub, cid, "send_message", {"channel": "C0SIMGENERAL", "text": "before"})["ts"]
        before = sim.stats()["refreshes"]
        refreshed = httpx.post(
            f"{hub['oauth'].url}/v1/oauth/connections/{cid}/refresh",
            headers=headers(),
            json={"force": True},
            timeout=60,
        )
        assert refreshed.status_code == 200, refreshed.text
        assert refreshed.json()["refreshed"] is True and refreshed.json()["expires_at"]
        assert sim.stats()["refreshes"] == before + 1
        assert run(hub, cid, "send_message", {"channel": "C0SIMGENERAL", "text": "after"})["ts"]
    finally:
        sim.update_settings(issue_refresh_tokens=False)


def test_bot_token_connection(hub):
    sim, connectors = hub["sim"], hub["connectors"]
    created = httpx.post(
        f"{connectors.url}/v1/connections",
        headers=headers(),
        json={
            "connector_id": "slack_bot",
            "name": f"bot {time.monotonic_ns()}",
            "config": {"base_url": f"{sim.url}/api"},
            "credentials": {"token": BOT},
        },
    )
    assert created.status_code == 201, created.text
    cid = created.json()["id"]
    check = httpx.post(f"{connectors.url}/v1/connections/{cid}/health", headers=headers(), timeout=60)
    assert check.status_code in (200, 202), check.text
    active = wait_active(hub, cid)
    assert (
        active["external_account_id"] == "T0SIMTEAM" and active["external_account_name"] == "Simulated Team"
    )
    posted = run(hub, cid, "send_message", {"channel": "C0SIMRANDOM0", "text": "hand-installed"})
    assert posted["channel"] == "C0SIMRANDOM0"


def test_the_catalog_lists_slack_with_actions_triggers_and_schemas(hub):
    listed = httpx.get(f"{hub['connectors'].url}/v1/connectors", headers=headers())
    assert listed.status_code == 200, listed.text
    slack = next(c for c in listed.json()["connectors"] if c["id"] == "slack")
    assert slack["builtin"] is True and slack["auth"]["method"] == "oauth2"
    assert slack["auth"]["oauth"]["scope_separator"] == "," and slack["auth"]["oauth"]["profile"] == "slack"
    actions = {a["id"]: a for a in slack["actions"]}
    assert {"send_message", "update_message", "reply_in_thread", "add_reaction", "list_channels"} <= set(
        actions
    )
    assert actions["send_message"]["parameters_schema"]["required"] == ["text", "channel"]
    assert {t["id"] for t in slack["triggers"]} == {"message_posted", "app_mention", "reaction_added"}
    assert slack["webhook_signature"]["preset"] == "slack-v0"
