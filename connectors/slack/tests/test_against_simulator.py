"""The connector against the Slack simulator, in process, through the SDK's ``ContractTransport``
(every request and answer held to slack-web-api.json with Slack's conventions): every action on
the simulator's state, ``ok: false`` and a per-method rate limit as the simulator answers them,
and the Events API round trip — the app's own post comes back as an event and fires nothing, a
person's message and mention fire their triggers after verifying with the ``slack-v0`` scheme."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from hub_connector_sdk import ProviderClient, verify_webhook
from hub_connector_sdk.testkit import connection_context, parse_webhook
from hub_connector_sdk.testkit.contract import ContractTransport
from hub_connector_slack import SlackBotTokenConnector
from hub_e2e.simulators.framework import create_provider_app
from hub_e2e.simulators.slack import SlackSimulator
from hub_e2e.simulators.spec_guard import SpecGuard, WebhookGuard

pytestmark = pytest.mark.unit
BOT = "xoxb-inProcessContractToken-00000001"
PROXY = "/v1/proxy/conn_test"
RECEIVER = "http://receiver.test/slack/events"
SECRET = "in-process-signing-secret-0000000001"


class SimulatedGateway(httpx.AsyncBaseTransport):
    """What the gateway does to a call, minimally: strip the proxy prefix, add the token, send it
    to the provider (here the simulator's /api)."""

    def __init__(self, app: Starlette) -> None:
        self._provider = httpx.ASGITransport(app=app)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        path = request.url.raw_path.decode().removeprefix(PROXY)
        headers = {k: v for k, v in request.headers.items() if k.lower() != "host"}
        headers["Authorization"] = f"Bearer {BOT}"
        upstream = httpx.Request(
            request.method, f"http://slack.test/api{path}", headers=headers, content=request.content
        )
        return await self._provider.handle_async_request(upstream)


@dataclass
class Receiver:
    """The hub's intake, minimally: records deliveries and answers Slack's challenge."""

    got: list[tuple[dict[str, str], bytes]] = field(default_factory=list)

    def app(self) -> Starlette:
        async def events(request: Request) -> Response:
            body = await request.body()
            self.got.append((dict(request.headers), body))
            payload = json.loads(body)
            if payload.get("type") == "url_verification":
                return JSONResponse({"challenge": payload["challenge"]})
            return Response(status_code=200)

        return Starlette(routes=[Route("/slack/events", events, methods=["POST"])])


@pytest.fixture
async def world(contract) -> AsyncIterator[dict[str, Any]]:
    sim = SlackSimulator(
        SpecGuard.load("slack-web-api.json", required=True),
        WebhookGuard.load("slack-events-api-async-v1.json"),
    )
    sim.add_pat(BOT, "deploybot")
    receiver = Receiver()
    sim.outbox.transport = httpx.ASGITransport(app=receiver.app())
    transport = ContractTransport(contract, SimulatedGateway(create_provider_app(sim)), base_path=PROXY)
    client = ProviderClient(gateway_url="http://gateway.test", connection_id="conn_test", transport=transport)
    connector = SlackBotTokenConnector(connection_context({"base_url": "http://slack.test/api"}), client)
    async with client:
        yield {"sim": sim, "connector": connector, "receiver": receiver}


async def run(connector: SlackBotTokenConnector, action_id: str, **params: Any) -> Any:
    result = await connector.execute(action_id, params)
    assert result.success, result
    return result.data


async def test_every_action_against_the_simulator(world):
    connector = world["connector"]
    posted = await run(
        connector, "send_message", channel="#general", text="Release *1.2* is out", as_blocks=True
    )
    assert posted["channel"] == "C0SIMGENERAL" and posted["bot_id"]
    reply = await run(
        connector, "reply_in_thread", channel="C0SIMGENERAL", thread_ts=posted["ts"], text="notes"
    )
    assert reply["thread_ts"] == posted["ts"]
    threaded = await run(
        connector, "send_message", channel="C0SIMGENERAL", text="more", thread_ts=posted["ts"]
    )
    assert threaded["thread_ts"] == posted["ts"]
    updated = await run(
        connector, "update_message", channel="C0SIMGENERAL", ts=posted["ts"], text="Release 1.2.1"
    )
    assert updated["text"] == "Release 1.2.1"
    reaction = await run(
        connector, "add_reaction", channel="C0SIMGENERAL", timestamp=posted["ts"], name=":tada:"
    )
    assert reaction["name"] == "tada"
    thread = await run(connector, "list_replies", channel="C0SIMGENERAL", thread_ts=posted["ts"], limit=2)
    assert [m["text"] for m in thread["messages"]] == ["Release 1.2.1", "notes", "more"]
    channels = await run(connector, "list_channels", limit=1)
    assert {c["name"] for c in channels["channels"]} == {"general", "random"} and not channels["truncated"]
    person = await run(connector, "get_user", user="U0SIMHUMAN1")
    assert person["name"] == "ada" and person["is_bot"] is False
    health = await connector.health_check()
    assert health.is_healthy and health.account_info["id"] == "T0SIMTEAM" and health.account_info["bot_id"]


async def test_slack_refusals_and_a_tier_limit_as_the_simulator_answers_them(world):
    sim, connector = world["sim"], world["connector"]
    missing = await connector.execute("send_message", {"channel": "C0NOSUCH00", "text": "x"})
    assert (
        missing.success is False and missing.error_code == "channel_not_found" and missing.status_code == 200
    )
    posted = await run(connector, "send_message", channel="C0SIMGENERAL", text="once")
    await run(connector, "add_reaction", channel="C0SIMGENERAL", timestamp=posted["ts"], name="eyes")
    twice = await connector.execute(
        "add_reaction", {"channel": "C0SIMGENERAL", "timestamp": posted["ts"], "name": "eyes"}
    )
    assert twice.error_code == "already_reacted"
    sim.limits["users.info"] = 1
    await run(connector, "get_user", user="U0SIMHUMAN1")
    limited = await connector.execute("get_user", {"user": "U0SIMHUMAN1"})
    assert limited.error_code == "provider_rate_limited" and limited.status_code == 429
    assert limited.retry_after_s is not None and 1 <= limited.retry_after_s <= 60
    assert (await connector.execute("list_channels", {})).success  # another method's tier is untouched


async def test_events_round_trip_the_apps_own_post_fires_nothing(world):
    sim, connector, receiver = world["sim"], world["connector"], world["receiver"]
    app = sim.bot_tokens[BOT].app
    delivery = await sim.subscribe(app, RECEIVER, SECRET, ("message", "app_mention", "reaction_added"))
    assert json.loads(delivery.response_body)["challenge"] == json.loads(receiver.got[0][1])["challenge"]
    await run(connector, "send_message", channel="C0SIMGENERAL", text="deploy finished")  # the bot's own
    channel = sim.channels["C0SIMGENERAL"]
    sim.post(channel, f"<@{app.bot_user_id}> thanks!", "U0SIMHUMAN2")  # a person, mentioning the app
    await sim.outbox.drain()
    fired: list[str] = []
    for headers, body in receiver.got[1:]:
        verify_webhook(SlackBotTokenConnector.webhook_signature, SECRET, headers, body)
        fired += [e.trigger_id for e in parse_webhook(SlackBotTokenConnector, body, headers=headers)]
    kinds = sorted(json.loads(body)["event"]["type"] for _, body in receiver.got[1:])
    assert kinds == ["app_mention", "message", "message"]  # Slack sends the bot's own post too ...
    assert sorted(fired) == ["app_mention", "message_posted"]  # ... which fires nothing
