"""Thin webhook events (docs/adr/0025): after parsing, the runtime completes the events of a
connector that overrides ``refetch_trigger_events`` through the gateway route of the connection;
a failed re-fetch is an outage to retry (``TriggerRefetchFailed``), not an unreadable delivery."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from hub_common.testing.service_keys import service_minter
from hub_connector_sdk import (
    ApiSpec,
    AuthenticationMethod,
    AuthSpec,
    BaseConnector,
    ConnectionContext,
    ConnectorCategory,
    ConnectorError,
    TriggerEvent,
    TriggerType,
    error_for,
    trigger,
)
from hub_connectors.registry import RegisteredConnector
from hub_connectors.runtime import ConnectorRuntime, PluginTokens, ProcessIsolation, ProviderClientFactory
from hub_connectors.runtime.executor import TriggerRefetchFailed

pytestmark = pytest.mark.unit
GATEWAY = "http://gateway.test"


class Thin(BaseConnector):
    id = "thin"
    name = "Thin"
    category = ConnectorCategory.CUSTOM
    description = "events that name an item"
    auth = AuthSpec(method=AuthenticationMethod.NONE)
    api = ApiSpec(base_url="https://thin.example")
    webhook_signature = "github-sha256"
    builtin = True  # runs in the service, as Notion does (plugins run the hook in their worker)

    def webhook_event_name(self, headers: Any, payload: Any) -> str | None:
        return "item.changed"

    @trigger("item_changed", type=TriggerType.UPDATED, events=["item.changed"])
    def on_item(self, event: str, payload: dict[str, Any]) -> dict[str, Any]:
        return {"item_id": payload["item_id"]}

    async def refetch_trigger_events(self, events: list[TriggerEvent]) -> list[TriggerEvent]:
        out = []
        for event in events:
            resp = await self.client.request(
                "GET", f"items/{event.payload['item_id']}", raise_for_status=False
            )
            if not resp.ok:
                raise error_for(resp)
            out.append(event.model_copy(update={"payload": {**event.payload, "item": resp.json()}}))
        return out


class Plain(Thin):
    id = "plain"
    refetch_trigger_events = BaseConnector.refetch_trigger_events  # type: ignore[assignment]


@pytest.fixture
def gateway() -> dict[str, Any]:
    return {"status": 200, "requests": []}


@pytest.fixture
async def runtime(gateway):
    def answer(request: httpx.Request) -> httpx.Response:
        gateway["requests"].append(request)
        if gateway["status"] != 200:
            return httpx.Response(gateway["status"], json={"message": "provider down"})
        return httpx.Response(200, json={"id": request.url.path.rsplit("/", 1)[-1], "title": "now"})

    factory = ProviderClientFactory(GATEWAY, transport_factory=lambda: httpx.MockTransport(answer))
    runtime = ConnectorRuntime(
        factory,
        plugins=ProcessIsolation(gateway_url=GATEWAY, max_workers=1, max_per_connector=1, grace_s=3.0),
        tokens=PluginTokens(service_minter("connectors")),
        action_timeout_s=5.0,
    )
    yield runtime
    await runtime.aclose()


def registered(cls: type[BaseConnector]) -> RegisteredConnector:
    return RegisteredConnector(manifest=cls.manifest(), connector_class=cls, source=f"builtin:{cls.__name__}")


CTX = ConnectionContext(connection_id="c-1", tenant_id="t-1")
BODY = json.dumps({"item_id": "i-7"}).encode()


async def test_thin_events_are_completed_through_the_connections_gateway_route(runtime, gateway):
    (event,) = await runtime.parse_webhook(registered(Thin), CTX, {}, BODY)
    assert event.payload == {"item_id": "i-7", "item": {"id": "i-7", "title": "now"}}
    (sent,) = gateway["requests"]
    assert str(sent.url) == f"{GATEWAY}/v1/proxy/c-1/items/i-7" and sent.headers["x-hub-tenant"] == "t-1"


async def test_connectors_without_the_hook_make_no_call(runtime, gateway):
    (event,) = await runtime.parse_webhook(registered(Plain), CTX, {}, BODY)
    assert event.payload == {"item_id": "i-7"} and gateway["requests"] == []


async def test_a_failed_refetch_is_retried_not_dead_lettered(runtime, gateway):
    gateway["status"] = 503
    with pytest.raises(TriggerRefetchFailed, match="provider down") as raised:
        await runtime.parse_webhook(registered(Thin), CTX, {}, BODY)
    assert not isinstance(raised.value, ConnectorError)  # ConnectorError means "unparseable": DLQ at once
