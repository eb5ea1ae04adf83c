"""``OpenAIConnector``: chat completions, responses, embeddings, models and batches.

Every call goes through the hub's gateway, which injects the API key (``Authorization: Bearer``)
and the connection's optional ``OpenAI-Organization`` / ``OpenAI-Project`` headers (from its
config, ``api.config_headers``); this code never sees a credential. A compatible endpoint (Azure
OpenAI's v1 API, a self-hosted server speaking the same API) is a connection whose ``base_url``
points there; its host must be one the operator allows (``HUB_OPENAI_COMPATIBLE_HOSTS``). The
gateway meters the token usage of every answer, streamed or not (``api.usage_format``).
See docs/connectors/openai.md.
"""

from __future__ import annotations

import os
from typing import Any

from hub_connector_openai.models import (
    Batch,
    BatchEvent,
    ChatCompletion,
    ChatCompletionResult,
    CreateBatch,
    CreateEmbeddings,
    CreateResponse,
    EmbeddingsResult,
    ListModels,
    ModelInfo,
    ModelList,
    ResponseResult,
)
from hub_connector_openai.rate_limit import wait_seconds
from hub_connector_sdk import (
    ApiKeyPlacement,
    ApiSpec,
    AuthenticationMethod,
    AuthSpec,
    BaseConnector,
    ConnectorCategory,
    CredentialField,
    PollResult,
    ProviderError,
    ProviderResponse,
    TriggerEvent,
    TriggerType,
    WatchCursor,
    action,
    error_for,
    polling_trigger,
)

API_BASE = "https://api.openai.com/v1"
COMPATIBLE_HOSTS_ENV = "HUB_OPENAI_COMPATIBLE_HOSTS"
FINAL_BATCH_STATUSES = frozenset({"completed", "failed", "expired", "cancelled"})
_URL = {"type": "string", "format": "uri", "maxLength": 2048}


def compatible_hosts() -> list[str]:
    """Hosts of OpenAI-compatible endpoints the operator allows (comma-separated ``host[:port]``)."""
    raw = os.environ.get(COMPATIBLE_HOSTS_ENV, "")
    return [h.strip().lower() for h in raw.split(",") if h.strip()]


CONFIG_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "base_url": {
            **_URL,
            "description": "a compatible endpoint, e.g. https://<resource>.openai.azure.com/openai/v1",
        },
        "organization": {
            "type": "string",
            "pattern": r"^[A-Za-z0-9_-]{1,128}$",
            "description": "OpenAI-Organization",
        },
        "project": {"type": "string", "pattern": r"^[A-Za-z0-9_-]{1,128}$", "description": "OpenAI-Project"},
    },
    "additionalProperties": False,
}


def openai_error(resp: ProviderResponse) -> ProviderError:
    """``error_for``, plus the wait a 429 implies from OpenAI's duration-style reset headers."""
    err = error_for(resp)
    if resp.status_code != 429:
        return err
    return ProviderError(
        err.message,
        code="provider_rate_limited",
        status_code=429,
        retry_after_s=wait_seconds(resp.headers),
        body_excerpt=err.body_excerpt,
    )


