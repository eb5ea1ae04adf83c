"""The Events API triggers on Slack's own descriptions: the event types exist in the Events API
description, its documented example payloads parse into the right trigger, the simulator's
payloads (checked against the description's event wrapper) too; each event carries Slack's
``event_id`` (dedupe) and its own time; the connection's own bot fires nothing; and the declared
``slack-v0`` scheme verifies Slack's published signing example."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from starlette.requests import Request

from hub_connector_sdk import WebhookVerificationError, verify_webhook
from hub_connector_sdk.testkit import parse_webhook, spec_file
from hub_connector_slack import SlackBotTokenConnector, SlackConnector

pytestmark = pytest.mark.unit
TOPICS = {
    "message_posted": "message.channels",
    "app_mention": "app.mention",
    "reaction_added": "reaction.added",
}


def description(name: str) -> Any:
    path = spec_file(name)
    if path is None:
        pytest.skip(f"{name} not available (HUB_SPECS_DIR)")
    return json.loads(path.read_text())


def sim_request() -> Request:
    return Request(
        {"type": "http", "method": "POST", "path": "/_sim/webhooks", "headers": [], "query_string": b""}
    )


def test_every_trigger_listens_to_an_event_type_the_events_api_describes():
    async_api = description("slack-events-api-async-v1.json")
    types = {e["event_type"]: e["topic"] for e in description("slack-event-types.json")["event_types"]}
    for declared in SlackConnector.manifest().triggers:
        (event_type,) = declared.provider_events
        assert event_type in types, event_type
        assert TOPICS[declared.id] in async_api["topics"], declared.id


def wrapper_examples() -> list[dict[str, Any]]:
    """The event wrapper's documented examples, in both files that carry them."""
    wrapper = description("slack-common-event-wrapper-schema.json")
    async_api = description("slack-events-api-async-v1.json")
    generic = async_api["components"]["schemas"]["GenericEventWrapper"]
    examples = list(wrapper["examples"]) + list(generic["x-examples"])
    # The wrapper documents a bare ``event`` example too: a direct message to the app's home.
    envelope = dict(wrapper["examples"][0])
    examples += [{**envelope, "event": event} for event in wrapper["properties"]["event"]["examples"]]
    return examples


def test_the_descriptions_example_payloads_fire_the_right_trigger():
    fired: dict[str, list[Any]] = {}
    for example in wrapper_examples():
        events = parse_webhook(SlackConnector, example)  # each payload checked against its trigger's schema
        fired.setdefault(example["event"]["type"], []).extend(events)
    assert {e.trigger_id for e in fired["reaction_added"]} == {"reaction_added"}
    assert {e.trigger_id for e in fired["message"]} == {"message_posted"}
    assert fired["resources_added"] == []  # no trigger of ours
    reaction = fired["reaction_added"][0]
    assert reaction.event_id == "EvXXXXXXXX" and reaction.dedupe_key == "slack:EvXXXXXXXX:reaction_added"
    assert reaction.occurred_at == datetime.fromtimestamp(1360782804.083113, UTC)  # event_ts, not receipt
    assert reaction.payload == {
        "team_id": "TXXXXXXXX",
        "user": "U024BE7LH",
        "reaction": "thumbsup",
        "item_type": "message",
        "channel": "C0G9QF9GZ",
        "item_ts": "1360782400.498405",
        "item_user": "U0G9QF9C6",
    }
    message = fired["message"][0]
    assert message.payload["channel_type"] == "app_home" and message.payload["text"].startswith(
        "How many cats"
    )
    assert message.occurred_at == datetime.fromtimestamp(1525215129.000001, UTC)


def test_the_described_message_topic_payload_is_no_new_message():
    """The description's ``message`` topic is a deletion (``subtype``, ``deleted_ts``, ``hidden``):
    edits and deletions fire no ``message_posted``."""
    topic = description("slack-events-api-async-v1.json")["topics"]["message"]["subscribe"]["payload"]
    assert {"subtype", "deleted_ts", "hidden"} <= set(topic["properties"]["event"]["required"])
    deleted = {
        "token": "t",
        "team_id": "T0SIMTEAM",
        "api_app_id": "A0001",
        "type": "event_callback",
        "event_id": "Ev0DELETED1",
        "event_time": 1_700_000_000,
        "authed_users": ["U0001"],
        "event": {
            "type": "message",
            "subtype": "message_deleted",
            "hidden": True,
            "channel": "C0SIMGENERAL",
            "deleted_ts": "1700000000.000100",
            "ts": "1700000001.000100",
            "event_ts": "1700000001.000100",
            "previous_message": {"type": "message", "text": "gone", "ts": "1700000000.000100"},
        },
    }
    assert parse_webhook(SlackConnector, deleted) == []


@pytest.mark.parametrize(
    ("event", "trigger_id"),
    [("message", "message_posted"), ("app_mention", "app_mention"), ("reaction_added", "reaction_added")],
)
def test_the_simulators_payloads_are_described_and_parse(simulator, event, trigger_id):
    payload = simulator.build_event(sim_request(), event, None, {"text": "Build failed on main"})
    assert simulator.webhook_guard.problems(simulator.payload_schema(event, None), payload) == []
    (fired,) = parse_webhook(SlackConnector, payload)
    assert fired.trigger_id == trigger_id and fired.event_id == payload["event_id"]
    assert fired.payload["team_id"] == "T0SIMTEAM"


