"""The flows users depend on, across every service as real processes (docs/testing.md):

* a disconnect is refused by every gateway replica within a second, and the provider is never
  called again through the connection;
* a rotated API key (``PUT /v1/connections/{id}/credentials``) is what every replica sends next;
* license limits hold wherever they apply: the connection slot (freed by a disconnect),
  webhooks, custom connectors at the connectors service and at the gateway.

The provider is ``hub_e2e.keyed_provider`` (an API-key provider on loopback) behind the
``keyedsim`` plugin and the built-in OpenAI connector pointed at it.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from hub_common.settings import HubSettings
from hub_common.web.auth import mint_user_token
from hub_e2e.keyed_provider import KeyedProvider, keyed_plugin_path
from hub_e2e.processes import ServiceProcess, running_hub

pytestmark = pytest.mark.e2e
KEY = "keyed-e2e-flows-0123456789"
SERVICES = ("vault", "oauth", "connectors", "gateway", "gateway-2", "webhooks")


@pytest.fixture(scope="module")
def hub(hub_stack, module_dsn, tmp_path_factory) -> Iterator[dict[str, Any]]:
    plugins = keyed_plugin_path(tmp_path_factory.mktemp("plugins"))
    env = {
        "HUB_OUTBOUND_ALLOWLIST": "127.0.0.1",
        "HUB_OPENAI_COMPATIBLE_HOSTS": "127.0.0.1",
        "PYTHONPATH": str(plugins),
    }
    with KeyedProvider(KEY) as provider, running_hub(hub_stack, module_dsn, SERVICES, env) as procs:
        yield {"provider": provider, **procs}


def auth(tenant: str, tier: str) -> dict[str, str]:
    return {
        "Authorization": f"Bearer {mint_user_token(HubSettings(), tenant=tenant, user='alice', tier=tier)}"
    }


def create(hub: dict[str, Any], tenant: str, tier: str, connector_id: str, **extra: Any) -> httpx.Response:
    body = {"connector_id": connector_id, "name": f"{connector_id} {time.monotonic_ns()}", **extra}
    return httpx.post(
        f"{hub['connectors'].url}/v1/connections", headers=auth(tenant, tier), json=body, timeout=30
    )


def keyed(hub: dict[str, Any], tenant: str) -> str:
    resp = create(
        hub,
        tenant,
        "enterprise",
        "keyedsim",
        config={"base_url": hub["provider"].url},
        credentials={"api_key": KEY},
    )
    assert resp.status_code == 201 and resp.json()["status"] == "active", resp.text
    return str(resp.json()["id"])


def proxy(gateway: ServiceProcess, cid: str, tenant: str, tier: str = "enterprise") -> httpx.Response:
    return httpx.get(f"{gateway.url}/v1/proxy/{cid}/me", headers=auth(tenant, tier), timeout=15)


def test_a_disconnect_is_refused_by_every_gateway_replica_within_a_second(hub):
    tenant = "e2e-flows-disconnect"
    cid = keyed(hub, tenant)
    replicas = [hub["gateway"], hub["gateway-2"]]
    for gateway in replicas:  # both replicas hold the connection (and its credential) in cache
        answered = proxy(gateway, cid, tenant)
        assert answered.status_code == 200 and answered.json()["id"] == "acct-1", answered.text

    gone = httpx.delete(f"{hub['connectors'].url}/v1/connections/{cid}", headers=auth(tenant, "enterprise"))
    assert gone.status_code == 200 and gone.json()["status"] == "disconnected", gone.text
    disconnected_at = time.monotonic()
    calls_before = len(hub["provider"].calls)

    refused_after: dict[str, float] = {}
    while len(refused_after) < len(replicas) and time.monotonic() - disconnected_at < 5:
        for gateway in replicas:
            if gateway.url in refused_after:
                continue
            resp = proxy(gateway, cid, tenant)
            if resp.status_code != 200:
                assert resp.status_code in (404, 409), resp.text
                refused_after[gateway.url] = time.monotonic() - disconnected_at
        time.sleep(0.02)
    print(f"\nrefused after a disconnect: {sorted(round(s, 3) for s in refused_after.values())} s")
    assert len(refused_after) == len(replicas), "a replica kept serving a disconnected connection"
    assert max(refused_after.values()) <= 1.0, refused_after
    # The calls that were still served between the DELETE and the refusal aside, nothing after.
    served = len(hub["provider"].calls)
    for gateway in replicas:
        assert proxy(gateway, cid, tenant).status_code in (404, 409)
    assert len(hub["provider"].calls) == served >= calls_before


def test_the_connection_slot_holds_and_a_disconnect_frees_it(hub):
    tenant, tier = "e2e-flows-core", "core"
    key = "sk-core-0123456789abcdefghij"
    openai = {"config": {"base_url": hub["provider"].url}, "credentials": {"api_key": key}}
    first, second = (
        create(hub, tenant, tier, "openai", **openai),
        create(hub, tenant, tier, "openai", **openai),
    )
    assert first.status_code == 201 and second.status_code == 201, (first.text, second.text)

    third = create(hub, tenant, tier, "openai", **openai)
    assert third.status_code == 403, third.text
    error = third.json()["error"]
    assert error["code"] == "license_limit"
    assert error["details"] == {"current_tier": "core", "required_tier": "writerpro", "limit": 2, "used": 2}

    license_now = httpx.get(f"{hub['connectors'].url}/v1/license", headers=auth(tenant, tier)).json()
    assert license_now["remaining_connections"] == 0 and license_now["connections_used"] == 2

    dropped = httpx.delete(
        f"{hub['connectors'].url}/v1/connections/{first.json()['id']}", headers=auth(tenant, tier)
    )
    assert dropped.status_code == 200, dropped.text
    again = create(hub, tenant, tier, "openai", **openai)
    assert again.status_code == 201, again.text


def test_features_are_refused_naming_the_tier_that_allows_them(hub):
    tenant = "e2e-flows-tiers"
    registration = httpx.post(
        f"{hub['webhooks'].url}/v1/webhooks/registrations",
        headers=auth(tenant, "core"),
        json={
            "connection_id": "00000000-0000-4000-8000-000000000001",
            "trigger_ids": ["x"],
            "mode": "manual",
        },
    )
    assert registration.status_code == 403, registration.text
    assert registration.json()["error"]["code"] == "feature_not_in_tier"
    assert registration.json()["error"]["details"]["required_tier"] == "writerpro"

    custom = create(hub, tenant, "teams", "keyedsim", credentials={"api_key": KEY})
    assert custom.status_code == 403, custom.text
    assert custom.json()["error"]["details"]["required_tier"] == "enterprise"

    # A custom connection made under Enterprise stops working through the gateway for a token of
    # a lower tier (a downgraded tenant), not only at the connectors service.
    cid = keyed(hub, tenant)
    assert proxy(hub["gateway"], cid, tenant).status_code == 200
    downgraded = proxy(hub["gateway"], cid, tenant, tier="teams")
    assert downgraded.status_code == 403, downgraded.text
    assert downgraded.json()["error"]["details"]["required_tier"] == "enterprise"


def test_a_rotated_api_key_is_used_by_every_gateway_replica(hub):
    tenant, provider = "e2e-flows-rotate", hub["provider"]
    cid = keyed(hub, tenant)
    replicas = [hub["gateway"], hub["gateway-2"]]
    for gateway in replicas:
        assert proxy(gateway, cid, tenant).status_code == 200
    url = f"{hub['connectors'].url}/v1/connections/{cid}/credentials"
    new_key = "keyed-e2e-flows-rotated-9876543210"
    try:
        provider.api_key = new_key  # the provider rotated the key: the old one is refused now
        assert proxy(hub["gateway"], cid, tenant).status_code == 401

        bad = httpx.put(url, headers=auth(tenant, "enterprise"), json={"credentials": {"nope": "x"}})
        assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_credentials", bad.text
        rotated = httpx.put(
            url, headers=auth(tenant, "enterprise"), json={"credentials": {"api_key": new_key}}, timeout=30
        )
        assert rotated.status_code == 200 and rotated.json()["status"] == "active", rotated.text
        assert new_key not in rotated.text

        deadline = time.monotonic() + 5
        pending = set(range(len(replicas)))
        while pending and time.monotonic() < deadline:  # credential.changed reaches every replica
            pending = {i for i in pending if proxy(replicas[i], cid, tenant).status_code != 200}
            time.sleep(0.05)
        assert not pending, "a replica kept the old key"
    finally:
        provider.api_key = KEY

    httpx.delete(f"{hub['connectors'].url}/v1/connections/{cid}", headers=auth(tenant, "enterprise"))
    late = httpx.put(url, headers=auth(tenant, "enterprise"), json={"credentials": {"api_key": new_key}})
    assert late.status_code == 409 and late.json()["error"]["code"] == "connection_not_active", late.text
