"""SDK v2 through the connectors API: the catalog shows the typed webhook signature spec, and a
provider's 429 reaches the caller with its Retry-After and a redacted excerpt of its body."""

import uuid

import pytest

pytestmark = pytest.mark.component  # neighbouring services stood in (docs/testing.md)


async def test_catalog_lists_the_resolved_webhook_signature_spec(api, auth, tenant):
    resp = await api.get("/v1/connectors/echoapi", headers=auth(tenant))
    assert resp.status_code == 200, resp.text
    spec = resp.json()["webhook_signature"]
    assert spec["preset"] == "github-sha256" and spec["kind"] == "hmac"
    assert spec["header"] == "X-Hub-Signature-256" and spec["prefix"] == "sha256="
    assert spec["delivery_id_header"] == "X-GitHub-Delivery"
    listed = (await api.get("/v1/connectors", headers=auth(tenant))).json()["connectors"]
    assert next(c for c in listed if c["id"] == "echoapi")["webhook_signature"] == spec


async def test_a_provider_429_carries_retry_after_and_a_redacted_excerpt(api, auth, tenant):
    headers = auth(tenant)
    body = {
        "connector_id": "echoapi",
        "name": f"rl-{uuid.uuid4().hex[:6]}",
        "credentials": {"api_key": "good-rl"},
    }
    created = await api.post("/v1/connections", json=body, headers=headers)
    assert created.status_code == 201 and created.json()["status"] == "active", created.text
    cid = created.json()["id"]

    resp = await api.post(f"/v1/connections/{cid}/actions/limited", json={}, headers=headers)

    assert resp.status_code == 200, resp.text
    assert resp.headers["retry-after"] == "12"
    result = resp.json()
    assert result["success"] is False and result["error_code"] == "provider_rate_limited"
    assert result["status_code"] == 429 and result["retry_after_s"] == 12.0
    excerpt = result["error_details"]["provider_body"]
    assert "API rate limit exceeded" in excerpt and "leaked-token-value" not in excerpt
