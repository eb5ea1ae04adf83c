"""Actions are retry-safe with an Idempotency-Key (docs/adr/0033): a client that lost the answer
(a crash, a timeout, a restart of the hub) retries with the same key and gets the first result
back, and the provider is called once, never twice, however the retries and crashes fall."""

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from hub_connectors.services.actions import action_fingerprint

pytestmark = pytest.mark.component  # neighbouring services stood in (docs/testing.md)
GOOD_KEY = "good-key-actions"


async def _connection(api, auth, tenant) -> str:
    body = {
        "connector_id": "echoapi",
        "name": f"echo-{uuid.uuid4().hex[:6]}",
        "credentials": {"api_key": GOOD_KEY},
    }
    created = await api.post("/v1/connections", json=body, headers=auth(tenant))
    assert created.status_code == 201 and created.json()["status"] == "active", created.text
    return str(created.json()["id"])


async def _echo(api, headers, cid: str, message: str = "hi", key: str | None = None):
    extra = {"Idempotency-Key": key} if key is not None else {}
    return await api.post(
        f"/v1/connections/{cid}/actions/echo",
        json={"parameters": {"message": message}},
        headers={**headers, **extra},
    )


async def test_a_retry_with_the_same_key_returns_the_first_result_and_calls_the_provider_once(
    api, auth, tenant, gateway
):
    cid = await _connection(api, auth, tenant)
    first = await _echo(api, auth(tenant), cid, key="act-1")
    assert first.status_code == 200 and first.json()["success"] is True, first.text
    assert "idempotent-replayed" not in first.headers
    again = await _echo(api, auth(tenant), cid, key="act-1")
    assert again.status_code == 200, again.text
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json()["data"] == first.json()["data"] == {"echo": {"message": "hi"}}
    assert gateway.calls_to(cid, "echo") == 1
    # Without a key every request runs.
    await _echo(api, auth(tenant), cid)
    assert gateway.calls_to(cid, "echo") == 2


async def test_concurrent_requests_with_one_key_call_the_provider_once(api, auth, tenant, gateway):
    cid = await _connection(api, auth, tenant)
    answers = await asyncio.gather(*(_echo(api, auth(tenant), cid, key="act-burst") for _ in range(6)))
    assert gateway.calls_to(cid, "echo") == 1
    fresh = [a for a in answers if a.status_code == 200 and "idempotent-replayed" not in a.headers]
    assert len(fresh) == 1
    for a in answers:  # the others: the result again, or told the first one still runs
        assert a.status_code == 200 or a.json()["error"]["code"] == "idempotency_key_in_use", a.text


async def test_an_interrupted_first_attempt_is_never_run_again(api, auth, tenant, gateway, settings):
    """What a crash between the claim and the recorded result leaves: a key without a result.
    Whether the provider executed the action is unknown, so a retry must not run it."""
    cid = await _connection(api, auth, tenant)
    conn = await asyncpg.connect(settings.postgres_dsn)
    try:
        await conn.execute(
            "INSERT INTO connectors.action_idempotency (tenant_id, idempotency_key, fingerprint) "
            "VALUES ($1, $2, $3)",
            tenant,
            "act-crashed",
            action_fingerprint(uuid.UUID(cid), "echo", {"message": "hi"}),
        )
    finally:
        await conn.close()
    resp = await _echo(api, auth(tenant), cid, key="act-crashed")
    assert resp.status_code == 409, resp.text
    error = resp.json()["error"]
    assert error["code"] == "idempotency_key_in_use" and error["details"]["started_at"]
    assert gateway.calls_to(cid, "echo") == 0


async def test_the_same_key_for_another_request_is_refused_and_keys_are_per_tenant(
    api, auth, tenant, gateway
):
    cid = await _connection(api, auth, tenant)
    assert (await _echo(api, auth(tenant), cid, "one", key="act-2")).status_code == 200
    other = await _echo(api, auth(tenant), cid, "two", key="act-2")
    assert other.status_code == 422 and other.json()["error"]["code"] == "idempotency_key_reused"
    elsewhere = f"{tenant}-b"
    their_cid = await _connection(api, auth, elsewhere)
    theirs = await _echo(api, auth(elsewhere), their_cid, "one", key="act-2")
    assert theirs.status_code == 200 and "idempotent-replayed" not in theirs.headers
    assert gateway.calls_to(cid, "echo") == 1 and gateway.calls_to(their_cid, "echo") == 1


async def test_a_refused_request_claims_nothing(api, auth, tenant, gateway):
    cid = await _connection(api, auth, tenant)
    invalid = await api.post(
        f"/v1/connections/{cid}/actions/echo",
        json={"parameters": {"times": 2}},
        headers={**auth(tenant), "Idempotency-Key": "act-3"},
    )
    assert invalid.status_code == 422 and invalid.json()["error"]["code"] == "invalid_parameters"
    fixed = await _echo(api, auth(tenant), cid, key="act-3")
    assert fixed.status_code == 200 and "idempotent-replayed" not in fixed.headers
    assert gateway.calls_to(cid, "echo") == 1


async def test_keys_are_forgotten_after_a_day(api, auth, tenant, container, settings, gateway):
    cid = await _connection(api, auth, tenant)
    assert (await _echo(api, auth(tenant), cid, key="act-old")).status_code == 200
    conn = await asyncpg.connect(settings.postgres_dsn)
    try:
        await conn.execute(
            "UPDATE connectors.action_idempotency SET created_at = $3 "
            "WHERE tenant_id = $1 AND idempotency_key = $2",
            tenant,
            "act-old",
            datetime.now(UTC) - timedelta(days=1, seconds=1),
        )
    finally:
        await conn.close()
    await container.sweeper.run()
    again = await _echo(api, auth(tenant), cid, key="act-old")
    assert again.status_code == 200 and "idempotent-replayed" not in again.headers
    assert gateway.calls_to(cid, "echo") == 2
