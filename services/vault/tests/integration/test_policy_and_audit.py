"""Every call is audited in the operation's own transaction; no audit, no operation."""

import json
import uuid

import httpx
import pytest

from hub_common.testing.tracing import trace_id_for, traced

pytestmark = pytest.mark.integration


def _url(tenant, connection, key):
    return f"/v1/tenants/{tenant}/connections/{connection}/credentials/{key}"


async def _audit(vault, **where):
    conn = await vault.db()
    try:
        clauses = " AND ".join(f"{k} = ${i}" for i, k in enumerate(where, 1))
        return await conn.fetch(f"SELECT * FROM audit WHERE {clauses} ORDER BY id", *where.values())
    finally:
        await conn.close()


async def test_denied_call_is_403_and_audited(shared_vault, tenant):
    connection = uuid.uuid4()
    async with shared_vault.http("oauth") as oauth:
        await oauth.put(_url(tenant, connection, "refresh_token"), json={"value": "rt-denied-test"})
    async with shared_vault.http("gateway") as gateway:
        response = await gateway.get(
            _url(tenant, connection, "refresh_token"), headers=traced("req-denied-1")
        )
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "policy_denied"
        assert "rt-denied-test" not in response.text
        wrong_op = await gateway.put(_url(tenant, connection, "access_token"), json={"value": "x"})
        assert wrong_op.status_code == 403
        admin = await gateway.post("/v1/admin/key-versions")
        assert admin.status_code == 403
    rows = await _audit(shared_vault, tenant_id=tenant, caller="gateway")
    outcomes = [(r["operation"], r["credential_key"], r["outcome"]) for r in rows]
    assert ("credential.read", "refresh_token", "denied") in outcomes
    assert ("credential.store", "access_token", "denied") in outcomes
    denied = next(r for r in rows if r["operation"] == "credential.read")
    assert denied["request_id"] == trace_id_for("req-denied-1")
    assert denied["connection_id"] == connection


async def test_an_unknown_service_gets_nothing(shared_vault, tenant):
    async with shared_vault.http("webhooks") as webhooks:
        # known to auth (dev secret) but its policy does not cover tokens
        response = await webhooks.get(_url(tenant, uuid.uuid4(), "access_token"))
    assert response.status_code == 403


async def test_calls_refused_before_any_operation_are_audited(shared_vault, tenant):
    """No token, a forged one, a body that does not validate: each leaves a row naming what the
    route stands for, never the token or the body."""
    connection = uuid.uuid4()
    url = _url(tenant, connection, "access_token")
    forged = "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJvYXV0aCJ9.forged-signature-value"
    async with httpx.AsyncClient(base_url=shared_vault.url, timeout=10) as anonymous:
        missing = await anonymous.get(url, headers=traced("req-no-token"))  # the fast path
        bad = await anonymous.put(url, json={"value": "v"}, headers={"authorization": forged})
        admin = await anonymous.post("/v1/admin/key-versions", headers={"authorization": forged})
    assert (missing.status_code, bad.status_code, admin.status_code) == (401, 401, 401)
    async with shared_vault.http("oauth") as oauth:
        invalid = await oauth.put(url, json={"value": 42, "leak": "body-never-audited"})
        listed = await oauth.put(f"/v1/tenants/{tenant}/connections/not-a-uuid/credentials", json={})
        unparsable = await oauth.put(
            url, content=b'{"value": "\xff"}', headers={"content-type": "application/json"}
        )
    assert invalid.status_code == 422 and invalid.json()["error"]["code"] == "validation_error"
    assert listed.status_code == 422
    assert unparsable.status_code == 400 and unparsable.json()["error"]["code"] == "bad_request"
    rows = await _audit(shared_vault, tenant_id=tenant)
    summary = [(r["caller"], r["operation"], r["outcome"], r["connection_id"]) for r in rows]
    assert summary == [
        ("unauthenticated", "credential.read", "unauthenticated", connection),
        ("unauthenticated", "credential.store", "unauthenticated", connection),
        ("oauth", "credential.store", "invalid", connection),
        ("oauth", "credential.store", "invalid", None),  # a malformed id is not recorded
        ("oauth", "credential.store", "invalid", connection),  # not UTF-8: refused before parsing
    ]
    assert (
        rows[0]["request_id"] == trace_id_for("req-no-token") and rows[0]["credential_key"] == "access_token"
    )
    details = [json.loads(r["details"]) if isinstance(r["details"], str) else r["details"] for r in rows]
    codes = [d["code"] for d in details]
    assert codes == ["missing_token", "invalid_token", "validation_error", "validation_error", "bad_request"]
    rotate = await _audit(shared_vault, operation="admin.keys.rotate", caller="unauthenticated")
    assert rotate and rotate[-1]["outcome"] == "unauthenticated"
    everything = str([dict(r) for r in rows + rotate])
    assert "forged-signature-value" not in everything and "body-never-audited" not in everything


