"""credential.changed reaches Kafka through the outbox, and never carries a value."""

import uuid

import pytest

from hub_common.testing import expect_events

pytestmark = pytest.mark.integration


async def test_credential_changed_events_carry_no_secret(shared_vault, tenant, kafka_bootstrap):
    connection = uuid.uuid4()
    base = f"/v1/tenants/{tenant}/connections/{connection}/credentials"
    secrets = ["event-canary-access-" + uuid.uuid4().hex, "event-canary-refresh-" + uuid.uuid4().hex]
    async with (
        expect_events(
            kafka_bootstrap,
            "credential.changed",
            match=lambda e: e["connection_id"] == str(connection),
            count=4,
            exact=True,
            timeout_s=20,
        ) as seen,
        shared_vault.http("oauth") as oauth,
        shared_vault.http("connectors") as connectors,
    ):
        await oauth.put(f"{base}/access_token", json={"value": secrets[0]})
        await oauth.put(f"{base}/refresh_token", json={"value": secrets[1]})
        await oauth.delete(f"{base}/access_token")
        await connectors.delete(base)
    changes = [(e.data["change"], e.data["credential_key"]) for e in seen]
    assert changes == [
        ("stored", "access_token"),
        ("stored", "refresh_token"),
        ("deleted", "access_token"),
        ("deleted_all", None),
    ]
    for event in seen:
        assert event.key == str(connection).encode()
        assert event.event.type == "dev.integrationhub.credential.changed.v1"
        assert event.data["tenant_id"] == tenant
        assert "value" not in event.data
        raw = event.event.data + b"".join(event.headers.values())
        assert not any(s.encode() in raw for s in secrets)
