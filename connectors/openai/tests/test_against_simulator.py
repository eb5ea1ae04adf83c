"""The OpenAI connector against the OpenAI simulator, in process, through the SDK's
``ContractTransport``: every request and every answer is held to openai.json (the simulator also
checks each streamed chunk against ``CreateChatCompletionStreamResponse``). Every action, the
usage in its output, the ``batch_completed`` polling trigger, and the wait a 429 implies."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from hub_connector_openai import OpenAIConnector, parse_duration, parse_rate_limit
from hub_connector_openai.rate_limit import wait_seconds

from hub_connector_sdk import ProviderClient
from hub_connector_sdk.testkit import connection_context
from hub_connector_sdk.testkit.contract import ContractTransport, provider_contract
from hub_e2e.simulators.framework import create_provider_app
from hub_e2e.simulators.openai import OpenAISimulator, go_duration
from hub_e2e.simulators.spec_guard import SpecGuard

pytestmark = pytest.mark.unit
KEY = "sk-proj-inProcessContractKey000001"
PROXY = "/v1/proxy/conn_test"
TESTED: set[str] = set()


class SimulatedGateway(httpx.AsyncBaseTransport):
    """What the gateway does to a call, minimally: strip the proxy prefix, add the key and the
    connection's config headers, send it to the provider (the simulator)."""

    def __init__(self, sim: OpenAISimulator, headers: dict[str, str]) -> None:
        self._provider = httpx.ASGITransport(app=create_provider_app(sim))
        self._headers = headers

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        path = request.url.raw_path.decode().removeprefix(PROXY)
        headers = {k: v for k, v in request.headers.items() if k.lower() != "host"}
        headers.update(self._headers)
        headers["Authorization"] = f"Bearer {KEY}"
        upstream = httpx.Request(
            request.method, f"http://openai.test/v1{path}", headers=headers, content=request.content
        )
        return await self._provider.handle_async_request(upstream)


@pytest.fixture
async def world() -> AsyncIterator[dict[str, Any]]:
    contract = provider_contract("openai")
    sim = OpenAISimulator(SpecGuard.load("openai.json", required=True))
    sim.add_pat(KEY)
    gateway = SimulatedGateway(sim, {"OpenAI-Organization": "org-sim", "OpenAI-Project": "proj_sim"})
    transport = ContractTransport(contract, gateway, base_path=PROXY)
    client = ProviderClient(gateway_url="http://gateway.test", connection_id="conn_test", transport=transport)
    connector = OpenAIConnector(
        connection_context({"organization": "org-sim", "project": "proj_sim"}), client
    )
    async with client:
        yield {"sim": sim, "connector": connector, "contract": contract}


async def run(connector: OpenAIConnector, action_id: str, **params: Any) -> Any:
    TESTED.add(action_id)
    result = await connector.execute(action_id, params)
    assert result.success, result
    return result.data


async def test_chat_completion_carries_the_providers_usage(world):
    messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "name three colours"}]
    data = await run(
        world["connector"], "chat_completion", model="gpt-4o-mini", messages=messages, max_completion_tokens=5
    )
    assert data["content"] == "Simulated reply: name three colours"
    assert data["usage"] == {"input_tokens": 5, "output_tokens": 5, "total_tokens": 10}
    assert data["choices"][0]["finish_reason"] == "length"
    call = world["sim"].calls[-1]
    assert (
        call["headers"]["openai-organization"] == "org-sim"
        and call["headers"]["openai-project"] == "proj_sim"
    )


async def test_create_response(world):
    data = await run(
        world["connector"], "create_response", model="gpt-4o-mini", input="hello there", max_output_tokens=16
    )
    assert data["status"] == "completed" and data["output_text"].startswith("Simulated reply: hello there")
    assert data["usage"]["input_tokens"] == 2 and data["usage"]["output_tokens"] == 16


async def test_create_embeddings(world):
    data = await run(
        world["connector"],
        "create_embeddings",
        model="text-embedding-3-small",
        input=["a b", "c"],
        dimensions=8,
    )
    assert [len(e["embedding"]) for e in data["embeddings"]] == [8, 8]
    assert data["usage"]["input_tokens"] == 3 and data["usage"]["output_tokens"] == 0


async def test_list_models(world):
    data = await run(world["connector"], "list_models")
    assert "gpt-4o-mini" in [m["id"] for m in data["models"]]


async def test_create_batch_then_the_trigger_fires_once_when_it_ends(world):
    sim, connector = world["sim"], world["connector"]
    sim.batch_seconds = 3600.0
    batch = await run(
        connector,
        "create_batch",
        input_file_id="file-abc123",
        endpoint="/v1/chat/completions",
        metadata={"job": "nightly"},
    )
    assert batch["status"] == "validating"
    ((trigger_id, item),) = connector.polled_items("create_batch", batch)
    cursor = connector.watch(trigger_id, None, item)
    first = await connector.poll("batch_completed", cursor)
    assert first.events == [] and first.cursor == cursor  # still running: still watched
    sim.batches[batch["id"]].clock.ends_after_s = 0.0
    ended = await connector.poll("batch_completed", first.cursor)
    (event,) = ended.events
    assert event.event_id == batch["id"] and event.payload["batch"]["status"] == "completed"
    assert event.payload["batch"]["request_counts"]["completed"] == 3
    again = await connector.poll("batch_completed", ended.cursor)
    assert again.events == []  # fired once: the ended batch left the cursor


async def test_a_429_waits_for_the_spent_budget(world):
    sim, connector = world["sim"], world["connector"]
    sim.limits.update(requests=1)  # (/chat/completions documents its 429; /models does not)
    params = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}
    await run(connector, "chat_completion", **params)
    result = await connector.execute("chat_completion", params)
    assert result.success is False and result.error_code == "provider_rate_limited"
    assert result.retry_after_s is not None and 0 < result.retry_after_s <= 60


def test_requests_were_held_to_the_description(world):
    assert world["contract"].name == "openai"


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("6m0s", 360.0), ("12ms", 0.012), ("1h2m3.5s", 3723.5), ("59.999s", 59.999), ("soon", None)],
)
def test_durations(text, seconds):
    assert parse_duration(text) == seconds


def test_simulator_writes_durations_the_parser_reads():
    for seconds in (0.012, 1.5, 59.999, 360.0, 3600.0):
        assert parse_duration(go_duration(seconds)) == pytest.approx(seconds, abs=1e-3)


def test_rate_limit_headers_and_wait():
    headers = {
        "X-RateLimit-Limit-Requests": "500", "X-RateLimit-Remaining-Requests": "499",
        "X-RateLimit-Reset-Requests": "120ms", "x-ratelimit-limit-tokens": "30000",
        "x-ratelimit-remaining-tokens": "0", "x-ratelimit-reset-tokens": "6m0s",
    }  # fmt: skip
    budgets = parse_rate_limit(headers)
    assert budgets["tokens"].remaining == 0 and budgets["tokens"].reset_s == 360.0
    assert wait_seconds(headers) == 360.0  # the spent budget, not the sooner reset
    assert wait_seconds({**headers, "Retry-After": "2"}) == 2.0


def test_every_action_is_covered():
    assert {a.id for a in OpenAIConnector.manifest().actions} == TESTED
