"""The OpenAI and Anthropic simulators in process: API-key auth and the providers' error shapes,
requests refused the way the description refuses them, rate-limit headers in each provider's
notation (and the gateway's parser reading them), 429/529, streams in the providers' event
formats with every chunk checked by the simulator, batches that end after a while."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from hub_connector_sdk.testkit import spec_file
from hub_e2e.simulators.anthropic import AnthropicSimulator
from hub_e2e.simulators.framework import create_provider_app
from hub_e2e.simulators.openai import OpenAISimulator, go_duration
from hub_e2e.simulators.spec_guard import AnswerViolation, SpecGuard
from hub_gateway.domain.provider_limits import parse, parse_duration

pytestmark = [
    pytest.mark.unit,
    pytest.mark.skipif(
        spec_file("openai.json") is None or spec_file("anthropic.json") is None,
        reason="openai.json / anthropic.json not available (HUB_SPECS_DIR)",
    ),
]
OKEY, AKEY = "sk-proj-simTestKey0000000000000001", "sk-ant-simTestKey00000000000000001"
OPENAI = {"authorization": f"Bearer {OKEY}"}
ANTHROPIC = {"x-api-key": AKEY, "anthropic-version": "2023-06-01"}
HELLO = [{"role": "user", "content": "hello there"}]


@pytest.fixture
async def openai() -> AsyncIterator[tuple[OpenAISimulator, httpx.AsyncClient]]:
    sim = OpenAISimulator(SpecGuard.load("openai.json", required=True))
    sim.add_pat(OKEY)
    transport = httpx.ASGITransport(app=create_provider_app(sim))
    async with httpx.AsyncClient(transport=transport, base_url="http://openai.sim") as client:
        yield sim, client


@pytest.fixture
async def anthropic() -> AsyncIterator[tuple[AnthropicSimulator, httpx.AsyncClient]]:
    sim = AnthropicSimulator(SpecGuard.load("anthropic.json", required=True))
    sim.add_pat(AKEY)
    transport = httpx.ASGITransport(app=create_provider_app(sim))
    async with httpx.AsyncClient(transport=transport, base_url="http://anthropic.sim") as client:
        yield sim, client


def data_lines(text: str) -> list[str]:
    return [line[6:] for line in text.splitlines() if line.startswith("data: ")]


async def test_openai_refuses_unknown_keys_and_undescribed_requests(openai):
    _, client = openai
    denied = await client.get("/v1/models", headers={"authorization": "Bearer sk-wrong-000000000000"})
    assert denied.status_code == 401 and denied.json()["error"]["code"] == "invalid_api_key"
    bad = await client.post("/v1/chat/completions", headers=OPENAI, json={"model": "gpt-4o-mini"})
    assert bad.status_code == 400 and bad.json()["error"]["type"] == "invalid_request_error"
    assert "messages" in bad.json()["error"]["message"]


async def test_openai_rate_limit_headers_are_durations_the_gateway_reads(openai):
    sim, client = openai
    sim.limits.update(requests=2)
    ok = await client.get("/v1/models", headers=OPENAI)
    assert ok.headers["x-ratelimit-remaining-requests"] == "1"
    assert parse_duration(ok.headers["x-ratelimit-reset-requests"]) is not None
    signals = parse(dict(ok.headers), time.time())
    assert {lim.api_name for lim in signals.limits} == {"requests", "tokens"}
    await client.get("/v1/models", headers=OPENAI)
    spent = await client.post("/v1/embeddings", headers=OPENAI, json={"model": "m", "input": "x"})
    assert spent.status_code == 429 and spent.json()["error"]["code"] == "rate_limit_exceeded"
    assert spent.headers["x-ratelimit-remaining-requests"] == "0"
    assert go_duration(360) == "6m0s" and go_duration(0.012) == "12ms"


async def test_openai_stream_with_usage_ends_with_the_usage_chunk_and_done(openai):
    _, client = openai
    body = {"model": "gpt-4o-mini", "messages": HELLO, "max_completion_tokens": 3, "stream": True,
            "stream_options": {"include_usage": True}}  # fmt: skip
    resp = await client.post("/v1/chat/completions", headers=OPENAI, json=body)
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/event-stream")
    events = data_lines(resp.text)
    assert events[-1] == "[DONE]"
    chunks = [json.loads(e) for e in events[:-1]]
    assert [c["object"] for c in chunks] == ["chat.completion.chunk"] * 6
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    assert (
        "".join(c["choices"][0]["delta"].get("content", "") for c in chunks[:-1]) == "Simulated reply: hello"
    )
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["completion_tokens"] == 3
    without = await client.post("/v1/chat/completions", headers=OPENAI, json={**body, "stream_options": None})
    assert all("usage" not in json.loads(e) for e in data_lines(without.text)[:-1])


async def test_openai_streamed_chunks_are_checked_against_the_description(openai):
    sim, _ = openai
    with pytest.raises(AnswerViolation):
        sim._event("/chat/completions", {"object": "chat.completion.chunk"})


async def test_openai_batch_ends_after_batch_seconds(openai):
    sim, client = openai
    sim.batch_seconds = 0.3
    body = {"input_file_id": "file-1", "endpoint": "/v1/embeddings", "completion_window": "24h"}
    created = (await client.post("/v1/batches", headers=OPENAI, json=body)).json()
    assert created["status"] == "validating"
    sim.batches[created["id"]].clock.created -= 1
    ended = (await client.get(f"/v1/batches/{created['id']}", headers=OPENAI)).json()
    assert ended["status"] == "completed" and ended["output_file_id"] and ended["completed_at"]
    missing = await client.get("/v1/batches/batch_nope", headers=OPENAI)
    assert missing.status_code == 404


async def test_anthropic_needs_its_key_and_version(anthropic):
    _, client = anthropic
    no_key = await client.get("/v1/models", headers={"anthropic-version": "2023-06-01"})
    assert no_key.status_code == 401 and no_key.json()["error"]["type"] == "authentication_error"
    no_version = await client.get("/v1/models", headers={"x-api-key": AKEY})
    assert no_version.status_code == 400 and "anthropic-version" in no_version.json()["error"]["message"]


async def test_anthropic_headers_529_and_429(anthropic):
    sim, client = anthropic
    ok = await client.post(
        "/v1/messages/count_tokens", headers=ANTHROPIC, json={"model": "m", "messages": HELLO}
    )
    assert ok.status_code == 200
    names = {lim.api_name for lim in parse(dict(ok.headers), time.time()).limits}
    assert names == {"requests", "tokens", "input-tokens", "output-tokens"}
    sim_fault: dict[str, Any] = {"status": 529, "count": 1, "retry_after_s": 2}
    assert (await client.post("/_sim/anthropic/faults", json=sim_fault)).status_code == 201
    busy = await client.post(
        "/v1/messages/count_tokens", headers=ANTHROPIC, json={"model": "m", "messages": HELLO}
    )
    assert busy.status_code == 529 and busy.json()["error"]["type"] == "overloaded_error"
    assert busy.headers["retry-after"] == "2"
    sim.limits.update(requests=1)
    sim.windows.clear()
    await client.post("/v1/messages/count_tokens", headers=ANTHROPIC, json={"model": "m", "messages": HELLO})
    limited = await client.post(
        "/v1/messages/count_tokens", headers=ANTHROPIC, json={"model": "m", "messages": HELLO}
    )
    assert limited.status_code == 429 and limited.json()["error"]["type"] == "rate_limit_error"
    assert int(limited.headers["retry-after"]) >= 1


async def test_anthropic_stream_is_in_anthropics_event_format(anthropic):
    _, client = anthropic
    body = {"model": "claude-haiku-4-5", "max_tokens": 3, "messages": HELLO, "stream": True}
    resp = await client.post("/v1/messages", headers=ANTHROPIC, json=body)
    names = [line[7:] for line in resp.text.splitlines() if line.startswith("event: ")]
    assert names == ["message_start", "content_block_start", "ping", *["content_block_delta"] * 3,
                     "content_block_stop", "message_delta", "message_stop"]  # fmt: skip
    events = [json.loads(e) for e in data_lines(resp.text)]
    assert [e["type"] for e in events] == names
    assert events[0]["message"]["usage"]["input_tokens"] == 2 and events[-2]["usage"] == {"output_tokens": 3}


async def test_anthropic_message_batch_ends(anthropic):
    sim, client = anthropic
    request = {"custom_id": "r1", "params": {"model": "m", "max_tokens": 4, "messages": HELLO}}
    created = (
        await client.post("/v1/messages/batches", headers=ANTHROPIC, json={"requests": [request]})
    ).json()
    assert created["processing_status"] == "in_progress" and created["request_counts"]["processing"] == 1
    sim.batches[created["id"]].clock.ends_after_s = 0
    ended = (await client.get(f"/v1/messages/batches/{created['id']}", headers=ANTHROPIC)).json()
    assert ended["processing_status"] == "ended" and ended["request_counts"]["succeeded"] == 1
    assert ended["results_url"].endswith(f"/v1/messages/batches/{created['id']}/results")


async def test_openai_streamed_responses_end_with_completed_and_its_usage(openai):
    _, client = openai
    body = {"model": "gpt-4o-mini", "input": "hi you", "max_output_tokens": 16, "stream": True}
    resp = await client.post("/v1/responses", headers=OPENAI, json=body)
    events = [json.loads(e) for e in data_lines(resp.text)]
    kinds = [e["type"] for e in events]
    assert kinds[:4] == [
        "response.created", "response.in_progress",
        "response.output_item.added", "response.content_part.added",
    ]  # fmt: skip
    assert kinds.count("response.output_text.delta") == 16 and kinds[-1] == "response.completed"
    assert [e["sequence_number"] for e in events] == list(range(len(events)))
    assert events[-1]["response"]["usage"]["output_tokens"] == 16
