"""``AnthropicConnector``: messages, token counts, models and message batches.

The gateway injects the API key as ``x-api-key`` and the manifest's ``anthropic-version:
2023-06-01``; this code never sees a credential. A compatible endpoint (a proxy or a cloud
deployment speaking the same API) is a connection whose ``base_url`` points there; the operator
lists its host in ``HUB_ANTHROPIC_COMPATIBLE_HOSTS``. 429 (rate limited) and 529 (overloaded)
are retryable, with the wait Anthropic's headers imply. See docs/connectors/anthropic.md.
"""

from __future__ import annotations

import os
from typing import Any

from hub_connector_anthropic.models import (
    CountTokens,
    CreateMessage,
    CreateMessageBatch,
    ListModels,
    MessageBatch,
    MessageBatchEvent,
    MessageResult,
    ModelInfo,
    ModelList,
    TokenCount,
)
from hub_connector_anthropic.rate_limit import wait_seconds
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

API_BASE = "https://api.anthropic.com"
API_VERSION = "2023-06-01"
COMPATIBLE_HOSTS_ENV = "HUB_ANTHROPIC_COMPATIBLE_HOSTS"
_URL = {"type": "string", "format": "uri", "maxLength": 2048}


def compatible_hosts() -> list[str]:
    raw = os.environ.get(COMPATIBLE_HOSTS_ENV, "")
    return [h.strip().lower() for h in raw.split(",") if h.strip()]


def anthropic_error(resp: ProviderResponse) -> ProviderError:
    """``error_for``, plus 429 and 529 (overloaded) as retryable with the wait they imply."""
    err = error_for(resp)
    if resp.status_code not in (429, 529):
        return err
    return ProviderError(
        err.message,
        code="provider_rate_limited" if resp.status_code == 429 else "provider_overloaded",
        status_code=resp.status_code,
        retry_after_s=wait_seconds(resp.status_code, resp.headers),
        body_excerpt=err.body_excerpt,
    )


class AnthropicConnector(BaseConnector):
    id = "anthropic"
    name = "Anthropic"
    version = "1.0.0"
    min_hub_version = "0.1.0"
    category = ConnectorCategory.AI
    description = "Claude messages, token counts, models and message batches on Anthropic's API."
    docs_url = "https://docs.anthropic.com/en/api"
    builtin = True
    auth = AuthSpec(
        method=AuthenticationMethod.API_KEY,
        api_key=ApiKeyPlacement(location="header", name="x-api-key", prefix=""),
        fields=[
            CredentialField(
                key="api_key",
                label="API key",
                pattern=r"^[A-Za-z0-9_\-]{20,256}$",
                description="console.anthropic.com → API keys (sk-ant-...)",
            )
        ],
    )
    api = ApiSpec(
        base_url=API_BASE,
        allowed_hosts=["api.anthropic.com", *compatible_hosts()],
        default_headers={"anthropic-version": API_VERSION},
        config_schema={
            "type": "object",
            "properties": {"base_url": {**_URL, "description": "a compatible endpoint"}},
            "additionalProperties": False,
        },
        usage_format="anthropic",
    )
    health_path = "v1/models"

    async def _call(self, method: str, path: str, **kw: Any) -> ProviderResponse:
        resp = await self.client.request(method, path, raise_for_status=False, **kw)
        if not resp.ok:
            raise anthropic_error(resp)
        return resp

    # -- actions ------------------------------------------------------------------------------------
    @action(params=CreateMessage, output=MessageResult)
    async def create_message(self, params: CreateMessage) -> MessageResult:
        """Send a conversation, get Claude's next message (POST /v1/messages)."""
        resp = await self._call("POST", "v1/messages", json=params.to_api())
        return MessageResult.from_api(resp.json())

    @action(params=CountTokens, output=TokenCount, idempotent=True)
    async def count_tokens(self, params: CountTokens) -> TokenCount:
        """How many input tokens a conversation would use (POST /v1/messages/count_tokens)."""
        resp = await self._call("POST", "v1/messages/count_tokens", json=params.to_api())
        return TokenCount(input_tokens=resp.json()["input_tokens"])

    @action(params=ListModels, output=ModelList, idempotent=True)
    async def list_models(self, params: ListModels) -> ModelList:
        """The models the key can use (GET /v1/models), one page."""
        query = params.to_api()
        body = (await self._call("GET", "v1/models", params=query or None)).json()
        return ModelList(
            models=[
                ModelInfo(id=m["id"], display_name=m["display_name"], created_at=m["created_at"])
                for m in body["data"]
            ],
            has_more=bool(body.get("has_more")),
            last_id=body.get("last_id"),
        )

    @action(params=CreateMessageBatch, output=MessageBatch)
    async def create_message_batch(self, params: CreateMessageBatch) -> MessageBatch:
        """Queue many message requests at half price (POST /v1/messages/batches);
        ``message_batch_ended`` fires when processing ends."""
        resp = await self._call("POST", "v1/messages/batches", json=params.to_api())
        return MessageBatch.from_api(resp.json())

    # -- triggers -----------------------------------------------------------------------------------
    @classmethod
    def polled_items(cls, action_id: str, data: Any) -> list[tuple[str, str]]:
        if action_id == "create_message_batch" and isinstance(data, dict) and data.get("id"):
            return [("message_batch_ended", str(data["id"]))]
        return []

    @polling_trigger(
        "message_batch_ended", type=TriggerType.STATUS_CHANGED, interval_s=30, payload=MessageBatchEvent
    )
    async def poll_message_batches(self, cursor: str | None) -> PollResult:
        """A message batch started by ``create_message_batch`` ended (every request succeeded,
        errored, was canceled or expired); fires once per batch."""
        state = WatchCursor.decode(cursor)
        events: list[TriggerEvent] = []
        still: list[str] = []
        for batch_id in state.pending:
            path = self.expand_path("v1/messages/batches/{message_batch_id}", message_batch_id=batch_id)
            resp = await self.client.request("GET", path, raise_for_status=False)
            if resp.status_code == 404:
                continue
            if not resp.ok:
                raise anthropic_error(resp)
            batch = MessageBatch.from_api(resp.json())
            if batch.processing_status != "ended":
                still.append(batch_id)
                continue
            events.append(
                TriggerEvent(
                    trigger_id="message_batch_ended",
                    payload=MessageBatchEvent(batch=batch).model_dump(mode="json"),
                    event_id=batch.id,
                    dedupe_key=f"anthropic:message_batch:{batch.id}",
                )
            )
        return PollResult(events=events, cursor=WatchCursor(still).encode())
