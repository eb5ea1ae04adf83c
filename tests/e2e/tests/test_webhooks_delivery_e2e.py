"""Webhooks end to end with real processes (docs/adr/0020): a GitHub connection on the simulator,
an ``auto`` registration that creates the hook there, an issue opened at the simulator arrives
signed at the webhooks service, the connectors service's faust agent fires ``issue_opened`` on
``integration.trigger-fired``, and a subscriber gets a Standard Webhooks push that verifies with
``standardwebhooks`` (the reference implementation; it shares no code with the hub)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import httpx
import pytest
from standardwebhooks import Webhook

from hub_common.settings import HubSettings
from hub_common.testing.events import expect_events
from hub_common.web.auth import mint_user_token
from hub_connector_sdk.testkit import spec_file
from hub_e2e.processes import ServiceProcess
from hub_e2e.receiver import WebhookReceiver
from hub_e2e.simulators.runner import ProviderSim

pytestmark = pytest.mark.e2e
TENANT = "e2e-webhooks-delivery"
PAT = "ghp_e2eWebhooksDeliveryToken0000001"


def headers() -> dict[str, str]:
    token = mint_user_token(HubSettings(), tenant=TENANT, user="alice", tier="writerpro")
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
def hub(hub_stack, module_dsn) -> Iterator[dict]:
    if spec_file("github-rest.json") is None:
        pytest.skip("github-rest.json not available (HUB_SPECS_DIR)")
    with ProviderSim(provider="github", pats={PAT: "pat-owner"}) as sim:
        vault, connectors = ServiceProcess("vault", {}), ServiceProcess("connectors", {})
        gateway, webhooks = ServiceProcess("gateway", {}), ServiceProcess("webhooks", {})
        env = {
            "HUB_POSTGRES_DSN": module_dsn,
            "HUB_KAFKA_BOOTSTRAP": hub_stack.kafka_bootstrap,
            "HUB_REDIS_URL": hub_stack.redis_url,
            "HUB_OUTBOUND_ALLOWLIST": "127.0.0.1",
            "HUB_GITHUB_ENTERPRISE_HOSTS": "127.0.0.1",
            "HUB_VAULT_URL": vault.url,
            "HUB_CONNECTORS_URL": connectors.url,
            "HUB_GATEWAY_URL": gateway.url,
            "HUB_WEBHOOKS_URL": webhooks.url,
            "HUB_OAUTH_URL": "http://127.0.0.1:9",
            "HUB_CONNECTORS_CONSUMER_OFFSET_RESET": "latest",
            "HUB_WEBHOOKS_DELIVERY_OFFSET_RESET": "latest",
            "HUB_WEBHOOKS_DELIVERY_POLL_S": "0.2",
        }
        procs = [vault, connectors, gateway, webhooks]
        try:
            for proc in procs:
                proc.env = env
                proc.migrate()
            for proc in procs:
                proc.start()
            yield {"sim": sim, "connectors": connectors, "webhooks": webhooks}
        finally:
            for proc in reversed(procs):
                proc.stop()


def wait_active(hub, cid: str) -> None:
    deadline = time.monotonic() + 30
    while True:
        body = httpx.get(f"{hub['connectors'].url}/v1/connections/{cid}", headers=headers()).json()
        if body.get("status") == "active":
            return
        assert time.monotonic() < deadline, f"connection stayed {body.get('status')}: {body}"
        httpx.post(f"{hub['connectors'].url}/v1/connections/{cid}/health", headers=headers(), timeout=30)
        time.sleep(0.2)


def connect(hub) -> str:
    created = httpx.post(
        f"{hub['connectors'].url}/v1/connections",
        headers=headers(),
        json={
            "connector_id": "github_pat",
            "name": f"pat {time.monotonic_ns()}",
            "config": {"base_url": f"{hub['sim'].url}/api/v3", "webhook_repository": "pat-owner/sandbox"},
            "credentials": {"token": PAT},
        },
    )
    assert created.status_code == 201, created.text
    cid: str = created.json()["id"]
    wait_active(hub, cid)
    return cid


async def test_an_issue_opened_at_github_reaches_a_subscriber_signed(hub, hub_stack):
    webhooks = hub["webhooks"].url
    cid = connect(hub)
    async with httpx.AsyncClient(headers=headers(), timeout=60) as api:
        await _deliver(hub, hub_stack, api, webhooks, cid)


async def _deliver(hub, hub_stack, api: httpx.AsyncClient, webhooks: str, cid: str) -> None:
    with WebhookReceiver() as subscriber:
        sub = await api.post(
            f"{webhooks}/v1/webhooks/subscriptions",
            json={"url": subscriber.url, "trigger_ids": ["issue_opened"], "connection_ids": [cid]},
        )
        assert sub.status_code == 201, sub.text
        secret = sub.json()["secret"]
        registration = await api.post(
            f"{webhooks}/v1/webhooks/registrations",
            json={"connection_id": cid, "trigger_ids": ["issue_opened"], "mode": "auto"},
        )
        assert registration.status_code == 201, registration.text
        assert registration.json()["status"] == "active"
        async with expect_events(
            hub_stack.kafka_bootstrap,
            "integration.trigger-fired",
            match=lambda e: e["connection_id"] == cid,
            timeout_s=60,
        ) as fired:
            issue = await api.post(
                f"{hub['sim'].url}/api/v3/repos/pat-owner/sandbox/issues",
                json={"title": "Delivered end to end"},
                headers={"Authorization": f"Bearer {PAT}"},
            )
            assert issue.status_code == 201, issue.text
        event = fired[0].data
        assert event["trigger_id"] == "issue_opened" and event["connector_id"] == "github_pat"
        assert event["registration_id"] == registration.json()["id"]
        (push,) = subscriber.wait_for(1, timeout_s=60)
    verified = Webhook(secret).verify(
        push.body, {k: push.headers[k] for k in ("webhook-id", "webhook-timestamp", "webhook-signature")}
    )
    assert verified["type"] == "integration.trigger-fired"
    assert verified["data"]["trigger_id"] == "issue_opened"
    assert verified["data"]["payload"]["issue"]["title"] == "Delivered end to end"
    assert json.loads(push.body)["data"]["event_id"] == event["event_id"]
    log = (await api.get(f"{webhooks}/v1/webhooks/deliveries")).json()["deliveries"]
    assert [(d["id"], d["status"]) for d in log] == [(push.headers["webhook-id"], "delivered")]
