"""Creates are retry-safe and none is left as a ghost (faults issue, item 1): an Idempotency-Key
makes a retry after a lost answer return — and finish — the connection the first attempt made;
the sweeper finishes or abandons creations that stopped half-way (a crash between the row and
the credentials), so they stop holding the name and a license slot."""

import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from hub_connectors.domain.connection import Connection
from hub_connectors.domain.states import ConnectionStatus
from hub_connectors.services.caller import Caller

pytestmark = pytest.mark.component  # neighbouring services stood in (docs/testing.md)
GOOD_KEY = "good-key-retry"


def body(name: str, **extra):
    return {"connector_id": "echoapi", "name": name, "credentials": {"api_key": GOOD_KEY}, **extra}


async def test_a_retry_with_the_same_key_returns_the_same_connection(api, auth, tenant):
    headers = {**auth(tenant), "Idempotency-Key": "create-1"}
    first = await api.post("/v1/connections", json=body("main"), headers=headers)
    assert first.status_code == 201, first.text
    assert "idempotent-replayed" not in first.headers
    again = await api.post("/v1/connections", json=body("main"), headers=headers)
    assert again.status_code == 201, again.text
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json()["id"] == first.json()["id"] and again.json()["status"] == "active"
    listed = (await api.get("/v1/connections", headers=auth(tenant))).json()["connections"]
    assert [c["id"] for c in listed] == [first.json()["id"]]
    # Without the key the same request is a new create, and the name is taken.
    plain = await api.post("/v1/connections", json=body("main"), headers=auth(tenant))
    assert plain.status_code == 409 and plain.json()["error"]["code"] == "name_taken"


async def test_the_same_key_for_another_request_is_refused(api, auth, tenant):
    headers = {**auth(tenant), "Idempotency-Key": "create-2"}
    assert (await api.post("/v1/connections", json=body("one"), headers=headers)).status_code == 201
    other = await api.post("/v1/connections", json=body("two"), headers=headers)
    assert other.status_code == 422
    assert other.json()["error"]["code"] == "idempotency_key_reused"
    # Keys are the tenant's own: another tenant's same key is unrelated.
    elsewhere = f"{tenant}-b"
    reused = await api.post(
        "/v1/connections", json=body("one"), headers={**auth(elsewhere), "Idempotency-Key": "create-2"}
    )
    assert reused.status_code == 201 and "idempotent-replayed" not in reused.headers


@pytest.mark.parametrize("key", ["", "has space", "x" * 256, "tab\tkey"])
async def test_malformed_keys_are_refused(api, auth, tenant, key):
    resp = await api.post("/v1/connections", json=body("k"), headers={**auth(tenant), "Idempotency-Key": key})
    assert resp.status_code == 422 and resp.json()["error"]["code"] == "validation_error"


async def _half_created(
    container, tenant: str, name: str, *, connector_id: str = "echoapi", key: str | None = None
):
    """What a crash right after the row's insert leaves: the row, initializing, maybe a key."""
    registered = container.registry.get(connector_id)
    manifest = registered.manifest
    draft = Connection(
        id=uuid.uuid4(),
        tenant_id=tenant,
        user_id="alice",
        connector_id=manifest.id,
        connector_version=manifest.version,
        category=str(manifest.category),
        custom=registered.custom,
        auth_method=str(manifest.auth.method),
        name=name,
        status=ConnectionStatus.INITIALIZING,
        base_url=manifest.api.base_url,
    )
    from hub_connectors.services.connections import request_fingerprint

    caller = Caller(tenant, "alice", "teams")
    claim = None
    if key is not None:
        claim = (key, request_fingerprint(manifest.id, name, {}, {"api_key": GOOD_KEY}))
    connection, replayed = await container.connections._reserve(caller, draft, claim)
    assert not replayed
    return connection


async def test_a_retry_finishes_a_create_that_crashed_half_way(api, auth, tenant, container):
    half = await _half_created(container, tenant, "crashed", key="create-3")
    headers = {**auth(tenant), "Idempotency-Key": "create-3"}
    resp = await api.post("/v1/connections", json=body("crashed"), headers=headers)
    assert resp.status_code == 201, resp.text
    assert resp.json()["id"] == str(half.id) and resp.json()["status"] == "active"
    assert resp.headers["idempotent-replayed"] == "true"


async def _age(settings, connection_id, seconds: float) -> None:
    conn = await asyncpg.connect(settings.postgres_dsn)
    try:
        await conn.execute(
            "UPDATE connectors.integrations_connections SET created_at = $2 WHERE id = $1",
            connection_id,
            datetime.now(UTC) - timedelta(seconds=seconds),
        )
    finally:
        await conn.close()


async def test_the_sweeper_abandons_stuck_creations_and_frees_name_and_slot(
    api, auth, tenant, container, settings, vault_as_connectors
):
    no_key = await _half_created(container, tenant, "ghost")
    with_key = await _half_created(container, tenant, "recoverable")
    await vault_as_connectors.store_many(tenant, str(with_key.id), {"api_key": GOOD_KEY})
    oauth_flow = await _half_created(container, tenant, "never-authorised", connector_id="oauththing")
    fresh = await _half_created(container, tenant, "just-now")
    for stuck in (no_key, with_key):
        await _age(settings, stuck.id, settings.connectors_abandon_api_key_after_s + 5)
    await _age(settings, oauth_flow.id, settings.connectors_abandon_oauth_after_s + 5)

    await container.sweeper.run()

    async def status_of(c):
        return (await api.get(f"/v1/connections/{c.id}", headers=auth(tenant))).json()

    ghost = await status_of(no_key)
    assert ghost["status"] == "disconnected" and ghost["last_error"].startswith("abandoned")
    assert (await status_of(with_key))["status"] == "active"  # its key was stored: finished
    assert (await status_of(oauth_flow))["status"] == "disconnected"
    assert (await status_of(fresh))["status"] == "initializing"  # may still be in progress
    assert await vault_as_connectors.list_keys(tenant, str(no_key.id)) == []
    # The name is free again.
    again = await api.post("/v1/connections", json=body("ghost"), headers=auth(tenant))
    assert again.status_code == 201 and again.json()["status"] == "active"


async def test_a_retry_after_the_sweeper_undid_its_attempt_creates_anew(
    api, auth, tenant, container, settings
):
    half = await _half_created(container, tenant, "late", key="create-4")
    await _age(settings, half.id, settings.connectors_abandon_api_key_after_s + 5)
    await container.sweeper.run()
    resp = await api.post(
        "/v1/connections", json=body("late"), headers={**auth(tenant), "Idempotency-Key": "create-4"}
    )
    assert resp.status_code == 201, resp.text
    assert resp.json()["id"] != str(half.id) and resp.json()["status"] == "active"
    assert "idempotent-replayed" not in resp.headers
    again = await api.post(
        "/v1/connections", json=body("late"), headers={**auth(tenant), "Idempotency-Key": "create-4"}
    )
    assert again.json()["id"] == resp.json()["id"] and again.headers["idempotent-replayed"] == "true"
