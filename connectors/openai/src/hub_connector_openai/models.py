"""Action parameters and outputs of the OpenAI connector (their JSON Schemas are the manifest's).

Parameters follow OpenAI's published description (``CreateChatCompletionRequest``,
``CreateResponse``, ``CreateEmbeddingRequest``, ``CreateBatchRequest``): the same names, ranges
and enums, limited to the fields an automation sets. Outputs are normalised and always carry the
provider's token usage as ``usage.input_tokens`` / ``usage.output_tokens``.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

MODEL = Field(min_length=1, max_length=256, description="model id, e.g. gpt-4o-mini")
METADATA = Field(
    default=None,
    max_length=16,
    description="up to 16 key-value pairs (keys ≤ 64, values ≤ 512 characters)",
)


class _Params(BaseModel):
    model_config = ConfigDict(extra="forbid")

    def to_api(self) -> dict[str, Any]:
        """The request body: the fields given, nothing else (OpenAI's defaults apply)."""
        return self.model_dump(mode="json", exclude_none=True, exclude_unset=True)


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: Literal["developer", "system", "user", "assistant", "tool"]
    content: str | list[dict[str, Any]] | None = None
    name: str | None = Field(default=None, max_length=64)
    tool_call_id: str | None = None
    tool_calls: list[dict[str, Any]] | None = None


class ChatCompletion(_Params):
    model: str = MODEL
    messages: list[ChatMessage] = Field(min_length=1, max_length=2048)
    max_completion_tokens: int | None = Field(default=None, ge=1)
    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, ge=0, le=1)
    n: int | None = Field(default=None, ge=1, le=128)
    stop: str | list[str] | None = Field(default=None, description="up to 4 sequences")
    presence_penalty: float | None = Field(default=None, ge=-2, le=2)
    frequency_penalty: float | None = Field(default=None, ge=-2, le=2)
    response_format: dict[str, Any] | None = Field(
        default=None, description="text, json_object or json_schema"
    )
    tools: list[dict[str, Any]] | None = Field(default=None, max_length=128)
    tool_choice: str | dict[str, Any] | None = None
    seed: int | None = None
    user: str | None = Field(default=None, max_length=256)
    metadata: dict[str, str] | None = METADATA
    store: bool | None = None


class CreateResponse(_Params):
    model: str = MODEL
    input: str | list[dict[str, Any]] = Field(description="text, or a list of input items")
    instructions: str | None = None
    max_output_tokens: int | None = Field(default=None, ge=16)
    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, ge=0, le=1)
    previous_response_id: str | None = None
    text: dict[str, Any] | None = Field(default=None, description="output format (text or json_schema)")
    tools: list[dict[str, Any]] | None = None
    metadata: dict[str, str] | None = METADATA
    store: bool | None = None


class CreateEmbeddings(_Params):
    model: str = MODEL
    input: str | list[str] = Field(description="text, or up to 2048 texts")
    dimensions: int | None = Field(default=None, ge=1)
    encoding_format: Literal["float", "base64"] | None = None
    user: str | None = Field(default=None, max_length=256)


class ListModels(_Params):
    pass


BatchEndpoint = Literal[
    "/v1/responses",
    "/v1/chat/completions",
    "/v1/embeddings",
    "/v1/completions",
    "/v1/moderations",
]


class CreateBatch(_Params):
    input_file_id: str = Field(min_length=1, description="an uploaded JSONL file (purpose: batch)")
    endpoint: BatchEndpoint
    completion_window: Literal["24h"] = "24h"
    metadata: dict[str, str] | None = METADATA

    def to_api(self) -> dict[str, Any]:
        body = super().to_api()
        body["completion_window"] = self.completion_window
        return body


