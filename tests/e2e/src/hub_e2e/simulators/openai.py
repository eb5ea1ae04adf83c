"""The OpenAI simulator: the six operations of ``openai.json`` (chat completions, responses,
embeddings, models, batches), API-key auth, OpenAI's rate-limit headers and errors, and streamed
chat completions in OpenAI's server-sent-event format.

Behaviour, from OpenAI's API reference:

- the API answers under ``/v1``; ``Authorization: Bearer <key>`` with a key registered by
  ``hub-sim openai --pat KEY`` (or ``POST /_sim/openai/keys``); anything else is 401
  ``invalid_api_key``;
- every request is validated against ``openai.json`` (400 ``invalid_request_error`` otherwise),
  every answer against its response schema and every streamed chunk against
  ``CreateChatCompletionStreamResponse``;
- every answer carries ``x-ratelimit-{limit,remaining,reset}-{requests,tokens}``, resets as Go
  durations (``6m0s``, ``12ms``); past a limit, 429 ``rate_limit_exceeded``;
- ``stream: true`` on ``/responses`` answers ``event: response.created`` … ``response.completed``
  (with the usage), every event checked against ``ResponseStreamEvent``;
- ``stream: true`` on ``/chat/completions`` answers ``data: {chunk}`` events (the first with the
  role, one per word, the last with ``finish_reason``), then, with
  ``stream_options.include_usage``, a chunk with empty ``choices`` and the ``usage``, then
  ``data: [DONE]``;
- a batch is ``validating`` when created, ``in_progress`` after, ``completed`` (with an output
  file and request counts) ``batch_seconds`` after its creation.

Simplified: ``input_file_id`` is not looked up (there is no files API in the kept description);
token counts are one per word; a streamed ``/responses`` call sends the text events of one
message (no tool calls, reasoning or refusals).
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from hub_e2e.simulators.ai_common import (
    AiSimulatorState,
    BatchClock,
    EventStream,
    add_fault,
    admin_body,
    bad_admin,
    configure,
    count_tokens,
    last_user_text,
    paced,
    reply_words,
    sse,
    vector,
)
from hub_e2e.simulators.ai_common import (
    prompt_tokens as prompt_tokens_of,
)
from hub_e2e.simulators.framework import ProviderSimulator, provider_of
from hub_e2e.simulators.spec_guard import AnswerViolation, SpecGuard, SpecViolation, WebhookGuard

MODELS = ("gpt-4o-mini", "gpt-4o", "text-embedding-3-small", "o3-mini")
DEFAULT_REPLY_WORDS = 12
OWNER = "system"


def go_duration(seconds: float) -> str:
    """Seconds as OpenAI writes them: ``6m0s``, ``1.5s``, ``12ms``."""
    if seconds < 1:
        return f"{max(1, round(seconds * 1000))}ms"
    minutes, rest = divmod(seconds, 60)
    rest = round(rest, 3)
    text = f"{rest:g}s"
    return f"{int(minutes)}m{text}" if minutes else text


class OpenAIError(Exception):
    def __init__(
        self, status: int, message: str, type_: str, code: str | None, param: str | None = None
    ) -> None:
        super().__init__(message)
        self.status, self.message, self.type, self.code, self.param = status, message, type_, code, param

    def response(self, headers: dict[str, str]) -> JSONResponse:
        body = {"error": {"message": self.message, "type": self.type, "param": self.param, "code": self.code}}
        return JSONResponse(body, status_code=self.status, headers=headers)


@dataclass
class SimBatch:
    id: str
    endpoint: str
    input_file_id: str
    completion_window: str
    metadata: dict[str, str] | None
    clock: BatchClock
    total: int = 3

    def view(self, now: float) -> dict[str, Any]:
        created = int(self.clock.created)
        body: dict[str, Any] = {
            "id": self.id,
            "object": "batch",
            "endpoint": self.endpoint,
            "errors": None,
            "input_file_id": self.input_file_id,
            "completion_window": self.completion_window,
            "created_at": created,
            "expires_at": created + 86400,
            "request_counts": {"total": self.total, "completed": 0, "failed": 0},
            "metadata": self.metadata,
        }
        if self.clock.ended(now):
            done = int(self.clock.created + self.clock.ends_after_s)
            body.update(
                status="completed",
                output_file_id=f"file-out{self.id[6:]}",
                in_progress_at=created,
                finalizing_at=done,
                completed_at=done,
                request_counts={"total": self.total, "completed": self.total, "failed": 0},
            )
        elif now - self.clock.created > 0.2:
            body.update(status="in_progress", in_progress_at=created)
        else:
            body["status"] = "validating"
        return {k: v for k, v in body.items() if v is not None}


class OpenAISimulator(AiSimulatorState, ProviderSimulator):
    name = "openai"
    oauth_flavor = "generic"  # OpenAI has no OAuth; the framework's OAuth side goes unused
    spec_name = "openai.json"
    api_prefixes = ("/v1",)

    def __init__(self, guard: SpecGuard, webhook_guard: WebhookGuard | None = None) -> None:
        super().__init__(guard, webhook_guard)
        self.init_ai_state()
        self.batches: dict[str, SimBatch] = {}

    def reset(self) -> None:
        super().reset()
        self.batches = {}
        self.windows.clear()
        self.faults.clear()
        self.calls.clear()

    def event_catalog(self) -> dict[str, tuple[str, ...]]:
        return {}  # OpenAI sends no webhooks the hub uses

    # -- request pipeline -------------------------------------------------------------------------
    def _limit_headers(self, key: str) -> dict[str, str]:
        window, now = self.window(key), time.time()
        reset = go_duration(window.reset_in(now))
        return {
            "x-ratelimit-limit-requests": str(window.requests),
            "x-ratelimit-limit-tokens": str(window.tokens),
            "x-ratelimit-remaining-requests": str(max(window.requests - window.used_requests, 0)),
            "x-ratelimit-remaining-tokens": str(max(window.tokens - window.used_tokens, 0)),
            "x-ratelimit-reset-requests": reset,
            "x-ratelimit-reset-tokens": reset,
            "x-request-id": f"req_{uuid.uuid4().hex}",
            "openai-processing-ms": "1",
        }

    async def handle(self, request: Request, operation: Any) -> Response:
        headers: dict[str, str] = {"x-request-id": f"req_{uuid.uuid4().hex}"}
        self.calls.append(
            {"method": request.method, "path": request.url.path, "headers": dict(request.headers)}
        )
        try:
            key = self._authenticate(request)
            body = await self._json(request)
            template = self._validate(request, body)
            window = self.window(key)
            fault = self.take_fault()
            if fault is not None:
                headers = self._limit_headers(key)
                if fault.retry_after_s is not None:
                    headers["retry-after"] = f"{fault.retry_after_s:g}"
                raise _fault_error(fault.status)
            spent = window.spent()
            if spent is not None:
                headers = self._limit_headers(key)
                raise OpenAIError(
                    429,
                    f"Rate limit reached for {spent} per min: Limit {getattr(window, spent)}. "
                    f"Please try again in {headers[f'x-ratelimit-reset-{spent}']}.",
                    spent,
                    "rate_limit_exceeded",
                )
            window.used_requests += 1
            window.used_tokens += count_tokens(body) if body is not None else 0
            result = await operation(self, request, template, body, key)
        except OpenAIError as err:
            return err.response(headers)
        if isinstance(result, Response):
            return result
        status, answer, tokens = result
        window.used_tokens += tokens
        try:
            self.guard.check_answer(request.method, template, status, answer)
        except AnswerViolation as err:
            return JSONResponse({"error": {"message": f"simulator answer broke the description: {err}"}}, 500)
        return JSONResponse(answer, status_code=status, headers=self._limit_headers(key))

    def _authenticate(self, request: Request) -> str:
        raw = request.headers.get("authorization", "")
        scheme, _, value = raw.partition(" ")
        key = self.known_key(value.strip()) if scheme.lower() == "bearer" else None
        if key is None:
            shown = (value[:3] + "*" * 4 + value[-4:]) if len(value) > 8 else "****"
            raise OpenAIError(
                401,
                f"Incorrect API key provided: {shown}. You can find your API key at "
                "https://platform.openai.com/account/api-keys.",
                "invalid_request_error",
                "invalid_api_key",
            )
        return key

    @staticmethod
    async def _json(request: Request) -> Any:
        raw = await request.body()
        if not raw:
            return None
        try:
            return json.loads(raw)
        except ValueError:
            raise OpenAIError(
                400, "We could not parse the JSON body of your request.", "invalid_request_error", None
            ) from None

    def _validate(self, request: Request, body: Any) -> str | None:
        path = request.url.path.removeprefix("/v1")
        query = dict(request.query_params)
        try:
            return self.guard.check_request(request.method, path, query, body, request.headers)
        except SpecViolation as err:
            raise OpenAIError(
                400, "Invalid request: " + "; ".join(err.problems), "invalid_request_error", None
            ) from None

    # -- operations -------------------------------------------------------------------------------
    async def chat_completions(self, request: Request, template: str | None, body: Any, key: str) -> Any:
        model = body["model"]
        prompt_tokens = prompt_tokens_of(body["messages"])
        limit = int(body.get("max_completion_tokens") or body.get("max_tokens") or DEFAULT_REPLY_WORDS)
        words = reply_words(last_user_text(body["messages"]), limit)
        completion_id = f"chatcmpl-{uuid.uuid4().hex[:24]}"
        created = int(time.time())
        usage = {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": len(words),
            "total_tokens": prompt_tokens + len(words),
        }
        if body.get("stream"):
            include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
            self.window(key).used_tokens += len(words)
            chunks = self._chunks(
                template, completion_id, created, model, words, usage if include_usage else None
            )
            return EventStream(paced(chunks, self.stream_interval_s, self.gate), self._limit_headers(key))
        answer = {
            "id": completion_id,
            "object": "chat.completion",
            "created": created,
            "model": model,
            "choices": [
                {
                    "index": 0,
                    "message": {
                        "role": "assistant",
                        "content": " ".join(words),
                        "refusal": None,
                        "annotations": [],
                    },
                    "finish_reason": "length"
                    if limit == len(words) and "max_completion_tokens" in body
                    else "stop",
                    "logprobs": None,
                }
            ],
            "usage": usage,
            "service_tier": "default",
        }
        return 200, answer, len(words)

    def _chunks(
        self,
        template: str | None,
        completion_id: str,
        created: int,
        model: str,
        words: list[str],
        usage: dict[str, int] | None,
    ) -> Iterator[bytes]:
        def chunk(delta: dict[str, Any], finish: str | None = None, choices: bool = True) -> bytes:
            data: dict[str, Any] = {
                "id": completion_id,
                "object": "chat.completion.chunk",
                "created": created,
                "model": model,
                "system_fingerprint": "fp_sim",
                # OpenAI pads chunks with a random "obfuscation" string; the simulator's padding
                # is the chunk's emission time (epoch seconds), so a relay's delay can be measured.
                "obfuscation": f"{time.time():.6f}",
                "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]
                if choices
                else [],
            }
            # OpenAI sends "usage": null here with include_usage; the description's $ref+nullable
            # does not allow null (OpenAPI 3.1 ignores nullable), so it is left out.
            return self._event(template, data)

        yield chunk({"role": "assistant", "content": "", "refusal": None})
        for i, word in enumerate(words):
            yield chunk({"content": word if i == 0 else " " + word})
        yield chunk({}, "stop")
        if usage is not None:
            final = {
                "id": completion_id,
                "object": "chat.completion.chunk",
                "created": created,
                "model": model,
                "system_fingerprint": "fp_sim",
                "choices": [],
                "usage": usage,
            }
            yield self._event(template, final)
        yield b"data: [DONE]\n\n"

    def _event(self, template: str | None, data: dict[str, Any]) -> bytes:
        self.guard.check_stream_event("POST", template, data)  # a simulator bug fails loudly
        return sse(data)

    async def responses(self, request: Request, template: str | None, body: Any, key: str) -> Any:
        prompt = body.get("input")
        text_in = prompt if isinstance(prompt, str) else last_user_text(prompt or [])
        words = reply_words(text_in, int(body.get("max_output_tokens") or DEFAULT_REPLY_WORDS))
        input_tokens = count_tokens(prompt)
        message_id = f"msg_{uuid.uuid4().hex}"
        answer = {
            "id": f"resp_{uuid.uuid4().hex}",
            "object": "response",
            "created_at": int(time.time()),
            "status": "completed",
            "error": None,
            "incomplete_details": None,
            "instructions": body.get("instructions"),
            "model": body.get("model") or "gpt-4o-mini",
            "output": [
                {
                    "id": message_id,
                    "type": "message",
                    "role": "assistant",
                    "status": "completed",
                    "content": [
                        {"type": "output_text", "text": " ".join(words), "annotations": [], "logprobs": []}
                    ],
                }
            ],
            "parallel_tool_calls": True,
            "temperature": body.get("temperature", 1.0),
            "top_p": body.get("top_p", 1.0),
            "tool_choice": "auto",
            "tools": [],
            "metadata": body.get("metadata") or {},
            "usage": {
                "input_tokens": input_tokens,
                "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
                "output_tokens": len(words),
                "output_tokens_details": {"reasoning_tokens": 0},
                "total_tokens": input_tokens + len(words),
            },
        }
        if body.get("stream"):
            self.window(key).used_tokens += len(words)
            events = self._response_events(template, answer, message_id, words)
            return EventStream(paced(events, self.stream_interval_s, self.gate), self._limit_headers(key))
        return 200, answer, len(words)

    def _response_events(
        self, template: str | None, answer: dict[str, Any], message_id: str, words: list[str]
    ) -> Iterator[bytes]:
        """The Responses API's stream: created, in progress, the message and its text part added,
        a delta per word, the text, part and item done, completed (with the usage)."""
        sequence = iter(range(1_000_000))
        pending = {k: v for k, v in answer.items() if k != "usage"} | {"status": "in_progress", "output": []}
        text = " ".join(words)
        item = {**answer["output"][0], "status": "in_progress", "content": []}
        part = {"type": "output_text", "text": "", "annotations": [], "logprobs": []}
        where = {"item_id": message_id, "output_index": 0, "content_index": 0}

        def event(kind: str, **fields: Any) -> bytes:
            data = {"type": kind, "sequence_number": next(sequence), **fields}
            self.guard.check_stream_event("POST", template, data)
            return sse(data, kind)

        yield event("response.created", response=pending)
        yield event("response.in_progress", response=pending)
        yield event("response.output_item.added", output_index=0, item=item)
        yield event("response.content_part.added", **where, part=part)
        for i, word in enumerate(words):
            yield event(
                "response.output_text.delta", **where, delta=word if i == 0 else " " + word, logprobs=[]
            )
        yield event("response.output_text.done", **where, text=text, logprobs=[])
        yield event("response.content_part.done", **where, part={**part, "text": text})
        yield event("response.output_item.done", output_index=0, item=answer["output"][0])
        yield event("response.completed", response=answer)

    async def embeddings(self, request: Request, template: str | None, body: Any, key: str) -> Any:
        inputs = body["input"] if isinstance(body["input"], list) else [body["input"]]
        dims = int(body.get("dimensions") or 16)
        data = [
            {"object": "embedding", "index": i, "embedding": vector(json.dumps(text), dims)}
            for i, text in enumerate(inputs)
        ]
        tokens = count_tokens(inputs)
        answer = {
            "object": "list",
            "data": data,
            "model": body["model"],
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
        }
        return 200, answer, 0

    async def models(self, request: Request, template: str | None, body: Any, key: str) -> Any:
        data = [{"id": m, "object": "model", "created": 1715367049, "owned_by": OWNER} for m in MODELS]
        return 200, {"object": "list", "data": data}, 0

    async def create_batch(self, request: Request, template: str | None, body: Any, key: str) -> Any:
        batch = SimBatch(
            id=f"batch_{uuid.uuid4().hex[:24]}",
            endpoint=body["endpoint"],
            input_file_id=body["input_file_id"],
            completion_window=body["completion_window"],
            metadata=body.get("metadata"),
            clock=BatchClock(time.time(), self.batch_seconds),
        )
        self.batches[batch.id] = batch
        return 200, batch.view(time.time()), 0

    async def get_batch(self, request: Request, template: str | None, body: Any, key: str) -> Any:
        batch = self.batches.get(request.path_params["batch_id"])
        if batch is None:
            raise OpenAIError(
                404,
                f"No batch found with id '{request.path_params['batch_id']}'.",
                "invalid_request_error",
                None,
            )
        return 200, batch.view(time.time()), 0

    def api_routes(self) -> list[BaseRoute]:
        def route(path: str, operation: Any, method: str) -> Route:
            async def endpoint(request: Request) -> Response:
                return await _openai(request).handle(request, operation)

            return Route(path, endpoint, methods=[method])

        cls = OpenAISimulator
        return [
            route("/chat/completions", cls.chat_completions, "POST"),
            route("/responses", cls.responses, "POST"),
            route("/embeddings", cls.embeddings, "POST"),
            route("/models", cls.models, "GET"),
            route("/batches", cls.create_batch, "POST"),
            route("/batches/{batch_id}", cls.get_batch, "GET"),
        ]

    def admin_routes(self) -> list[BaseRoute]:
        return ai_admin_routes(_openai)


def _fault_error(status: int) -> OpenAIError:
    if status == 429:
        return OpenAIError(429, "Rate limit reached for requests", "requests", "rate_limit_exceeded")
    if status == 503:
        return OpenAIError(
            503, "The engine is currently overloaded, please try again later", "server_error", None
        )
    return OpenAIError(status, "The server had an error while processing your request.", "server_error", None)


def _openai(request: Request) -> OpenAISimulator:
    provider = provider_of(request)
    assert isinstance(provider, OpenAISimulator)
    return provider


def ai_admin_routes(get: Any) -> list[BaseRoute]:
    """``/_sim/<provider>/keys|settings|faults|calls``, shared by both AI simulators."""

    async def keys(request: Request) -> Response:
        body = await admin_body(request)
        if not isinstance(body.get("key"), str) or len(body["key"]) < 8:
            return bad_admin("key is a string of at least 8 characters")
        get(request).add_pat(body["key"])
        return Response(status_code=204)

    async def settings(request: Request) -> Response:
        try:
            return JSONResponse(configure(get(request), await admin_body(request)))
        except (ValueError, TypeError) as err:
            return bad_admin(str(err))

    async def faults(request: Request) -> Response:
        try:
            return JSONResponse(add_fault(get(request), await admin_body(request)), status_code=201)
        except (ValueError, TypeError) as err:
            return bad_admin(str(err))

    async def calls(request: Request) -> Response:
        return JSONResponse(get(request).calls)

    async def drain(request: Request) -> Response:
        return Response(status_code=204)

    async def release(request: Request) -> Response:
        """Let held streams go on (``hold_after_first``), and hold no more."""
        state = get(request)
        if state.gate is not None:
            state.gate.set()
        state.gate = None
        return Response(status_code=204)

    return [
        Route("/keys", keys, methods=["POST"]),
        Route("/settings", settings, methods=["POST"]),
        Route("/faults", faults, methods=["POST"]),
        Route("/calls", calls, methods=["GET"]),
        Route("/drain", drain, methods=["POST"]),
        Route("/release", release, methods=["POST"]),
    ]
