"""Action parameters and outputs of the Anthropic connector (their JSON Schemas are the manifest's).

Parameters follow Anthropic's published description (``CreateMessageParams``,
``CountMessageTokensParams``, ``CreateMessageBatchParams``); outputs are normalised and carry the
provider's usage (``usage.input_tokens`` / ``usage.output_tokens``).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

MODEL = Field(min_length=1, max_length=256, description="model id, e.g. claude-sonnet-4-5")


class _Params(BaseModel):
    model_config = ConfigDict(extra="forbid")

    def to_api(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_none=True, exclude_unset=True)


class Message(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: Literal["user", "assistant"]
    content: str | list[dict[str, Any]]


class _Conversation(_Params):
    model: str = MODEL
    messages: list[Message] = Field(min_length=1, max_length=100000)
    system: str | list[dict[str, Any]] | None = None
    tools: list[dict[str, Any]] | None = None
    tool_choice: dict[str, Any] | None = None
    thinking: dict[str, Any] | None = None


class CreateMessage(_Conversation):
    max_tokens: int = Field(ge=1, description="the most tokens to generate")
    temperature: float | None = Field(default=None, ge=0, le=1)
    top_p: float | None = Field(default=None, ge=0, le=1)
    top_k: int | None = Field(default=None, ge=0)
    stop_sequences: list[str] | None = None
    metadata: dict[str, Any] | None = Field(default=None, description="user_id, for abuse detection")

    def to_api(self) -> dict[str, Any]:
        body = super().to_api()
        body["max_tokens"] = self.max_tokens
        return body


class CountTokens(_Conversation):
    pass


class ListModels(_Params):
    limit: int | None = Field(default=None, ge=1, le=1000)
    after_id: str | None = None


class BatchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    custom_id: str = Field(min_length=1, max_length=64, pattern=r"^[a-zA-Z0-9_-]{1,64}$")
    params: CreateMessage


class CreateMessageBatch(_Params):
    requests: list[BatchRequest] = Field(min_length=1, max_length=100000)

    def to_api(self) -> dict[str, Any]:
        return {"requests": [{"custom_id": r.custom_id, "params": r.params.to_api()} for r in self.requests]}


# -- outputs ---------------------------------------------------------------------------------------
class Usage(BaseModel):
    input_tokens: int = Field(ge=0)
    output_tokens: int = Field(ge=0)
    cache_creation_input_tokens: int | None = None
    cache_read_input_tokens: int | None = None

    @classmethod
    def from_api(cls, usage: Any) -> Usage:
        u = usage if isinstance(usage, dict) else {}
        return cls(
            input_tokens=int(u.get("input_tokens") or 0),
            output_tokens=int(u.get("output_tokens") or 0),
            cache_creation_input_tokens=u.get("cache_creation_input_tokens"),
            cache_read_input_tokens=u.get("cache_read_input_tokens"),
        )


class MessageResult(BaseModel):
    id: str
    model: str
    text: str = Field(description="the text blocks of the answer, joined")
    content: list[dict[str, Any]]
    stop_reason: str | None
    usage: Usage

    @classmethod
    def from_api(cls, body: dict[str, Any]) -> MessageResult:
        content = body.get("content") or []
        return cls(
            id=body["id"],
            model=body["model"],
            text="".join(b.get("text", "") for b in content if b.get("type") == "text"),
            content=content,
            stop_reason=body.get("stop_reason"),
            usage=Usage.from_api(body.get("usage")),
        )


class TokenCount(BaseModel):
    input_tokens: int


class ModelInfo(BaseModel):
    id: str
    display_name: str
    created_at: str


class ModelList(BaseModel):
    models: list[ModelInfo]
    has_more: bool
    last_id: str | None


class RequestCounts(BaseModel):
    processing: int = 0
    succeeded: int = 0
    errored: int = 0
    canceled: int = 0
    expired: int = 0


class MessageBatch(BaseModel):
    id: str
    processing_status: str
    request_counts: RequestCounts
    created_at: str
    ended_at: str | None = None
    expires_at: str
    results_url: str | None = None

    @classmethod
    def from_api(cls, body: dict[str, Any]) -> MessageBatch:
        return cls(
            id=body["id"],
            processing_status=body["processing_status"],
            request_counts=RequestCounts(**(body.get("request_counts") or {})),
            created_at=body["created_at"],
            ended_at=body.get("ended_at"),
            expires_at=body["expires_at"],
            results_url=body.get("results_url"),
        )


class MessageBatchEvent(BaseModel):
    """The ``message_batch_ended`` trigger's payload."""

    batch: MessageBatch
