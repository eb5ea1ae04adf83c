"""The gateway client carries the caller's W3C trace context: without it every action and health
check would split into two traces at the gateway (ADR 0015)."""

from __future__ import annotations

import httpx
import pytest
from opentelemetry import trace
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags

from hub_connector_sdk import ProviderClient

pytestmark = pytest.mark.unit
TRACE_ID = 0x4BF92F3577B34DA6A3CE929D0E0E4736
SPAN_ID = 0x00F067AA0BA902B7


async def test_the_current_trace_context_goes_to_the_gateway():
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={})

    client = ProviderClient(
        gateway_url="http://gateway", connection_id="c1", transport=httpx.MockTransport(answer)
    )
    parent = NonRecordingSpan(SpanContext(TRACE_ID, SPAN_ID, is_remote=False, trace_flags=TraceFlags(1)))
    async with client:
        with trace.use_span(parent):
            await client.get("/me")
        await client.get("/me")  # outside any trace: nothing invented
    assert seen[0].headers["traceparent"] == f"00-{TRACE_ID:032x}-{SPAN_ID:016x}-01"
    assert "traceparent" not in seen[1].headers
