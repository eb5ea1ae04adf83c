import uuid

import pytest

pytestmark = pytest.mark.integration


def _path(tenant, connection, key=None):
    base = f"/v1/tenants/{tenant}/connections/{connection}/credentials"
    return f"{base}/{key}" if key else base


async def test_round_trip(shared_vault, tenant):
    connection = uuid.uuid4()
    async with shared_vault.http("oauth") as oauth:
        created = await oauth.put(
            _path(tenant, connection, "access_token"), json={"value": "gho_round_trip_ABC"}
        )
        assert created.status_code == 201, created.text
        assert created.json()["version"] == 1
        assert "value" not in created.json()
        read = await oauth.get(_path(tenant, connection, "access_token"))
        assert read.status_code == 200
        assert read.json()["value"] == "gho_round_trip_ABC"
        replaced = await oauth.put(_path(tenant, connection, "access_token"), json={"value": "gho_second"})
        assert replaced.status_code == 200 and replaced.json()["version"] == 2
        again = await oauth.get(_path(tenant, connection, "access_token"))
        assert again.json()["value"] == "gho_second"
        assert (await oauth.delete(_path(tenant, connection, "access_token"))).status_code == 204
        missing = await oauth.get(_path(tenant, connection, "access_token"))
        assert missing.status_code == 404
        assert missing.json()["error"]["code"] == "credential_not_found"


