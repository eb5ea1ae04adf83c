"""What is in the database: ciphertext bound to its row, tamper-evident, never plaintext."""

import base64
import uuid

import pytest

pytestmark = pytest.mark.integration


def _url(tenant, connection, key):
    return f"/v1/tenants/{tenant}/connections/{connection}/credentials/{key}"


async def _row(conn, tenant, connection, key):
    return await conn.fetchrow(
        "SELECT id, value_encrypted, value_iv, dek_encrypted, dek_iv FROM credentials "
        "WHERE tenant_id = $1 AND connection_id = $2 AND credential_key = $3",
        tenant,
        connection,
        key,
    )


async def test_ciphertext_swapped_between_rows_does_not_decrypt(shared_vault, tenant):
    a, b = uuid.uuid4(), uuid.uuid4()
    async with shared_vault.http("oauth") as oauth:
        await oauth.put(_url(tenant, a, "access_token"), json={"value": "secret-of-row-a"})
        await oauth.put(_url(tenant, b, "access_token"), json={"value": "secret-of-row-b"})
        conn = await shared_vault.db()
        try:
            row_a = await _row(conn, tenant, a, "access_token")
            row_b = await _row(conn, tenant, b, "access_token")
            for mine, theirs in ((row_a, row_b), (row_b, row_a)):
                await conn.execute(
                    "UPDATE credentials SET value_encrypted = $2, value_iv = $3, dek_encrypted = $4, "
                    "dek_iv = $5 WHERE id = $1",
                    mine["id"],
                    theirs["value_encrypted"],
                    theirs["value_iv"],
                    theirs["dek_encrypted"],
                    theirs["dek_iv"],
                )
        finally:
            await conn.close()
        for connection in (a, b):
            response = await oauth.get(_url(tenant, connection, "access_token"))
            assert response.status_code == 500
            assert response.json()["error"]["code"] == "decryption_failed"
            assert "secret-of-row" not in response.text


@pytest.mark.parametrize("column", ["value_encrypted", "value_iv", "dek_encrypted", "dek_iv"])
async def test_one_flipped_byte_fails_with_one_generic_error(shared_vault, tenant, column):
    connection = uuid.uuid4()
    async with shared_vault.http("oauth") as oauth:
        await oauth.put(_url(tenant, connection, "access_token"), json={"value": "tamper-me-please"})
        conn = await shared_vault.db()
        try:
            row = await _row(conn, tenant, connection, "access_token")
            data = bytearray(row[column])
            data[len(data) // 2] ^= 0x80
            await conn.execute(f"UPDATE credentials SET {column} = $2 WHERE id = $1", row["id"], bytes(data))
        finally:
            await conn.close()
        response = await oauth.get(_url(tenant, connection, "access_token"))
    assert response.status_code == 500
    error = response.json()["error"]
    # The same code and message whichever part was touched.
    expected = ("decryption_failed", "the stored value could not be decrypted")
    assert (error["code"], error["message"]) == expected
    assert error["details"] == {}


async def test_no_table_holds_a_stored_secret_in_plaintext(shared_vault, tenant):
    secrets = {
        f"plaintext-canary-{i}-{uuid.uuid4().hex}": key
        for i, key in enumerate(("access_token", "refresh_token", "api_key", "client_secret"))
    }
    connection = uuid.uuid4()
    async with shared_vault.http("oauth") as oauth:
        for value, key in secrets.items():
            assert (await oauth.put(_url(tenant, connection, key), json={"value": value})).status_code == 201
            assert (await oauth.get(_url(tenant, connection, key))).json()["value"] == value
    async with shared_vault.http("webhooks") as webhooks:
        made = await webhooks.post(_url(tenant, connection, "webhook_secret") + "/generate", json={})
        generated = made.json()["value"]
        await webhooks.post(
            f"/v1/tenants/{tenant}/connections/{connection}/hmac/sign",
            json={"key": "webhook_secret", "message": "hello"},
        )
    needles = [*secrets, generated]
    forms = [
        form
        for s in needles
        for form in (s.encode(), base64.b64encode(s.encode()), s.encode().hex().encode())
    ]

    conn = await shared_vault.db()
    try:
        columns = await conn.fetch(
            "SELECT table_name, column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = 'vault' AND data_type IN "
            "('text', 'bytea', 'json', 'jsonb', 'character varying', 'ARRAY')"
        )
        tables = {c["table_name"] for c in columns}
        assert {"credentials", "audit", "outbox", "key_versions"} <= tables
        scanned = 0
        for column in columns:
            rows = await conn.fetch(
                f'SELECT "{column["column_name"]}"::text AS t FROM vault."{column["table_name"]}"'
            )
            raw = await conn.fetch(
                f'SELECT "{column["column_name"]}" AS v FROM vault."{column["table_name"]}"'
            )
            for text_row, raw_row in zip(rows, raw, strict=True):
                blob = (text_row["t"] or "").encode()
                if isinstance(raw_row["v"], bytes):
                    blob += raw_row["v"]
                scanned += 1
                for form in forms:
                    assert form not in blob, f"secret found in {column['table_name']}.{column['column_name']}"
        assert scanned > 0
    finally:
        await conn.close()
