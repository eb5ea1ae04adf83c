"""``PUT .../credentials``: several values of one connection in one call, all or none, each
audited and announced exactly as a single store would be."""

import uuid

import pytest

from hub_common.testing import expect_events
from hub_common.testing.tracing import trace_id_for, traced

pytestmark = pytest.mark.integration


def _collection(tenant: str, connection: uuid.UUID, *, fast: bool = True) -> str:
    # The canonical id is served by the raw-ASGI fast path, 32 hex digits only by the FastAPI route.
    return f"/v1/tenants/{tenant}/connections/{connection if fast else connection.hex}/credentials"


async def _rows(vault, sql: str, *args):
    conn = await vault.db()
    try:
        return await conn.fetch(sql, *args)
    finally:
        await conn.close()


@pytest.mark.parametrize("fast", [True, False], ids=["fast-path", "fastapi-route"])
async def test_round_trip_creates_then_replaces_every_value(shared_vault, tenant, fast):
    connection = uuid.uuid4()
    url = _collection(tenant, connection, fast=fast)
    async with shared_vault.http("oauth") as oauth:
        first = await oauth.put(url, json={"values": {"access_token": "at-1", "refresh_token": "rt-1"}})
        assert first.status_code == 200, first.text
        body = first.json()
        assert body["tenant_id"] == tenant and body["connection_id"] == str(connection)
        assert {(c["key"], c["version"]) for c in body["credentials"]} == {
            ("access_token", 1),
            ("refresh_token", 1),
        }
        assert "at-1" not in first.text and "rt-1" not in first.text
        second = await oauth.put(url, json={"values": {"access_token": "at-2", "refresh_token": "rt-2"}})
        assert {(c["key"], c["version"]) for c in second.json()["credentials"]} == {
            ("access_token", 2),
            ("refresh_token", 2),
        }
        for key, value in (("access_token", "at-2"), ("refresh_token", "rt-2")):
            read = await oauth.get(f"{_collection(tenant, connection)}/{key}")
            assert read.json()["value"] == value


async def test_both_paths_answer_alike(shared_vault, tenant):
    async with shared_vault.http("oauth") as oauth:
        answers = []
        for fast in (True, False):
            connection = uuid.uuid4()
            response = await oauth.put(
                _collection(tenant, connection, fast=fast), json={"values": {"access_token": "same"}}
            )
            body = response.json()
            body["connection_id"] = "-"
            for meta in body["credentials"]:
                meta["connection_id"] = "-"
                meta.pop("created_at"), meta.pop("updated_at")
            answers.append((response.status_code, response.headers["content-type"], body))
    assert answers[0] == answers[1]


async def test_each_value_is_audited_and_announced_without_its_secret(shared_vault, tenant, kafka_bootstrap):
    connection = uuid.uuid4()
    secrets = {
        "access_token": "many-canary-at-" + uuid.uuid4().hex,
        "id_token": "many-canary-id-" + uuid.uuid4().hex,
    }
    async with (
        expect_events(
            kafka_bootstrap,
            "credential.changed",
            match=lambda e: e["connection_id"] == str(connection),
            count=2,
            exact=True,
            timeout_s=20,
        ) as seen,
        shared_vault.http("oauth") as oauth,
    ):
        response = await oauth.put(
            _collection(tenant, connection), json={"values": secrets}, headers=traced("req-many-1")
        )
        assert response.status_code == 200
    assert sorted((e.data["change"], e.data["credential_key"]) for e in seen) == [
        ("stored", "access_token"),
        ("stored", "id_token"),
    ]
    for event in seen:
        raw = event.event.data + b"".join(event.headers.values())
        assert not any(s.encode() in raw for s in secrets.values())
    audit = await _rows(
        shared_vault,
        "SELECT operation, credential_key, outcome, request_id FROM audit "
        "WHERE tenant_id = $1 AND connection_id = $2 ORDER BY credential_key",
        tenant,
        connection,
    )
    assert [tuple(r) for r in audit] == [
        ("credential.store", "access_token", "ok", trace_id_for("req-many-1")),
        ("credential.store", "id_token", "ok", trace_id_for("req-many-1")),
    ]


async def test_one_key_outside_the_policy_stores_nothing(shared_vault, tenant):
    connection = uuid.uuid4()
    url = _collection(tenant, connection)
    async with shared_vault.http("oauth") as oauth:
        response = await oauth.put(url, json={"values": {"access_token": "at", "webhook_secret": "ws"}})
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "policy_denied"
        assert (await oauth.get(f"{url}/access_token")).status_code == 404
    denied = await _rows(
        shared_vault,
        "SELECT credential_key, outcome FROM audit WHERE tenant_id = $1 AND connection_id = $2 "
        "AND operation = 'credential.store'",
        tenant,
        connection,
    )
    assert [tuple(r) for r in denied] == [("webhook_secret", "denied")]


async def test_one_oversized_value_stores_nothing(shared_vault, tenant):
    connection = uuid.uuid4()
    url = _collection(tenant, connection)
    async with shared_vault.http("oauth") as oauth:
        response = await oauth.put(
            url, json={"values": {"access_token": "at", "id_token": "x" * (64 * 1024 + 1)}}
        )
        assert response.status_code == 413
        assert response.json()["error"]["code"] == "payload_too_large"
        assert (await oauth.get(f"{url}/access_token")).status_code == 404


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"values": {}},
        {"values": {f"api_key.k{i}": "v" for i in range(17)}},
        {"values": {"Bad Key!": "v"}},
        {"values": {"access_token": ""}},
        {"values": {"access_token": 5}},
        {"values": ["access_token"]},
        {"values": {"access_token": "v"}, "expected_version": 1},
    ],
    ids=[
        "no-values",
        "empty",
        "too-many",
        "bad-key",
        "empty-value",
        "not-a-string",
        "not-a-map",
        "extra-field",
    ],
)
async def test_bad_bodies_are_422_and_store_nothing(shared_vault, tenant, body):
    connection = uuid.uuid4()
    async with shared_vault.http("oauth") as oauth:
        answers = [await oauth.put(_collection(tenant, connection, fast=f), json=body) for f in (True, False)]
        assert [a.status_code for a in answers] == [422, 422]
        assert answers[0].json()["error"]["code"] == answers[1].json()["error"]["code"]
        listed = await oauth.get(_collection(tenant, connection))
    assert listed.json()["credentials"] == []