async def test_unicode_and_maximum_size_values(shared_vault, tenant):
    connection = uuid.uuid4()
    async with shared_vault.http("oauth") as oauth:
        value = "🔑" * (64 * 1024 // 4)  # exactly 64 KiB of UTF-8
        stored = await oauth.put(_path(tenant, connection, "api_key"), json={"value": value})
        assert stored.status_code == 201
        assert (await oauth.get(_path(tenant, connection, "api_key"))).json()["value"] == value


async def test_value_over_64_kib_is_413(shared_vault, tenant):
    connection = uuid.uuid4()
    async with shared_vault.http("oauth") as oauth:
        too_big = {"value": "x" * (64 * 1024 + 1)}
        response = await oauth.put(_path(tenant, connection, "api_key"), json=too_big)
        assert response.status_code == 413
        assert response.json()["error"]["code"] == "payload_too_large"
        huge = await oauth.put(
            _path(tenant, connection, "api_key"),
            content=b'{"value": "' + b"x" * 2_000_000 + b'"}',
            headers={"content-type": "application/json"},
        )
        assert huge.status_code == 413
        assert huge.json()["error"]["code"] == "payload_too_large"
        assert (await oauth.get(_path(tenant, connection, "api_key"))).status_code == 404


async def test_a_tenant_named_hmac_keeps_the_credential_body_limit(shared_vault):
    """HMAC routes accept 4 MiB; a credential PUT under tenant "hmac" must not."""
    connection = uuid.uuid4()
    async with shared_vault.http("oauth") as oauth:
        huge = await oauth.put(
            _path("hmac", connection, "api_key"),
            content=b'{"value": "' + b"x" * 2_000_000 + b'"}',
            headers={"content-type": "application/json"},
        )
        assert huge.status_code == 413
        # refused unread by the body limit, not parsed and then refused as a too large value
        assert huge.json()["error"]["details"] == {"limit_bytes": shared_vault.settings.vault_max_body_bytes}


async def test_tenant_isolation(shared_vault, tenant):
    connection = uuid.uuid4()
    async with shared_vault.http("oauth") as oauth:
        await oauth.put(_path(tenant, connection, "access_token"), json={"value": "tenant-a-secret"})
        other = await oauth.get(_path("some-other-tenant", connection, "access_token"))
        assert other.status_code == 404
        assert other.json()["error"]["code"] == "credential_not_found"
        assert "tenant-a-secret" not in other.text
        listed = await oauth.get(_path("some-other-tenant", connection))
        assert listed.json()["credentials"] == []
        assert (await oauth.delete(_path("some-other-tenant", connection, "access_token"))).status_code == 404
        assert (await oauth.get(_path(tenant, connection, "access_token"))).status_code == 200


@pytest.mark.parametrize(
    "path, body, status",
    [
        ("/v1/tenants/t1/connections/not-a-uuid/credentials/api_key", {"value": "x"}, 422),
        ("/v1/tenants/bad tenant!/connections/{c}/credentials/api_key", {"value": "x"}, 422),
        ("/v1/tenants/t1/connections/{c}/credentials/UPPER", {"value": "x"}, 422),
        ("/v1/tenants/t1/connections/{c}/credentials/api_key", {"value": 12345}, 422),
        ("/v1/tenants/t1/connections/{c}/credentials/api_key", {"value": ""}, 422),
        ("/v1/tenants/t1/connections/{c}/credentials/api_key", {"value": "x", "extra": 1}, 422),
        ("/v1/tenants/t1/connections/{c}/credentials/api_key", {"value": "x", "expected_version": "1"}, 422),
        # Past the bigint column: bad input, not a database error (503) on either path.
        (
            "/v1/tenants/t1/connections/{c}/credentials/api_key",
            {"value": "x", "expected_version": 2**63},
            422,
        ),
        (
            "/v1/tenants/t1/connections/{c}/credentials/api_key",
            {"value": "x", "expected_version": 2**70},
            422,
        ),
    ],
)
async def test_malformed_input_gets_a_code_and_no_echo(shared_vault, path, body, status):
    async with shared_vault.http("oauth") as oauth:
        response = await oauth.put(path.format(c=uuid.uuid4()), json=body)
    assert response.status_code == status
    assert response.json()["error"]["code"] == "validation_error"
    assert "12345" not in response.text


async def test_a_secret_sent_as_a_key_or_an_unknown_field_is_not_echoed(shared_vault, tenant):
    token = "ghp_SuperSecretTokenValue123456"
    many = f"/v1/tenants/{tenant}/connections/{uuid.uuid4()}/credentials"
    async with shared_vault.http("oauth") as oauth:
        swapped = await oauth.put(many, json={"values": {token: "access_token"}})
        extra = await oauth.put(_path(tenant, uuid.uuid4(), "api_key"), json={"value": "v", token: 1})
    for response in (swapped, extra):
        assert response.status_code == 422 and response.json()["error"]["code"] == "validation_error"
        assert token not in response.text
    assert swapped.json()["error"]["details"]["fields"][0]["loc"][:3] == ["body", "values", "<key>"]
    assert extra.json()["error"]["details"]["fields"][0]["loc"] == ["body", "<unknown field>"]


async def test_malformed_json_and_missing_auth(shared_vault):
    url = _path("t1", uuid.uuid4(), "api_key")
    async with shared_vault.http("oauth") as oauth:
        broken = await oauth.put(url, content=b"{not json", headers={"content-type": "application/json"})
        assert broken.status_code == 422
    async with shared_vault.http("oauth") as anonymous:
        anonymous.headers.pop("authorization")
        response = await anonymous.get(url)
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "missing_token"


async def test_list_and_delete_all(shared_vault, tenant):
    connection = uuid.uuid4()
    async with shared_vault.http("oauth") as oauth, shared_vault.http("connectors") as connectors:
        for key in ("access_token", "refresh_token"):
            await oauth.put(_path(tenant, connection, key), json={"value": f"{key}-value-xyz"})
        await connectors.put(_path(tenant, connection, "api_key"), json={"value": "sk-listme"})
        listed = await connectors.get(_path(tenant, connection))
        assert listed.status_code == 200
        keys = [c["key"] for c in listed.json()["credentials"]]
        assert keys == ["access_token", "api_key", "refresh_token"]
        assert "value" not in listed.text and "-value-xyz" not in listed.text
        deleted = await connectors.delete(_path(tenant, connection))
        assert deleted.json()["deleted"] == ["access_token", "api_key", "refresh_token"]
        assert (await connectors.get(_path(tenant, connection))).json()["credentials"] == []


async def test_expected_version_guards_writes(shared_vault, tenant):
    connection = uuid.uuid4()
    url = _path(tenant, connection, "refresh_token")
    async with shared_vault.http("oauth") as oauth:
        assert (await oauth.put(url, json={"value": "r1", "expected_version": 0})).status_code == 201
        again = await oauth.put(url, json={"value": "r1b", "expected_version": 0})
        assert again.status_code == 409 and again.json()["error"]["code"] == "credential_exists"
        assert (await oauth.put(url, json={"value": "r2", "expected_version": 1})).status_code == 200
        stale = await oauth.put(url, json={"value": "r3", "expected_version": 1})
        assert stale.status_code == 409 and stale.json()["error"]["code"] == "version_conflict"
        assert (await oauth.get(url)).json()["value"] == "r2"


async def test_generate_returns_the_secret_once(shared_vault, tenant):
    connection = uuid.uuid4()
    url = _path(tenant, connection, "webhook_secret") + "/generate"
    async with shared_vault.http("webhooks") as webhooks:
        made = await webhooks.post(url, json={"bytes": 24, "encoding": "base64", "prefix": "whsec_"})
        assert made.status_code == 201, made.text
        secret = made.json()["value"]
        assert secret.startswith("whsec_")
        again = await webhooks.post(url, json={})
        assert again.status_code == 409 and secret not in again.text
        replaced = await webhooks.post(url, json={"replace": True})
        assert replaced.status_code == 201 and replaced.json()["value"] != secret
        # Only the webhooks service reads it back (it verifies deliveries in process, ADR 0019).
        read = await webhooks.get(_path(tenant, connection, "webhook_secret"))
        assert read.status_code == 200 and read.json()["value"] == replaced.json()["value"]
    async with shared_vault.http("gateway") as gateway:
        denied = await gateway.get(_path(tenant, connection, "webhook_secret"))
        assert denied.status_code == 403
