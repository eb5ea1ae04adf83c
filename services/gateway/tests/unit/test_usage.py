"""domain/usage.py: token usage read from AI providers' answers (JSON and server-sent events,
split anywhere; docs/adr/0021)."""

from __future__ import annotations

import json

import pytest

from hub_gateway.domain.usage import StreamMeter, TokenUsage, from_json

pytestmark = pytest.mark.unit
NOW = 1_800_000_000.0


def sse(data: object, event: str | None = None) -> bytes:
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {json.dumps(data)}\n\n".encode()


OPENAI_STREAM = b"".join(
    [
        sse({"id": "c", "choices": [{"delta": {"content": "Hi"}}], "usage": None}),
        sse({"id": "c", "choices": [{"delta": {}, "finish_reason": "stop"}]}),
        sse({"id": "c", "choices": [],
             "usage": {"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18}}),
        b"data: [DONE]\n\n",
    ]
)  # fmt: skip
ANTHROPIC_STREAM = b"".join(
    [
        sse({"type": "message_start", "message": {"usage": {"input_tokens": 25, "output_tokens": 1}}},
            "message_start"),
        sse({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "usage is"}},
            "content_block_delta"),
        sse({"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 15}},
            "message_delta"),
        sse({"type": "message_stop"}, "message_stop"),
    ]
)  # fmt: skip
RESPONSES_STREAM = sse(
    {"type": "response.completed", "response": {"id": "r", "usage": {"input_tokens": 3, "output_tokens": 4}}},
    "response.completed",
)


@pytest.mark.parametrize(
    ("stream", "expected"),
    [
        (OPENAI_STREAM, TokenUsage(11, 7)),
        (ANTHROPIC_STREAM, TokenUsage(25, 15)),
        (RESPONSES_STREAM, TokenUsage(3, 4)),
    ],
)
@pytest.mark.parametrize("size", [1, 3, 7, 64, 100_000])
def test_a_streams_usage_is_read_however_it_is_split(stream, expected, size):
    meter = StreamMeter()
    for i in range(0, len(stream), size):
        meter.feed(stream[i : i + size])
    assert meter.close() == expected


def test_a_stream_without_usage_meters_nothing():
    meter = StreamMeter()
    meter.feed(sse({"choices": [{"delta": {"content": "no usage here"}}], "usage": None}))
    meter.feed(b"data: [DONE]\n\n")
    assert meter.close() is None


def test_a_huge_line_is_not_buffered_forever():
    meter = StreamMeter()
    for _ in range(40):
        meter.feed(b"x" * 65536)  # no newline, ever
    assert len(meter._tail) <= (1 << 20) + 65536


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            {"object": "chat.completion", "usage": {"prompt_tokens": 5, "completion_tokens": 2}},
            TokenUsage(5, 2),
        ),
        ({"object": "list", "usage": {"prompt_tokens": 9, "total_tokens": 9}}, TokenUsage(9, 0)),
        ({"type": "message", "usage": {"input_tokens": 4, "output_tokens": 8}}, TokenUsage(4, 8)),
        ({"object": "list", "data": []}, None),
        ({"usage": {"input_tokens": -3, "output_tokens": True}}, None),
    ],
)
def test_json_answers(body, expected):
    assert from_json(json.dumps(body).encode()) == expected


def test_json_that_does_not_parse_is_ignored():
    assert from_json(b'{"usage": {') is None
