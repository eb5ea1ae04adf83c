"""The connectors service reads and deletes a tenant's registrations with its own service token,
naming the tenant, tier and user (its Integration Manager UI and automations, docs/adr/0029);
no other service may, a service must name whom it acts for, and it sees that tenant's only."""

from __future__ import annotations

import pytest

from hub_common.testing.service_keys import service_minter

pytestmark = pytest.mark.integration


def _as(service: str, **named: str) -> dict[str, str]:
    headers = {"Authorization": f"Bearer {service_minter(service).token_for('webhooks')}"}
    headers.update({f"X-Hub-{k.capitalize()}": v for k, v in named.items()})
    return headers


async def test_the_connectors_service_acts_for_the_tenant_it_names(http, tenant, make_registration):
    mine = await make_registration("github-sha256", "s-mine")
    theirs = await make_registration("github-sha256", "s-theirs", tenant_id=f"{tenant}-other")
    connectors = _as("connectors", tenant=tenant, tier="writerpro", user="alice")

    listed = await http.get(
        "/v1/webhooks/registrations", params={"connection_id": str(mine.connection_id)}, headers=connectors
    )
    assert listed.status_code == 200, listed.text
    assert [r["id"] for r in listed.json()["registrations"]] == [str(mine.id)]
    one = await http.get(f"/v1/webhooks/registrations/{mine.id}", headers=connectors)
    assert one.status_code == 200 and one.json()["status"] == "active"
    # Another tenant's registration does not exist for this tenant, whoever asks.
    assert (await http.get(f"/v1/webhooks/registrations/{theirs.id}", headers=connectors)).status_code == 404

    # Whom the call is for must be named, completely and validly.
    for partial in ({"tenant": tenant}, {"tenant": tenant, "tier": "writerpro"}, {}):
        refused = await http.get("/v1/webhooks/registrations", headers=_as("connectors", **partial))
        assert refused.status_code == 400 and refused.json()["error"]["code"] == "tenant_required"
    bad_tier = _as("connectors", tenant=tenant, tier="platinum", user="alice")
    assert (await http.get("/v1/webhooks/registrations", headers=bad_tier)).status_code == 400
    # The tier named is the one gated: Core has no webhooks.
    core = _as("connectors", tenant=tenant, tier="core", user="alice")
    gated = await http.post(
        "/v1/webhooks/registrations",
        json={"connection_id": str(mine.connection_id), "trigger_ids": ["issue_opened"], "mode": "manual"},
        headers=core,
    )
    assert gated.status_code == 403 and gated.json()["error"]["code"] == "feature_not_in_tier"

    # Another service's token is not accepted here, tenant named or not.
    gateway = _as("gateway", tenant=tenant, tier="writerpro", user="alice")
    assert (await http.get("/v1/webhooks/registrations", headers=gateway)).status_code == 401
    # Subscriptions and deliveries stay with the tenant's users.
    assert (await http.get("/v1/webhooks/subscriptions", headers=connectors)).status_code == 401

    deleted = await http.delete(f"/v1/webhooks/registrations/{mine.id}", headers=connectors)
    assert deleted.status_code == 204
    assert (await http.get(f"/v1/webhooks/registrations/{mine.id}", headers=connectors)).status_code == 404
