"""A provider-issued webhook secret (PagerDuty, Linear, Notion style): the connector's
register_webhook returns it, the connectors service puts it in the vault and answers only its
key name; the webhooks service can then sign and verify with it inside the vault."""

import hashlib
import hmac
import uuid

import pytest

from hub_common.clients.vault import VaultClient
from hub_common.testing.service_keys import service_minter

pytestmark = pytest.mark.component  # neighbouring services stood in (docs/testing.md)


def service_headers(settings, service):
    return service_minter(service).headers_for("connectors")


async def test_a_provider_issued_secret_goes_to_the_vault(api, auth, tenant, settings, gateway, vault_url):
    headers = auth(tenant, "enterprise")
    body = {
        "connector_id": "pagerlike",
        "name": f"pd-{uuid.uuid4().hex[:6]}",
        "credentials": {"api_key": "good-pd"},
    }
    created = await api.post("/v1/connections", json=body, headers=headers)
    assert created.status_code == 201 and created.json()["status"] == "active", created.text
    cid = created.json()["id"]
    request = {
        "tenant_id": tenant,
        "trigger_ids": ["incident_triggered"],
        "target_url": "https://hub.example/webhooks/r1",
        "secret": "hub-generated-secret-unused-here",
    }

    refused = await api.post(f"/internal/v1/connections/{cid}/webhooks", json=request, headers=headers)
    assert refused.status_code in (401, 403)  # a user token is not a service token
    as_gateway = service_headers(settings, "gateway")
    refused = await api.post(f"/internal/v1/connections/{cid}/webhooks", json=request, headers=as_gateway)
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "service_not_allowed"

    resp = await api.post(
        f"/internal/v1/connections/{cid}/webhooks",
        json=request,
        headers=service_headers(settings, "webhooks"),
    )

    assert resp.status_code == 201, resp.text
    issued = gateway.issued_secrets[cid]
    assert issued not in resp.text
    out = resp.json()
    assert out["external_id"] == f"PWH{cid[:6]}" and out["events"] == ["incident.triggered"]
    key = out["provider_secret_key"]
    assert key.startswith("webhook_secret.provider-")
    webhooks = VaultClient(vault_url, service_minter("webhooks"))
    try:
        signature = await webhooks.sign_hmac(tenant, cid, key, b'{"event": {}}')
    finally:
        await webhooks.aclose()
    assert signature == hmac.new(issued.encode(), b'{"event": {}}', hashlib.sha256).hexdigest()

    unknown = {**request, "trigger_ids": ["no_such_trigger"]}
    bad = await api.post(
        f"/internal/v1/connections/{cid}/webhooks",
        json=unknown,
        headers=service_headers(settings, "webhooks"),
    )
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "unknown_trigger"


async def test_the_webhooks_service_unregisters_a_hook_through_the_connector(
    api, auth, tenant, settings, gateway
):
    headers = auth(tenant, "enterprise")
    body = {
        "connector_id": "pagerlike",
        "name": f"pd-{uuid.uuid4().hex[:6]}",
        "credentials": {"api_key": "good-pd"},
    }
    created = await api.post("/v1/connections", json=body, headers=headers)
    cid = created.json()["id"]
    request = {"tenant_id": tenant, "external_id": f"PWH{cid[:6]}", "metadata": {"note": "kept by the hub"}}
    path = f"/internal/v1/connections/{cid}/webhooks/unregister"

    as_gateway = service_headers(settings, "gateway")
    refused = await api.post(path, json=request, headers=as_gateway)
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "service_not_allowed"
    other_tenant = {**request, "tenant_id": f"other-{uuid.uuid4().hex[:6]}"}
    missing = await api.post(path, json=other_tenant, headers=service_headers(settings, "webhooks"))
    assert missing.status_code == 404

    resp = await api.post(path, json=request, headers=service_headers(settings, "webhooks"))

    assert resp.status_code == 204, resp.text
    assert gateway.calls_to(cid, f"webhook_subscriptions/PWH{cid[:6]}") == 1