@pytest.mark.parametrize("event", ["message", "app_mention", "reaction_added"])
def test_the_apps_own_bot_fires_nothing(simulator, event):
    """The bot's own post comes back as an event (Slack sends it): firing on it would let an
    automation loop on its own messages."""
    payload = simulator.build_event(sim_request(), event, None, {"bot": True, "text": "I posted this"})
    assert simulator.webhook_guard.problems("GenericEventWrapper", payload) == []
    assert parse_webhook(SlackConnector, payload) == []


def own_message(**event: Any) -> dict[str, Any]:
    return {
        "token": "t",
        "team_id": "T0SIMTEAM",
        "api_app_id": "A0000MINE",
        "type": "event_callback",
        "event_id": "Ev0OWN00001",
        "event_time": 1_700_000_000,
        "authed_users": ["U0000BOT1"],
        "event": {
            "type": "message",
            "channel": "C0SIMGENERAL",
            "ts": "1700000000.000100",
            "text": "x",
            **event,
        },
    }


def test_self_messages_are_known_by_app_id_bot_user_or_configured_bot_id():
    # posted by this app (event app_id is the envelope's api_app_id)
    assert (
        parse_webhook(SlackConnector, own_message(bot_id="B0000OTHER", app_id="A0000MINE", user="U0000BOT1"))
        == []
    )
    # the installation's bot user (authorizations)
    auth = own_message(user="U0000BOT1")
    auth["authorizations"] = [{"team_id": "T0SIMTEAM", "user_id": "U0000BOT1", "is_bot": True}]
    assert parse_webhook(SlackConnector, auth) == []
    # a bot token connection: its bot named in the connection's config
    legacy = own_message(subtype="bot_message", bot_id="B0000MINE1", username="deploybot")
    assert parse_webhook(SlackBotTokenConnector, legacy, config={"bot_id": "B0000MINE1"}) == []
    assert (
        parse_webhook(
            SlackBotTokenConnector, own_message(user="U0000BOT9"), config={"bot_user_id": "U0000BOT9"}
        )
        == []
    )
    # another app's bot and people still fire
    (other,) = parse_webhook(
        SlackConnector, own_message(bot_id="B0000OTHER", app_id="A0000THEIRS", user="U0000BOT2")
    )
    assert other.payload["bot_id"] == "B0000OTHER"
    (person,) = parse_webhook(
        SlackBotTokenConnector, own_message(user="U0SIMHUMAN1"), config={"bot_id": "B0000MINE1"}
    )
    assert person.payload["user"] == "U0SIMHUMAN1" and person.payload["is_thread_reply"] is False


def test_a_thread_reply_says_so():
    (reply,) = parse_webhook(SlackConnector, own_message(user="U0SIMHUMAN1", thread_ts="1699999999.000001"))
    assert reply.payload["is_thread_reply"] is True and reply.payload["thread_ts"] == "1699999999.000001"


def test_url_verification_and_rate_limit_notices_fire_nothing():
    challenge = {
        "token": "t",
        "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P",
        "type": "url_verification",
    }
    assert parse_webhook(SlackConnector, challenge) == []
    limited = {
        "token": "t",
        "type": "app_rate_limited",
        "team_id": "T0SIMTEAM",
        "minute_rate_limited": 1518467820,
        "api_app_id": "A0000MINE",
    }
    assert parse_webhook(SlackConnector, limited) == []


# -- Slack's published signing example ("Verifying requests from Slack") ------------------------------
SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
TIMESTAMP = "1531420618"
BODY = (
    b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V"
    b"&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text="
    b"&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN"
    b"&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
)
SIGNATURE = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"
HEADERS = {"X-Slack-Request-Timestamp": TIMESTAMP, "X-Slack-Signature": SIGNATURE}


def test_the_declared_scheme_verifies_slacks_published_example():
    scheme = SlackConnector.manifest().webhook_signature
    assert scheme is not None and scheme.preset == "slack-v0"
    verified = verify_webhook(scheme, SIGNING_SECRET, HEADERS, BODY, now=int(TIMESTAMP) + 10)
    assert verified.timestamp == datetime.fromtimestamp(int(TIMESTAMP), UTC)


@pytest.mark.parametrize(
    ("headers", "body", "now", "code"),
    [
        (HEADERS, BODY.replace(b"foobar", b"foobaz"), int(TIMESTAMP), "signature_mismatch"),
        (HEADERS, BODY, int(TIMESTAMP) + 301, "timestamp_out_of_tolerance"),  # Slack: 5 minutes
        ({**HEADERS, "X-Slack-Request-Timestamp": "1531420619"}, BODY, int(TIMESTAMP), "signature_mismatch"),
        ({"X-Slack-Signature": SIGNATURE}, BODY, int(TIMESTAMP), "timestamp_missing"),
    ],
)
def test_a_changed_body_stale_or_moved_timestamp_is_refused(headers, body, now, code):
    with pytest.raises(WebhookVerificationError) as refused:
        verify_webhook(SlackConnector.manifest().webhook_signature, SIGNING_SECRET, headers, body, now=now)
    assert refused.value.code == code
