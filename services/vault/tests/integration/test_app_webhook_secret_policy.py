"""The copy of an OAuth app's client secret that verifies Jira's webhooks (docs/adr/0030):
oauth writes and deletes it but never reads it back; webhooks reads it and nothing else of the
app; no other service reaches it. Against the shipped policies.toml."""

import uuid

import pytest

pytestmark = pytest.mark.integration

COPY = "client_secret.webhooks-v1733650000000000000"
APP_SECRET = "atlassian-app-client-secret-policy-test"


def _url(tenant, owner, key):
    return f"/v1/tenants/{tenant}/connections/{owner}/credentials/{key}"


async def test_webhooks_read_the_copy_and_only_oauth_writes_it(shared_vault, tenant):
    owner = uuid.uuid4()  # the app's owner id (hub_oauth.domain.apps.app_secret_owner)
    async with shared_vault.http("oauth") as oauth:
        for key in ("client_secret", COPY):
            stored = await oauth.put(_url(tenant, owner, key), json={"value": APP_SECRET})
            assert stored.status_code == 201, key
        oauth_reads_copy = await oauth.get(_url(tenant, owner, COPY))
    assert oauth_reads_copy.status_code == 403  # oauth reads the original, never the copy

    async with shared_vault.http("webhooks") as webhooks:
        read = await webhooks.get(_url(tenant, owner, COPY))
        original = await webhooks.get(_url(tenant, owner, "client_secret"))
        overwrite = await webhooks.put(_url(tenant, owner, COPY), json={"value": "forged"})
        other_key = await webhooks.put(_url(tenant, owner, "client_secret.webhooks-v2"), json={"value": "x"})
        delete = await webhooks.delete(_url(tenant, owner, COPY))
    assert read.status_code == 200 and read.json()["value"] == APP_SECRET
    assert original.status_code == 403 and APP_SECRET not in original.text
    assert (overwrite.status_code, other_key.status_code, delete.status_code) == (403, 403, 403)

    for service in ("gateway", "connectors", "hubctl"):
        async with shared_vault.http(service) as other:
            refused = await other.get(_url(tenant, owner, COPY))
        assert refused.status_code == 403, service
        assert refused.json()["error"]["code"] == "policy_denied" and APP_SECRET not in refused.text

    async with shared_vault.http("oauth") as oauth:
        assert (await oauth.delete(_url(tenant, owner, COPY))).status_code == 204
    async with shared_vault.http("webhooks") as webhooks:
        assert (await webhooks.get(_url(tenant, owner, COPY))).status_code == 404