async def test_oversized_bodies_and_other_id_spellings_are_audited_too(shared_vault, tenant):
    """A body over the raw limit is refused unread (413) and audited; a refused probe that
    writes the connection id as 32 hex digits (which the routes accept) is found by that id."""
    connection = uuid.uuid4()
    async with shared_vault.http("oauth") as oauth:
        huge = await oauth.put(
            _url(tenant, connection, "api_key"),
            content=b'{"value": "' + b"x" * (shared_vault.settings.vault_max_body_bytes + 1) + b'"}',
            headers={"content-type": "application/json"},
        )
    async with httpx.AsyncClient(base_url=shared_vault.url, timeout=10) as anonymous:
        probe = await anonymous.get(f"/v1/tenants/{tenant}/connections/{connection.hex}/credentials/api_key")
    assert huge.status_code == 413 and probe.status_code == 401
    rows = await _audit(shared_vault, tenant_id=tenant, connection_id=connection)
    summary = [(r["caller"], r["operation"], r["outcome"]) for r in rows]
    assert summary == [
        ("oauth", "credential.store", "invalid"),
        ("unauthenticated", "credential.read", "unauthenticated"),
    ]
    details = json.loads(rows[0]["details"]) if isinstance(rows[0]["details"], str) else rows[0]["details"]
    assert details["code"] == "payload_too_large"


async def test_a_value_of_control_characters_at_the_value_limit_fits_the_body_limit(shared_vault, tenant):
    """JSON writes each control character as six bytes: 64 KiB of them is still a valid value."""
    value = "\x01" * (64 * 1024)
    async with shared_vault.http("oauth") as oauth:
        stored = await oauth.put(_url(tenant, uuid.uuid4(), "api_key"), json={"value": value})
    assert stored.status_code == 201, stored.text[:200]


async def test_successful_operations_are_audited_without_values(shared_vault, tenant):
    connection = uuid.uuid4()
    async with shared_vault.http("oauth") as oauth:
        await oauth.put(
            _url(tenant, connection, "access_token"),
            json={"value": "audited-secret-value"},
            headers=traced("req-store-1"),
        )
        await oauth.get(_url(tenant, connection, "access_token"), headers=traced("req-read-1"))
        await oauth.get(_url(tenant, connection, "id_token"))
    rows = await _audit(shared_vault, tenant_id=tenant)
    summary = [
        (r["caller"], r["operation"], r["credential_key"], r["outcome"], r["request_id"]) for r in rows
    ]
    assert summary[0] == ("oauth", "credential.store", "access_token", "ok", trace_id_for("req-store-1"))
    assert summary[1] == ("oauth", "credential.read", "access_token", "ok", trace_id_for("req-read-1"))
    assert summary[2][1:4] == ("credential.read", "id_token", "not_found")
    assert all(r["at"] is not None and r["key_version"] in (1, None) for r in rows)
    assert "audited-secret-value" not in str([dict(r) for r in rows])


