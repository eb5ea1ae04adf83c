"""Contract: the common client every service uses (hub_common.clients.vault) against this vault,
plus its HMAC signing and the admin client (VaultAdminClient)."""

import asyncio
import hashlib
import hmac
import uuid

import pytest

from hub_common.clients.vault import VaultAdminClient, VaultClient
from hub_common.errors import HubError
from hub_common.testing.service_keys import service_minter

pytestmark = pytest.mark.integration


def _client(vault, service, cls=VaultClient):
    return cls(vault.url, service_minter(service))


async def test_common_client_against_the_vault(shared_vault, tenant):
    connection = uuid.uuid4()
    oauth = _client(shared_vault, "oauth")
    try:
        stored = await oauth.store(tenant, connection, "refresh_token", "rt-1")
        assert (stored.key, stored.version) == ("refresh_token", 1)
        assert await oauth.read_versioned(tenant, connection, "refresh_token") == ("rt-1", 1)
        await oauth.store(tenant, connection, "refresh_token", "rt-2", expected_version=1)
        with pytest.raises(HubError) as err:
            await oauth.store(tenant, connection, "refresh_token", "rt-3", expected_version=1)
        assert (err.value.status_code, err.value.code) == (409, "version_conflict")
        await oauth.store(tenant, connection, "access_token.user", "xoxp-user")
        assert await oauth.read(tenant, connection, "refresh_token") == "rt-2"
        assert sorted(await oauth.list_keys(tenant, connection)) == ["access_token.user", "refresh_token"]
        assert await oauth.delete(tenant, connection, "access_token.user", expected_version=1) is True
        assert await oauth.delete(tenant, connection, "access_token.user") is False
        with pytest.raises(HubError) as err:  # rt-2 is version 2: a cleanup of version 1 keeps it
            await oauth.delete(tenant, connection, "refresh_token", expected_version=1)
        assert (err.value.status_code, err.value.code) == (409, "version_conflict")
        assert await oauth.read(tenant, connection, "access_token") is None
    finally:
        await oauth.aclose()

    connectors = _client(shared_vault, "connectors")
    try:
        await connectors.store(tenant, connection, "api_key.region", "eu")
        assert await connectors.delete_all(tenant, connection) == ["api_key.region", "refresh_token"]
    finally:
        await connectors.aclose()


async def test_signing_and_admin_extension(shared_vault, tenant):
    connection = uuid.uuid4()
    webhooks = _client(shared_vault, "webhooks", VaultAdminClient)
    try:
        secret = await webhooks.generate(tenant, connection, "webhook_secret")
        signature = await webhooks.sign_hmac(tenant, connection, "webhook_secret", b"payload")
        assert signature == hmac.new(secret.encode(), b"payload", hashlib.sha256).hexdigest()
        matched = await webhooks.verify_hmac(tenant, connection, ["webhook_secret"], b"payload", [signature])
        assert matched == "webhook_secret"
        other = await webhooks.verify_hmac(tenant, connection, ["webhook_secret"], b"other", [signature])
        assert other is None
    finally:
        await webhooks.aclose()

    async with _client(shared_vault, "hubctl", VaultAdminClient) as admin:
        versions = await admin.key_versions()
        assert any(v.primary for v in versions) and all(v.values >= 0 for v in versions)
        job = await admin.start_rewrap(batch_size=50)
        for _ in range(100):
            job = await admin.rewrap_job(job.id)
            if job.status != "running":
                break
            await asyncio.sleep(0.05)
        assert job.status == "completed" and job.remaining == 0
        with pytest.raises(HubError) as err:
            await admin.read(tenant, connection, "webhook_secret")
        assert err.value.code == "policy_denied"