# -- outputs ---------------------------------------------------------------------------------------
class Usage(BaseModel):
    input_tokens: int = Field(ge=0)
    output_tokens: int = Field(ge=0)
    total_tokens: int = Field(ge=0)

    @classmethod
    def from_api(cls, usage: Any) -> Usage:
        """Chat (``prompt_tokens``/``completion_tokens``) or Responses (``input_tokens``/...)."""
        u = usage if isinstance(usage, dict) else {}
        given = int(u.get("input_tokens", u.get("prompt_tokens", 0)) or 0)
        made = int(u.get("output_tokens", u.get("completion_tokens", 0)) or 0)
        return cls(
            input_tokens=given, output_tokens=made, total_tokens=int(u.get("total_tokens", given + made))
        )


class Choice(BaseModel):
    index: int
    role: str
    content: str | None
    tool_calls: list[dict[str, Any]] = Field(default_factory=list)
    finish_reason: str | None


class ChatCompletionResult(BaseModel):
    id: str
    model: str
    choices: list[Choice]
    content: str | None = Field(description="the first choice's text")
    usage: Usage

    @classmethod
    def from_api(cls, body: dict[str, Any]) -> ChatCompletionResult:
        choices = [
            Choice(
                index=c.get("index", i),
                role=(c.get("message") or {}).get("role", "assistant"),
                content=(c.get("message") or {}).get("content"),
                tool_calls=(c.get("message") or {}).get("tool_calls") or [],
                finish_reason=c.get("finish_reason"),
            )
            for i, c in enumerate(body.get("choices") or [])
        ]
        return cls(
            id=body["id"],
            model=body["model"],
            choices=choices,
            content=choices[0].content if choices else None,
            usage=Usage.from_api(body.get("usage")),
        )


class ResponseResult(BaseModel):
    id: str
    model: str
    status: str | None
    output_text: str = Field(description="the text of every output message, joined")
    output: list[dict[str, Any]]
    usage: Usage

    @classmethod
    def from_api(cls, body: dict[str, Any]) -> ResponseResult:
        texts = [
            part.get("text", "")
            for item in body.get("output") or []
            if item.get("type") == "message"
            for part in item.get("content") or []
            if part.get("type") == "output_text"
        ]
        return cls(
            id=body["id"],
            model=body["model"],
            status=body.get("status"),
            output_text="".join(texts),
            output=body.get("output") or [],
            usage=Usage.from_api(body.get("usage")),
        )


class Embedding(BaseModel):
    index: int
    embedding: list[float] | str


class EmbeddingsResult(BaseModel):
    model: str
    embeddings: list[Embedding]
    usage: Usage

    @classmethod
    def from_api(cls, body: dict[str, Any]) -> EmbeddingsResult:
        return cls(
            model=body["model"],
            embeddings=[
                Embedding(index=e["index"], embedding=e["embedding"]) for e in body.get("data") or []
            ],
            usage=Usage.from_api(body.get("usage")),
        )


class ModelInfo(BaseModel):
    id: str
    created: int
    owned_by: str


class ModelList(BaseModel):
    models: list[ModelInfo]


class BatchCounts(BaseModel):
    total: int = 0
    completed: int = 0
    failed: int = 0


class Batch(BaseModel):
    id: str
    status: str
    endpoint: str
    input_file_id: str
    output_file_id: str | None = None
    error_file_id: str | None = None
    created_at: int
    completed_at: int | None = None
    request_counts: BatchCounts = Field(default_factory=BatchCounts)
    usage: Usage | None = None
    metadata: dict[str, str] | None = None

    @classmethod
    def from_api(cls, body: dict[str, Any]) -> Batch:
        return cls(
            id=body["id"],
            status=body["status"],
            endpoint=body["endpoint"],
            input_file_id=body["input_file_id"],
            output_file_id=body.get("output_file_id"),
            error_file_id=body.get("error_file_id"),
            created_at=body["created_at"],
            completed_at=body.get("completed_at"),
            request_counts=BatchCounts(**(body.get("request_counts") or {})),
            usage=Usage.from_api(body["usage"]) if body.get("usage") else None,
            metadata=body.get("metadata"),
        )


class BatchEvent(BaseModel):
    """The ``batch_completed`` trigger's payload."""

    batch: Batch
