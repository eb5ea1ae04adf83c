"""Two rules at ``/v1/proxy`` (real gateway processes):

* custom connectors are Enterprise-only here too (hub_common.license): a tenant downgraded from
  Enterprise stops proxying its custom connections, whatever the connectors service does;
* a plugin token (``typ=plugin``, minted by the connectors service for one call of a plugin
  worker) reaches its own connection of its own tenant, on the proxy route only, and nothing
  else: not another connection, not another tenant (by claim or by ``X-Hub-Tenant``), not the
  gateway's other routes; only the connectors service can mint one.
"""

from __future__ import annotations

from typing import Any

import pytest

from hub_common.settings import HubSettings
from hub_common.testing.service_keys import service_minter

pytestmark = pytest.mark.component  # neighbouring services stood in (docs/testing.md)
SETTINGS = HubSettings(environment="test")  # the gateways' (dev-derived service keys)


def plugin_headers(
    hub: Any, tenant: str, cid: str, tier: str = "enterprise", service: str = "connectors"
) -> dict:
    minter = service_minter(service)
    token = minter.token_for(
        "gateway",
        extra_claims={"typ": "plugin", "conn": cid, "tenant": tenant, "tier": tier, "connector": "simapi"},
        ttl_s=60,
    )
    return {"Authorization": f"Bearer {token}"}


async def test_custom_connections_need_an_enterprise_token_at_the_proxy(hub, tenant):
    custom = await hub.connect(tenant, secrets={"api_key": "key-1"}, builtin=False)
    builtin = await hub.connect(tenant, secrets={"api_key": "key-1"})
    before = len(hub.sim.requests)
    for tier in ("writerpro", "teams"):
        resp = await hub.http.get(hub.proxy(hub.a, custom, "x"), headers=hub.user_headers(tenant, tier=tier))
        assert resp.status_code == 403, resp.text
        error = resp.json()["error"]
        assert error["code"] == "feature_not_in_tier"
        assert error["details"] == {
            "current_tier": tier,
            "required_tier": "enterprise",
            "feature": "custom_connectors",
        }
    assert len(hub.sim.requests) == before  # refused before anything went upstream
    enterprise = hub.user_headers(tenant, tier="enterprise")
    assert (await hub.http.get(hub.proxy(hub.a, custom, "x"), headers=enterprise)).status_code == 200
    teams = hub.user_headers(tenant, tier="teams")
    assert (await hub.http.get(hub.proxy(hub.a, builtin, "x"), headers=teams)).status_code == 200
    # A plugin token carries the tenant's tier: a downgraded tenant's plugin is refused too.
    resp = await hub.http.get(
        hub.proxy(hub.a, custom, "x"), headers=plugin_headers(hub, tenant, custom, "teams")
    )
    assert resp.status_code == 403 and resp.json()["error"]["code"] == "feature_not_in_tier"


async def test_a_plugin_token_reaches_its_own_connection_only(hub, tenant):
    mine = await hub.connect(tenant, secrets={"api_key": "key-1"}, builtin=False)
    sibling = await hub.connect(tenant, secrets={"api_key": "key-2"}, builtin=False)
    other_tenant = hub.tenant()
    theirs = await hub.connect(other_tenant, secrets={"api_key": "key-3"}, builtin=False)
    headers = plugin_headers(hub, tenant, mine)

    ok = await hub.http.get(hub.proxy(hub.a, mine, "x"), headers=headers)
    assert ok.status_code == 200, ok.text
    assert hub.sim.requests[-1].header("x-api-key") == "key-1"  # the credential is injected

    before = len(hub.sim.requests)
    for cid in (sibling, theirs):
        resp = await hub.http.get(hub.proxy(hub.a, cid, "x"), headers=headers)
        assert resp.status_code == 404 and resp.json()["error"]["code"] == "connection_not_found"
    # Naming the other tenant: in the header it is refused outright, in the claim it is not its
    # connection (and only the connectors service can sign such a claim anyway).
    for target, extra in ((theirs, {"X-Hub-Tenant": other_tenant}), (mine, {"X-Hub-Tenant": tenant})):
        resp = await hub.http.get(hub.proxy(hub.a, target, "x"), headers={**headers, **extra})
        assert resp.status_code == 403 and resp.json()["error"]["code"] == "plugin_scope"
    claimed = plugin_headers(hub, tenant, theirs)
    resp = await hub.http.get(hub.proxy(hub.a, theirs, "x"), headers=claimed)
    assert resp.status_code == 404 and resp.json()["error"]["code"] == "connection_not_found"
    assert len(hub.sim.requests) == before


async def test_a_plugin_token_is_good_for_the_proxy_route_only(hub, tenant):
    cid = await hub.connect(tenant, secrets={"api_key": "key-1"}, builtin=False)
    headers = plugin_headers(hub, tenant, cid)
    for method, path in (
        ("GET", f"/v1/connections/{cid}/rate-limit"),
        ("GET", "/v1/gateway/transforms"),
        ("PUT", "/v1/gateway/transforms/simapi"),
    ):
        resp = await hub.http.request(method, f"{hub.a}{path}", headers=headers, json={})
        assert resp.status_code == 403, (path, resp.text)
        assert resp.json()["error"]["code"] == "plugin_scope"


async def test_only_the_connectors_service_mints_plugin_tokens(hub, tenant):
    cid = await hub.connect(tenant, secrets={"api_key": "key-1"}, builtin=False)
    for service in ("webhooks", "oauth"):
        resp = await hub.http.get(
            hub.proxy(hub.a, cid, "x"), headers=plugin_headers(hub, tenant, cid, service=service)
        )
        assert resp.status_code == 401 and resp.json()["error"]["code"] == "invalid_token"
    # A plugin token without its scope is no service token either: nothing it can act for.
    minter = service_minter("connectors")
    unscoped = {"Authorization": f"Bearer {minter.token_for('gateway', extra_claims={'typ': 'plugin'})}"}
    resp = await hub.http.get(hub.proxy(hub.a, cid, "x"), headers=unscoped)
    assert resp.status_code == 401 and resp.json()["error"]["code"] == "invalid_token"
    resp = await hub.http.get(hub.proxy(hub.a, cid, "x"), headers={**unscoped, "X-Hub-Tenant": tenant})
    assert resp.status_code == 403 and resp.json()["error"]["code"] == "plugin_scope"
