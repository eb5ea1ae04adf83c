"""The internal API other hub services use: connection resolution (gateway, oauth, webhooks) and
verification after oauth captured credentials. Service tokens only; no secret values."""

import pytest

from hub_common.testing.service_keys import service_minter

pytestmark = pytest.mark.component  # neighbouring services stood in (docs/testing.md)


def service_headers(settings, service):
    return service_minter(service).headers_for("connectors")


async def test_the_gateway_resolves_a_connection(api, auth, tenant, settings):
    cid = (
        await api.post(
            "/v1/connections",
            json={"connector_id": "echoapi", "name": "gw", "credentials": {"api_key": "good-key"}},
            headers=auth(tenant, "teams", "alice"),
        )
    ).json()["id"]
    resp = await api.get(f"/internal/v1/connections/{cid}", headers=service_headers(settings, "gateway"))
    assert resp.status_code == 200, resp.text
    body = resp.json()
    manifest = body.pop("manifest")
    assert manifest["id"] == "echoapi" and manifest["auth"]["method"] == "api_key"
    assert body == {
        "id": cid,
        "tenant_id": tenant,
        "user_id": "alice",
        "connector_id": "echoapi",
        "connector_version": "1.2.0",
        "status": "active",
        "custom": False,
        "auth_method": "api_key",
        "config": {},
        "base_url": "https://api.echo.test",
        "external_account_id": body["external_account_id"],
        "allowed_hosts": ["api.echo.test", "*.echo.test"],
        "default_headers": {},
        "api_key_placement": {"location": "header", "name": "X-Api-Key", "prefix": ""},
        "credential_keys": ["api_key"],
    }
    assert "good-key" not in resp.text
    # The vault never calls connectors, so connectors do not even hold its public key.
    denied = await api.get(f"/internal/v1/connections/{cid}", headers=service_headers(settings, "vault"))
    assert denied.status_code == 401 and denied.json()["error"]["code"] == "unknown_service"
    user = await api.get(f"/internal/v1/connections/{cid}", headers=auth(tenant, "teams"))
    assert user.status_code == 401


async def test_credentials_captured_by_oauth_are_verified_on_request(api, auth, tenant, settings, vault_url):
    from hub_common.clients.vault import VaultClient

    headers = auth(tenant, "teams")
    created = await api.post(
        "/v1/connections", json={"connector_id": "echoapi", "name": "later"}, headers=headers
    )
    assert created.status_code == 201 and created.json()["status"] == "initializing"
    cid = created.json()["id"]

    oauth = service_headers(settings, "oauth")
    verify = f"/internal/v1/connections/{cid}/verify"
    # Nothing stored yet: the check runs and the provider refuses.
    first = await api.post(verify, json={"tenant_id": tenant}, headers=oauth)
    assert first.status_code == 200 and first.json()["connection"]["status"] == "token_invalid"

    minter = service_minter("oauth")
    vault = VaultClient(vault_url, minter)
    try:
        await vault.store(tenant, cid, "api_key", "good-captured")
    finally:
        await vault.aclose()
    second = await api.post(verify, json={"tenant_id": tenant}, headers=oauth)
    assert second.status_code == 200, second.text
    assert second.json()["health"]["is_healthy"] and second.json()["connection"]["status"] == "active"

    wrong_tenant = await api.post(verify, json={"tenant_id": "someone-else"}, headers=oauth)
    assert wrong_tenant.status_code == 404
    gateway = await api.post(verify, json={"tenant_id": tenant}, headers=service_headers(settings, "gateway"))
    assert gateway.status_code == 403