class OpenAIConnector(BaseConnector):
    id = "openai"
    name = "OpenAI"
    version = "1.0.0"
    min_hub_version = "0.1.0"
    category = ConnectorCategory.AI
    description = (
        "Chat completions, responses, embeddings, models and batches on OpenAI or a compatible endpoint."
    )
    docs_url = "https://platform.openai.com/docs/api-reference"
    builtin = True
    auth = AuthSpec(
        method=AuthenticationMethod.API_KEY,
        api_key=ApiKeyPlacement(location="header", name="Authorization", prefix="Bearer "),
        fields=[
            CredentialField(
                key="api_key",
                label="API key",
                pattern=r"^[A-Za-z0-9_\-]{20,256}$",
                description="platform.openai.com → API keys (sk-... or sk-proj-...)",
            )
        ],
    )
    api = ApiSpec(
        base_url=API_BASE,
        allowed_hosts=["api.openai.com", *compatible_hosts()],
        config_schema=CONFIG_SCHEMA,
        config_headers={"organization": "OpenAI-Organization", "project": "OpenAI-Project"},
        usage_format="openai",
    )
    health_path = "models"

    async def _call(self, method: str, path: str, **kw: Any) -> ProviderResponse:
        resp = await self.client.request(method, path, raise_for_status=False, **kw)
        if not resp.ok:
            raise openai_error(resp)
        return resp

    # -- actions ------------------------------------------------------------------------------------
    @action(params=ChatCompletion, output=ChatCompletionResult)
    async def chat_completion(self, params: ChatCompletion) -> ChatCompletionResult:
        """Generate a model response for a conversation (POST /chat/completions)."""
        resp = await self._call("POST", "chat/completions", json=params.to_api())
        return ChatCompletionResult.from_api(resp.json())

    @action(params=CreateResponse, output=ResponseResult)
    async def create_response(self, params: CreateResponse) -> ResponseResult:
        """Create a model response with the Responses API (POST /responses)."""
        resp = await self._call("POST", "responses", json=params.to_api())
        return ResponseResult.from_api(resp.json())

    @action(params=CreateEmbeddings, output=EmbeddingsResult, idempotent=True)
    async def create_embeddings(self, params: CreateEmbeddings) -> EmbeddingsResult:
        """Embedding vectors for one or more texts (POST /embeddings)."""
        resp = await self._call("POST", "embeddings", json=params.to_api())
        return EmbeddingsResult.from_api(resp.json())

    @action(params=ListModels, output=ModelList, idempotent=True)
    async def list_models(self, params: ListModels) -> ModelList:
        """The models the key can use (GET /models)."""
        body = (await self._call("GET", "models")).json()
        return ModelList(
            models=[ModelInfo(id=m["id"], created=m["created"], owned_by=m["owned_by"]) for m in body["data"]]
        )

    @action(params=CreateBatch, output=Batch)
    async def create_batch(self, params: CreateBatch) -> Batch:
        """Start a batch over an uploaded JSONL file (POST /batches); ``batch_completed`` fires
        when it ends."""
        resp = await self._call("POST", "batches", json=params.to_api())
        return Batch.from_api(resp.json())

    # -- triggers -----------------------------------------------------------------------------------
    @classmethod
    def polled_items(cls, action_id: str, data: Any) -> list[tuple[str, str]]:
        if action_id == "create_batch" and isinstance(data, dict) and data.get("id"):
            return [("batch_completed", str(data["id"]))]
        return []

    @polling_trigger("batch_completed", type=TriggerType.STATUS_CHANGED, interval_s=30, payload=BatchEvent)
    async def poll_batches(self, cursor: str | None) -> PollResult:
        """A batch started by ``create_batch`` reached a final status (completed, failed, expired
        or cancelled); fires once per batch."""
        state = WatchCursor.decode(cursor)
        events: list[TriggerEvent] = []
        still: list[str] = []
        for batch_id in state.pending:
            resp = await self.client.request(
                "GET", self.expand_path("batches/{batch_id}", batch_id=batch_id), raise_for_status=False
            )
            if resp.status_code == 404:
                continue  # gone (another project's, or deleted): nothing will ever fire for it
            if not resp.ok:
                raise openai_error(resp)
            batch = Batch.from_api(resp.json())
            if batch.status not in FINAL_BATCH_STATUSES:
                still.append(batch_id)
                continue
            events.append(
                TriggerEvent(
                    trigger_id="batch_completed",
                    payload=BatchEvent(batch=batch).model_dump(mode="json"),
                    event_id=batch.id,
                    dedupe_key=f"openai:batch:{batch.id}:{batch.status}",
                )
            )
        return PollResult(events=events, cursor=WatchCursor(still).encode())
