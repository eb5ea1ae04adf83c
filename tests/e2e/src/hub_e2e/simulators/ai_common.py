"""What the OpenAI and Anthropic simulators share: API keys, per-key rate-limit windows (requests
and tokens), injected faults (429, 500, 503, 529), server-sent events, deterministic text and
token counts, and batches that end after a while.

Token counts are deterministic (one token per word of the prompt, one per streamed word of the
answer), so a test can predict the usage the hub should meter.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import math
import time
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, StreamingResponse

from hub_e2e.simulators.crypto import secrets_equal

WINDOW_S = 60.0


@dataclass
class Window:
    """One key's budget of requests and tokens per ``window_s`` (a fixed window)."""

    requests: int
    tokens: int
    window_s: float = WINDOW_S
    used_requests: int = 0
    used_tokens: int = 0
    started: float = field(default_factory=time.time)

    def roll(self, now: float) -> None:
        if now - self.started >= self.window_s:
            self.started, self.used_requests, self.used_tokens = now, 0, 0

    def reset_in(self, now: float) -> float:
        return max(0.0, self.started + self.window_s - now)

    def spent(self) -> str | None:
        if self.used_requests >= self.requests:
            return "requests"
        if self.used_tokens >= self.tokens:
            return "tokens"
        return None


@dataclass
class Fault:
    status: int
    remaining: int
    retry_after_s: float | None


@dataclass
class BatchClock:
    """A batch created at ``created`` ends ``batch_seconds`` later (set per simulator)."""

    created: float
    ends_after_s: float

    def ended(self, now: float) -> bool:
        return now >= self.created + self.ends_after_s


class AiSimulatorState:
    """Mixed into the two AI simulators (keys, windows, faults, streaming pace, batch delay)."""

    def init_ai_state(self) -> None:
        self.keys: list[str] = []
        self.windows: dict[str, Window] = {}
        self.limits = {"requests": 500, "tokens": 200_000, "window_s": WINDOW_S}
        self.faults: list[Fault] = []
        self.stream_interval_s = 0.0
        self.gate: asyncio.Event | None = None  # set: streams hold after their first event
        self.batch_seconds = 2.0
        self.calls: list[dict[str, Any]] = []  # what the simulator was asked (method, path, headers)

    def add_pat(self, key: str, _login: str = "") -> None:
        """An API key the simulator accepts (``hub-sim <provider> --pat KEY``)."""
        if key not in self.keys:
            self.keys.append(key)

    def known_key(self, given: str | None) -> str | None:
        if not given:
            return None
        return next((k for k in self.keys if secrets_equal(given, k)), None)

    def window(self, key: str) -> Window:
        current = self.windows.get(key)
        if current is None:
            current = self.windows[key] = Window(
                int(self.limits["requests"]), int(self.limits["tokens"]), float(self.limits["window_s"])
            )
        current.roll(time.time())
        return current

    def take_fault(self) -> Fault | None:
        if not self.faults:
            return None
        fault = self.faults[0]
        fault.remaining -= 1
        if fault.remaining <= 0:
            self.faults.pop(0)
        return fault


def prompt_tokens(messages: Any, *extra: Any) -> int:
    """One token per word of the messages' contents (and ``extra`` texts), at least 1."""
    contents = (
        [m.get("content") for m in messages if isinstance(m, dict)] if isinstance(messages, list) else []
    )
    return count_tokens([contents, *extra])


def count_tokens(value: Any) -> int:
    """One token per word of every string in ``value`` (at least 1)."""
    words = 0
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            words += len(item.split())
        elif isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return max(words, 1)


def reply_words(prompt_text: str, limit: int) -> list[str]:
    """The simulated answer: ``Simulated reply: <the prompt's first words> ...``, ``limit`` words."""
    prompt = prompt_text.split() or ["(empty)"]
    words = ["Simulated", "reply:"]
    i = 0
    while len(words) < limit:
        words.append(prompt[i % len(prompt)])
        i += 1
    return words[: max(limit, 1)]


def last_user_text(messages: Iterable[Any]) -> str:
    text = ""
    for message in messages:
        if isinstance(message, dict) and message.get("role") == "user":
            content = message.get("content")
            if isinstance(content, str):
                text = content
            elif isinstance(content, list):
                text = " ".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return text


def vector(text: str, dimensions: int) -> list[float]:
    """A deterministic unit vector for ``text``."""
    digest = hashlib.sha256(text.encode()).digest()
    raw = [((digest[i % len(digest)] + i * 31) % 256) / 255.0 - 0.5 for i in range(dimensions)]
    norm = math.sqrt(sum(x * x for x in raw)) or 1.0
    return [round(x / norm, 6) for x in raw]


def sse(data: Any, event: str | None = None) -> bytes:
    """One server-sent event (``data`` JSON-encoded unless it is already text)."""
    payload = data if isinstance(data, str) else json.dumps(data, separators=(",", ":"))
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {payload}\n\n".encode()


class EventStream(StreamingResponse):
    """``text/event-stream``, each event sent (and flushed) on its own, as it is produced."""

    def __init__(self, events: AsyncIterator[bytes], headers: dict[str, str]) -> None:
        super().__init__(
            events, media_type="text/event-stream", headers={**headers, "Cache-Control": "no-cache"}
        )


async def paced(
    chunks: Iterable[bytes], interval_s: float, gate: asyncio.Event | None = None
) -> AsyncIterator[bytes]:
    """The events ``interval_s`` apart; with a ``gate``, the rest wait after the first until it
    opens (a test proves a relay passes events on as they come: it opens the gate only after it
    received the first one through the relay)."""
    first = True
    for chunk in chunks:
        if not first and interval_s > 0:
            await asyncio.sleep(interval_s)
        yield chunk
        if first and gate is not None:
            await asyncio.wait_for(gate.wait(), 60)
        first = False


async def admin_body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    body = json.loads(raw) if raw else {}
    if not isinstance(body, dict):
        raise ValueError("body is a JSON object")
    return body


def configure(state: AiSimulatorState, body: dict[str, Any]) -> dict[str, Any]:
    """``POST /_sim/<provider>/settings``: limits, streaming pace, batch delay."""
    for name in ("requests", "tokens", "window_s"):
        if name in body:
            state.limits[name] = float(body[name]) if name == "window_s" else int(body[name])
            state.windows.clear()
    if "stream_interval_ms" in body:
        state.stream_interval_s = float(body["stream_interval_ms"]) / 1000.0
    if "hold_after_first" in body:
        state.gate = asyncio.Event() if body["hold_after_first"] else None
    if "batch_seconds" in body:
        state.batch_seconds = float(body["batch_seconds"])
    return {
        **state.limits,
        "stream_interval_ms": state.stream_interval_s * 1000,
        "batch_seconds": state.batch_seconds,
    }


def add_fault(state: AiSimulatorState, body: dict[str, Any]) -> dict[str, Any]:
    """``POST /_sim/<provider>/faults``: the next ``count`` API calls answer ``status``."""
    status = int(body.get("status", 500))
    if status not in (429, 500, 503, 529):
        raise ValueError("status is one of 429, 500, 503, 529")
    wait = body.get("retry_after_s")
    fault = Fault(status, int(body.get("count", 1)), float(wait) if wait is not None else None)
    state.faults.append(fault)
    return {"status": fault.status, "count": fault.remaining, "retry_after_s": fault.retry_after_s}


def bad_admin(message: str) -> JSONResponse:
    return JSONResponse({"error": "bad_request", "detail": message}, status_code=400)
