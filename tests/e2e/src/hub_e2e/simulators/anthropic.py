"""The Anthropic simulator: the five operations of ``anthropic.json`` (messages, token counting,
models, message batches), ``x-api-key`` + ``anthropic-version`` auth, Anthropic's rate-limit
headers, 429 and 529 (overloaded), and streamed messages in Anthropic's event format.

Behaviour, from Anthropic's API reference:

- ``x-api-key: <key>`` with a key registered by ``hub-sim anthropic --pat KEY`` (401
  ``authentication_error`` otherwise) and ``anthropic-version`` (400 when missing);
- every request is validated against ``anthropic.json`` (400 ``invalid_request_error``), every
  answer against its response schema; a streamed ``message_start`` carries a ``Message`` checked
  against the description's ``Message`` schema (the description has no schema for the other
  stream events, whose shapes follow Anthropic's streaming documentation);
- every answer carries ``anthropic-ratelimit-{requests,tokens,input-tokens,output-tokens}-
  {limit,remaining,reset}`` with RFC 3339 resets; past a limit, 429 ``rate_limit_error`` with
  ``retry-after``; ``POST /_sim/anthropic/faults`` injects 529 ``overloaded_error``;
- ``stream: true``: ``message_start`` (usage with the input tokens), ``content_block_start``,
  ``ping``, one ``content_block_delta`` (``text_delta``) per word, ``content_block_stop``,
  ``message_delta`` (``stop_reason`` and the output tokens), ``message_stop``;
- a message batch is ``in_progress`` until ``batch_seconds`` after its creation, then ``ended``
  with every request succeeded and a ``results_url``.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from hub_e2e.simulators.ai_common import (
    AiSimulatorState,
    BatchClock,
    EventStream,
    count_tokens,
    last_user_text,
    paced,
    prompt_tokens,
    reply_words,
    sse,
)
from hub_e2e.simulators.framework import ProviderSimulator, provider_of
from hub_e2e.simulators.openai import ai_admin_routes
from hub_e2e.simulators.spec_guard import AnswerViolation, SpecGuard, SpecViolation, WebhookGuard

MODELS = (
    ("claude-sonnet-4-5", "Claude Sonnet 4.5"),
    ("claude-haiku-4-5", "Claude Haiku 4.5"),
    ("claude-opus-4-1", "Claude Opus 4.1"),
)
BUDGETS = ("requests", "tokens", "input-tokens", "output-tokens")


def rfc3339(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class AnthropicError(Exception):
    def __init__(self, status: int, type_: str, message: str) -> None:
        super().__init__(message)
        self.status, self.type, self.message = status, type_, message

    def response(self, headers: dict[str, str]) -> JSONResponse:
        body = {
            "type": "error",
            "error": {"type": self.type, "message": self.message},
            "request_id": headers.get("request-id"),
        }
        return JSONResponse(body, status_code=self.status, headers=headers)


@dataclass
class SimMessageBatch:
    id: str
    count: int
    clock: BatchClock

    def view(self, now: float, base: str) -> dict[str, Any]:
        ended = self.clock.ended(now)
        counts = {"processing": 0 if ended else self.count, "succeeded": self.count if ended else 0,
                  "errored": 0, "canceled": 0, "expired": 0}  # fmt: skip
        return {
            "id": self.id,
            "type": "message_batch",
            "processing_status": "ended" if ended else "in_progress",
            "request_counts": counts,
            "created_at": rfc3339(self.clock.created),
            "expires_at": rfc3339(self.clock.created + 86400),
            "ended_at": rfc3339(self.clock.created + self.clock.ends_after_s) if ended else None,
            "archived_at": None,
            "cancel_initiated_at": None,
            "results_url": f"{base}/v1/messages/batches/{self.id}/results" if ended else None,
        }


def usage(input_tokens: int, output_tokens: int) -> dict[str, Any]:
    return {
        "input_tokens": input_tokens,
        "output_tokens": output_tokens,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
        "cache_creation": None,
        "inference_geo": None,
        "output_tokens_details": None,
        "server_tool_use": None,
        "service_tier": "standard",
    }


class AnthropicSimulator(AiSimulatorState, ProviderSimulator):
    name = "anthropic"
    oauth_flavor = "generic"  # Anthropic's API has no OAuth; the framework's OAuth side goes unused
    spec_name = "anthropic.json"
    api_prefixes = ("",)

    def __init__(self, guard: SpecGuard, webhook_guard: WebhookGuard | None = None) -> None:
        super().__init__(guard, webhook_guard)
        self.init_ai_state()
        self.batches: dict[str, SimMessageBatch] = {}

    def reset(self) -> None:
        super().reset()
        self.batches = {}
        self.windows.clear()
        self.faults.clear()
        self.calls.clear()

    def event_catalog(self) -> dict[str, tuple[str, ...]]:
        return {}

    def _limit_headers(self, key: str) -> dict[str, str]:
        window, now = self.window(key), time.time()
        reset = rfc3339(now + window.reset_in(now) + 1)  # whole seconds, never in the past
        remaining_tokens = max(window.tokens - window.used_tokens, 0)
        headers = {"request-id": f"req_{uuid.uuid4().hex[:24]}"}
        values = {
            "requests": (window.requests, max(window.requests - window.used_requests, 0)),
            "tokens": (window.tokens, remaining_tokens),
            "input-tokens": (window.tokens, remaining_tokens),
            "output-tokens": (window.tokens // 5, max(window.tokens // 5 - window.used_tokens // 5, 0)),
        }
        for name, (limit, remaining) in values.items():
            headers[f"anthropic-ratelimit-{name}-limit"] = str(limit)
            headers[f"anthropic-ratelimit-{name}-remaining"] = str(remaining)
            headers[f"anthropic-ratelimit-{name}-reset"] = reset
        return headers

    async def handle(self, request: Request, operation: Any) -> Response:
        headers: dict[str, str] = {"request-id": f"req_{uuid.uuid4().hex[:24]}"}
        self.calls.append(
            {"method": request.method, "path": request.url.path, "headers": dict(request.headers)}
        )
        try:
            key = self.known_key(request.headers.get("x-api-key"))
            if key is None:
                raise AnthropicError(401, "authentication_error", "invalid x-api-key")
            if not request.headers.get("anthropic-version"):
                raise AnthropicError(400, "invalid_request_error", "anthropic-version: header is required")
            body = await self._json(request)
            template = self._validate(request, body)
            window = self.window(key)
            fault = self.take_fault()
            if fault is not None:
                headers = self._limit_headers(key)
                if fault.retry_after_s is not None:
                    headers["retry-after"] = str(max(1, round(fault.retry_after_s)))
                raise _fault_error(fault.status)
            spent = window.spent()
            if spent is not None:
                headers = self._limit_headers(key)
                headers["retry-after"] = str(max(1, round(window.reset_in(time.time()))))
                raise AnthropicError(
                    429,
                    "rate_limit_error",
                    f"This request would exceed your organization's rate limit of {spent}",
                )
            window.used_requests += 1
            window.used_tokens += count_tokens(body) if body is not None else 0
            result = await operation(self, request, template, body, key)
        except AnthropicError as err:
            return err.response(headers)
        if isinstance(result, Response):
            return result
        status, answer, tokens = result
        window.used_tokens += tokens
        try:
            self.guard.check_answer(request.method, template, status, answer)
        except AnswerViolation as err:
            return JSONResponse({"type": "error", "error": {"type": "api_error", "message": str(err)}}, 500)
        return JSONResponse(answer, status_code=status, headers=self._limit_headers(key))

    @staticmethod
    async def _json(request: Request) -> Any:
        raw = await request.body()
        if not raw:
            return None
        try:
            return json.loads(raw)
        except ValueError:
            raise AnthropicError(400, "invalid_request_error", "request body is not valid JSON") from None

    def _validate(self, request: Request, body: Any) -> str | None:
        try:
            return self.guard.check_request(
                request.method, request.url.path, dict(request.query_params), body, request.headers
            )
        except SpecViolation as err:
            raise AnthropicError(400, "invalid_request_error", "; ".join(err.problems)) from None

    # -- operations -------------------------------------------------------------------------------
    async def messages(self, request: Request, template: str | None, body: Any, key: str) -> Any:
        input_tokens = prompt_tokens(body["messages"], body.get("system") or "")
        words = reply_words(last_user_text(body["messages"]), int(body["max_tokens"]))
        message = {
            "id": f"msg_{uuid.uuid4().hex[:24]}",
            "type": "message",
            "role": "assistant",
            "model": body["model"],
            "content": [{"type": "text", "text": " ".join(words), "citations": None}],
            "stop_reason": "max_tokens" if len(words) >= int(body["max_tokens"]) else "end_turn",
            "stop_sequence": None,
            "stop_details": None,
            "container": None,
            "usage": usage(input_tokens, len(words)),
        }
        if body.get("stream"):
            self.window(key).used_tokens += len(words)
            events = self._events(message, words, input_tokens)
            return EventStream(paced(events, self.stream_interval_s, self.gate), self._limit_headers(key))
        return 200, message, len(words)

    def _events(self, message: dict[str, Any], words: list[str], input_tokens: int) -> Iterator[bytes]:
        start = {**message, "content": [], "stop_reason": None, "usage": usage(input_tokens, 1)}
        self.guard.check_schema("Message", start, "message_start.message")
        yield sse({"type": "message_start", "message": start}, "message_start")
        yield sse(
            {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
            "content_block_start",
        )
        yield sse({"type": "ping"}, "ping")
        for i, word in enumerate(words):
            delta = {"type": "text_delta", "text": word if i == 0 else " " + word}
            yield sse({"type": "content_block_delta", "index": 0, "delta": delta}, "content_block_delta")
        yield sse({"type": "content_block_stop", "index": 0}, "content_block_stop")
        final_usage = {"output_tokens": len(words)}
        ending: dict[str, Any] = {
            "type": "message_delta",
            "delta": {"stop_reason": message["stop_reason"], "stop_sequence": None},
            "usage": final_usage,
        }
        yield sse(ending, "message_delta")
        yield sse({"type": "message_stop"}, "message_stop")

    async def count_tokens(self, request: Request, template: str | None, body: Any, key: str) -> Any:
        return 200, {"input_tokens": prompt_tokens(body["messages"], body.get("system") or "")}, 0

    async def models(self, request: Request, template: str | None, body: Any, key: str) -> Any:
        data = [
            {"type": "model", "id": m, "display_name": name, "created_at": "2025-09-29T00:00:00Z",
             "capabilities": None, "max_input_tokens": 200000, "max_tokens": 64000}
            for m, name in MODELS
        ]  # fmt: skip
        limit = int(request.query_params.get("limit", 20))
        after = request.query_params.get("after_id")
        if after:
            ids = [d["id"] for d in data]
            data = data[ids.index(after) + 1 :] if after in ids else []
        page = data[:limit]
        return (
            200,
            {
                "data": page,
                "has_more": len(data) > limit,
                "first_id": page[0]["id"] if page else None,
                "last_id": page[-1]["id"] if page else None,
            },
            0,
        )

    async def create_batch(self, request: Request, template: str | None, body: Any, key: str) -> Any:
        batch = SimMessageBatch(
            f"msgbatch_{uuid.uuid4().hex[:24]}",
            len(body["requests"]),
            BatchClock(time.time(), self.batch_seconds),
        )
        self.batches[batch.id] = batch
        return 200, batch.view(time.time(), str(request.base_url).rstrip("/")), 0

    async def get_batch(self, request: Request, template: str | None, body: Any, key: str) -> Any:
        batch = self.batches.get(request.path_params["message_batch_id"])
        if batch is None:
            raise AnthropicError(404, "not_found_error", "message batch not found")
        return 200, batch.view(time.time(), str(request.base_url).rstrip("/")), 0

    def api_routes(self) -> list[BaseRoute]:
        def route(path: str, operation: Any, method: str) -> Route:
            async def endpoint(request: Request) -> Response:
                return await _anthropic(request).handle(request, operation)

            return Route(path, endpoint, methods=[method])

        cls = AnthropicSimulator
        return [
            route("/v1/messages", cls.messages, "POST"),
            route("/v1/messages/count_tokens", cls.count_tokens, "POST"),
            route("/v1/models", cls.models, "GET"),
            route("/v1/messages/batches", cls.create_batch, "POST"),
            route("/v1/messages/batches/{message_batch_id}", cls.get_batch, "GET"),
        ]

    def admin_routes(self) -> list[BaseRoute]:
        return ai_admin_routes(_anthropic)


def _fault_error(status: int) -> AnthropicError:
    if status == 529:
        return AnthropicError(529, "overloaded_error", "Overloaded")
    if status == 429:
        return AnthropicError(
            429, "rate_limit_error", "Number of request tokens has exceeded your per-minute rate limit"
        )
    return AnthropicError(status, "api_error", "Internal server error")


def _anthropic(request: Request) -> AnthropicSimulator:
    provider = provider_of(request)
    assert isinstance(provider, AnthropicSimulator)
    return provider