async def test_audit_write_failure_fails_the_operation(private_vault, tenant):
    connection = uuid.uuid4()
    async with private_vault.http("oauth") as oauth:
        await oauth.put(_url(tenant, connection, "access_token"), json={"value": "stored-before"})
        conn = await private_vault.db()
        await conn.execute("""
            CREATE FUNCTION vault.refuse_audit() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN RAISE EXCEPTION 'audit storage unavailable'; END $$;
            CREATE TRIGGER audit_broken BEFORE INSERT ON vault.audit
                FOR EACH ROW EXECUTE FUNCTION vault.refuse_audit();
        """)
        try:
            stored = await oauth.put(
                _url(tenant, connection, "refresh_token"), json={"value": "never-stored"}
            )
            assert stored.status_code == 503
            assert stored.json()["error"]["code"] == "audit_unavailable"
            read = await oauth.get(_url(tenant, connection, "access_token"))
            assert read.status_code == 503
            assert "stored-before" not in read.text
            deleted = await oauth.delete(_url(tenant, connection, "access_token"))
            assert deleted.status_code == 503
            async with httpx.AsyncClient(base_url=private_vault.url, timeout=10) as anonymous:
                refused = await anonymous.get(_url(tenant, connection, "access_token"))
            # A refusal that cannot be audited is not answered as a refusal either.
            assert refused.status_code == 503 and refused.json()["error"]["code"] == "audit_unavailable"
            async with private_vault.http("hubctl") as admin:
                rotated = await admin.post("/v1/admin/key-versions")
            assert rotated.status_code == 503 and rotated.json()["error"]["code"] == "audit_unavailable"
            assert await conn.fetchval("SELECT count(*) FROM credentials WHERE tenant_id = $1", tenant) == 1
            assert (
                await conn.fetchval(
                    "SELECT count(*) FROM outbox WHERE convert_from(value, 'UTF8') LIKE '%refresh_token%'"
                )
                == 0
            )
        finally:
            await conn.execute("DROP TRIGGER audit_broken ON vault.audit")
            await conn.close()
        assert (await oauth.get(_url(tenant, connection, "access_token"))).json()["value"] == "stored-before"
    async with private_vault.http("hubctl") as admin:
        versions = (await admin.get("/v1/admin/key-versions")).json()["versions"]
    # The rotation that could not be audited never happened: the keyring still has one version.
    assert [(v["version"], v["primary"]) for v in versions] == [(1, True)]


async def test_delete_all_leaves_one_audit_row_per_key(shared_vault, tenant):
    connection = uuid.uuid4()
    async with shared_vault.http("oauth") as oauth:
        for key in ("access_token", "refresh_token"):
            await oauth.put(_url(tenant, connection, key), json={"value": "v"})
    async with shared_vault.http("connectors") as connectors:
        wiped = await connectors.delete(f"/v1/tenants/{tenant}/connections/{connection}/credentials")
        assert wiped.status_code == 200, wiped.text
        again = await connectors.delete(f"/v1/tenants/{tenant}/connections/{connection}/credentials")
        assert again.status_code == 200
    rows = await _audit(shared_vault, operation="credential.delete_all", connection_id=connection)
    keys = [r["credential_key"] for r in rows]
    assert sorted(keys[:2]) == ["access_token", "refresh_token"] and keys[2:] == [None]  # then nothing left


async def test_a_delete_at_an_expected_version_leaves_a_newer_value(shared_vault, tenant):
    """A caller cleaning up what it wrote (version 1) must not remove what was written after it."""
    connection = uuid.uuid4()
    url = _url(tenant, connection, "refresh_token")
    async with shared_vault.http("oauth") as oauth:
        assert (await oauth.put(url, json={"value": "rt-mine"})).status_code == 201
        assert (await oauth.put(url, json={"value": "rt-newer"})).status_code == 200  # version 2
        stale = await oauth.delete(url, params={"expected_version": 1})
        assert stale.status_code == 409, stale.text
        assert stale.json()["error"]["code"] == "version_conflict"
        assert (await oauth.get(url)).json()["value"] == "rt-newer"
        for bad in ("0", "-1", "two", str(2**63)):
            refused = await oauth.delete(url, params={"expected_version": bad})
            assert refused.status_code == 422 and refused.json()["error"]["code"] == "validation_error"
        assert (await oauth.delete(url, params={"expected_version": 2})).status_code == 204
        gone = await oauth.delete(url, params={"expected_version": 2})
        assert gone.status_code == 404 and gone.json()["error"]["code"] == "credential_not_found"
    rows = await _audit(shared_vault, operation="credential.delete", connection_id=connection)
    assert [r["outcome"] for r in rows] == ["conflict", *["invalid"] * 4, "ok", "not_found"]
    assert [r["key_version"] is not None for r in rows] == [False] * 5 + [True, False]
