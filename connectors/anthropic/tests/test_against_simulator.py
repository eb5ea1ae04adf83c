"""The Anthropic connector against the Anthropic simulator, in process, through the SDK's
``ContractTransport`` (every request and answer held to anthropic.json, with the manifest's
``anthropic-version`` added as the gateway adds it): every action and its usage, the
``message_batch_ended`` polling trigger, 429 and 529 as retryable with the wait they imply."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from hub_connector_anthropic import AnthropicConnector, parse_rate_limit
from hub_connector_anthropic.rate_limit import OVERLOADED_WAIT_S, wait_seconds

from hub_connector_sdk import ProviderClient
from hub_connector_sdk.testkit import GatewayStub, connection_context, run_action
from hub_connector_sdk.testkit.contract import ContractTransport, provider_contract
from hub_e2e.simulators.anthropic import AnthropicSimulator
from hub_e2e.simulators.framework import create_provider_app
from hub_e2e.simulators.spec_guard import SpecGuard

pytestmark = pytest.mark.unit
KEY = "sk-ant-inProcessContractKey000001"
PROXY = "/v1/proxy/conn_test"
TESTED: set[str] = set()
HELLO = [{"role": "user", "content": "hello there"}]


class SimulatedGateway(httpx.AsyncBaseTransport):
    def __init__(self, sim: AnthropicSimulator) -> None:
        self._provider = httpx.ASGITransport(app=create_provider_app(sim))

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        path = request.url.raw_path.decode().removeprefix(PROXY)
        headers = {k: v for k, v in request.headers.items() if k.lower() != "host"}
        headers.update(AnthropicConnector.api.default_headers)
        headers["x-api-key"] = KEY
        upstream = httpx.Request(
            request.method, f"http://anthropic.test{path}", headers=headers, content=request.content
        )
        return await self._provider.handle_async_request(upstream)


@pytest.fixture
async def world() -> AsyncIterator[dict[str, Any]]:
    sim = AnthropicSimulator(SpecGuard.load("anthropic.json", required=True))
    sim.add_pat(KEY)
    transport = ContractTransport(provider_contract("anthropic"), SimulatedGateway(sim), base_path=PROXY)
    client = ProviderClient(gateway_url="http://gateway.test", connection_id="conn_test", transport=transport)
    async with client:
        yield {"sim": sim, "connector": AnthropicConnector(connection_context({}), client)}


async def run(connector: AnthropicConnector, action_id: str, **params: Any) -> Any:
    TESTED.add(action_id)
    result = await connector.execute(action_id, params)
    assert result.success, result
    return result.data


async def test_create_message_carries_the_providers_usage(world):
    data = await run(
        world["connector"],
        "create_message",
        model="claude-haiku-4-5",
        max_tokens=4,
        messages=HELLO,
        system="Be brief.",
    )
    assert data["text"] == "Simulated reply: hello there" and data["stop_reason"] == "max_tokens"
    assert data["usage"]["input_tokens"] == 4 and data["usage"]["output_tokens"] == 4
    assert world["sim"].calls[-1]["headers"]["anthropic-version"] == "2023-06-01"


async def test_count_tokens(world):
    assert await run(world["connector"], "count_tokens", model="claude-haiku-4-5", messages=HELLO) == {
        "input_tokens": 2
    }


async def test_list_models_pages(world):
    first = await run(world["connector"], "list_models", limit=2)
    assert len(first["models"]) == 2 and first["has_more"] is True
    rest = await run(world["connector"], "list_models", after_id=first["last_id"])
    assert len(rest["models"]) == 1 and rest["has_more"] is False


async def test_create_message_batch_then_the_trigger_fires_once_when_it_ends(world):
    sim, connector = world["sim"], world["connector"]
    sim.batch_seconds = 3600.0
    request = {
        "custom_id": "q-1",
        "params": {"model": "claude-haiku-4-5", "max_tokens": 8, "messages": HELLO},
    }
    batch = await run(connector, "create_message_batch", requests=[request])
    assert batch["processing_status"] == "in_progress"
    ((trigger_id, item),) = connector.polled_items("create_message_batch", batch)
    cursor = connector.watch(trigger_id, None, item)
    assert (await connector.poll(trigger_id, cursor)).events == []
    sim.batches[batch["id"]].clock.ends_after_s = 0.0
    ended = await connector.poll(trigger_id, cursor)
    (event,) = ended.events
    assert event.event_id == batch["id"] and event.payload["batch"]["request_counts"]["succeeded"] == 1
    assert (await connector.poll(trigger_id, ended.cursor)).events == []


@pytest.mark.parametrize(("status", "code"), [(429, "provider_rate_limited"), (529, "provider_overloaded")])
async def test_429_and_529_are_retryable_with_a_wait(status, code):
    # The description documents 4XX only, so the answer is not held to it (529 is Anthropic's
    # documented overload status all the same); the request still is.
    stub = GatewayStub(spec=provider_contract("anthropic"), check_responses=status != 529)
    error = {
        "type": "error",
        "error": {"type": "overloaded_error", "message": "Overloaded"},
        "request_id": None,
    }
    stub.route("POST", "/v1/messages/count_tokens", status=status, json=error, headers={"retry-after": "7"})
    params = {"model": "claude-haiku-4-5", "messages": HELLO}
    result = await run_action(AnthropicConnector, "count_tokens", params, stub=stub)
    assert result.success is False and result.error_code == code and result.retry_after_s == 7.0
    assert stub.calls[0].headers["anthropic-version"] == "2023-06-01"


def test_rate_limit_headers_with_token_budgets():
    headers = {
        "anthropic-ratelimit-requests-limit": "50", "anthropic-ratelimit-requests-remaining": "49",
        "anthropic-ratelimit-requests-reset": "2026-12-07T10:00:30Z",
        "anthropic-ratelimit-input-tokens-limit": "40000", "anthropic-ratelimit-input-tokens-remaining": "0",
        "anthropic-ratelimit-input-tokens-reset": "2026-12-07T10:01:00Z",
        "anthropic-ratelimit-output-tokens-limit": "8000",
        "anthropic-ratelimit-output-tokens-remaining": "7000",
        "anthropic-ratelimit-output-tokens-reset": "2026-12-07T10:00:05+00:00",
    }  # fmt: skip
    budgets = parse_rate_limit(headers)
    assert set(budgets) == {"requests", "input-tokens", "output-tokens"}
    now = budgets["input-tokens"].reset_epoch - 60  # type: ignore[operator]
    assert wait_seconds(429, headers, now=now) == 60.0  # until the spent input-token budget resets
    assert wait_seconds(529, {}) == OVERLOADED_WAIT_S
    assert wait_seconds(529, {"retry-after": "3"}) == 3.0


def test_every_action_is_covered():
    assert {a.id for a in AnthropicConnector.manifest().actions} == TESTED
