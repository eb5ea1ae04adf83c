"""Refresh (on demand, concurrent, proactive, invalid_grant) and revocation against the simulator."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import json
import uuid
from functools import partial

import asyncpg
import pytest

from hub_common.testing import eventually, expect_events
from hub_e2e.processes import free_port

from .conftest import manifest_for
from .test_flows import authorize, setup_connection, start

pytestmark = pytest.mark.component  # neighbouring services stood in (docs/testing.md)


async def connect(oauth, directory, simulator, tenant, user_headers) -> uuid.UUID:
    cid = await setup_connection(oauth, directory, simulator, tenant, user_headers)
    params = await authorize((await start(oauth, user_headers, cid))["authorization_url"])
    resp = await oauth.get("/v1/oauth/callback", params=params)
    assert resp.status_code == 200, resp.text
    return cid


async def test_on_demand_refresh_rotates_and_stores_the_new_pair(
    oauth, directory, simulator, tenant, user_headers, vault_as
):
    cid = await connect(oauth, directory, simulator, tenant, user_headers)
    vault = vault_as("oauth")
    old_access = await vault.read(tenant, cid, "access_token")
    old_refresh = await vault.read(tenant, cid, "refresh_token")
    simulator.expire(token=old_access)
    before = simulator.stats()["refreshes"]
    resp = await oauth.post(f"/v1/oauth/connections/{cid}/refresh", headers=user_headers, json={})
    assert resp.status_code == 200 and resp.json()["refreshed"] is True, resp.text
    assert simulator.stats()["refreshes"] == before + 1
    new_access = await vault.read(tenant, cid, "access_token")
    new_refresh = await vault.read(tenant, cid, "refresh_token")
    assert new_access != old_access and new_refresh != old_refresh
    assert simulator.introspect(new_access)["active"] is True
    # The gateway names the token that failed: an already-replaced one causes no second refresh.
    stale = hashlib.sha256(old_access.encode()).hexdigest()
    again = await oauth.post(
        f"/v1/oauth/connections/{cid}/refresh", headers=user_headers, json={"stale_token_sha256": stale}
    )
    assert again.json()["refreshed"] is False
    assert simulator.stats()["refreshes"] == before + 1


async def test_two_hundred_concurrent_refreshes_make_exactly_one(
    oauth, directory, simulator, tenant, user_headers, vault_as
):
    cid = await connect(oauth, directory, simulator, tenant, user_headers)
    simulator.expire(token=await vault_as("oauth").read(tenant, cid, "access_token"))
    before = simulator.stats()
    results = await asyncio.gather(
        *(
            oauth.post(f"/v1/oauth/connections/{cid}/refresh", headers=user_headers, json={})
            for _ in range(200)
        )
    )
    assert all(r.status_code == 200 for r in results), {r.status_code for r in results}
    after = simulator.stats()
    assert after["refreshes"] == before["refreshes"] + 1
    assert after["reuse_detections"]["refresh_token"] == before["reuse_detections"]["refresh_token"]
    assert simulator.introspect(await vault_as("oauth").read(tenant, cid, "access_token"))["active"] is True


async def test_answer_without_refresh_token_keeps_the_stored_one(
    oauth, directory, simulator, tenant, user_headers, vault_as
):
    cid = await connect(oauth, directory, simulator, tenant, user_headers)
    vault = vault_as("oauth")
    refresh = await vault.read(tenant, cid, "refresh_token")
    simulator.update_settings(rotate_refresh_tokens=False)
    try:
        resp = await oauth.post(
            f"/v1/oauth/connections/{cid}/refresh", headers=user_headers, json={"force": True}
        )
    finally:
        simulator.update_settings(rotate_refresh_tokens=True)
    assert resp.json()["refreshed"] is True
    assert await vault.read(tenant, cid, "refresh_token") == refresh


async def test_invalid_grant_marks_token_invalid_with_an_event(
    oauth, directory, simulator, tenant, user_headers, kafka_bootstrap
):
    cid = await connect(oauth, directory, simulator, tenant, user_headers)
    simulator.inject_fault("token", "invalid_grant", count=1, grant_type="refresh_token")
    async with expect_events(
        kafka_bootstrap,
        "integration.status-changed",
        match=lambda d: d["connection_id"] == str(cid),
        timeout_s=15,
    ) as seen:
        resp = await oauth.post(
            f"/v1/oauth/connections/{cid}/refresh", headers=user_headers, json={"force": True}
        )
    assert resp.status_code == 409 and resp.json()["error"]["code"] == "invalid_grant"
    assert seen[0].data["status"] == "token_invalid" and seen[0].data["reason"] == "invalid_grant"
    info = (await oauth.get(f"/v1/oauth/connections/{cid}/token", headers=user_headers)).json()
    assert info["status"] == "invalid"
    blocked = await oauth.post(f"/v1/oauth/connections/{cid}/refresh", headers=user_headers, json={})
    assert blocked.status_code == 409 and blocked.json()["error"]["code"] == "token_not_active"


async def test_proactive_scheduler_refreshes_tokens_near_expiry(
    oauth, directory, simulator, tenant, user_headers, oauth_dsn
):
    cid = await connect(oauth, directory, simulator, tenant, user_headers)
    conn = await asyncpg.connect(oauth_dsn)
    try:
        await conn.execute(
            "UPDATE oauth.tokens SET expires_at = now() + interval '30 seconds', "
            "last_refreshed_at = now() - interval '1 hour', issued_at = now() - interval '1 hour' "
            "WHERE connection_id = $1",
            cid,
        )
        before = simulator.stats()["refreshes"]
        refreshed = await oauth.container.scheduler.run_once()
        assert refreshed >= 1
        assert simulator.stats()["refreshes"] >= before + 1
        expires = await conn.fetchval(
            "SELECT expires_at > now() + interval '10 minutes' FROM oauth.tokens WHERE connection_id = $1",
            cid,
        )
        assert expires is True
    finally:
        await conn.close()


async def test_revoke_at_provider_then_locally(oauth, directory, simulator, tenant, user_headers, vault_as):
    cid = await connect(oauth, directory, simulator, tenant, user_headers)
    access = await vault_as("oauth").read(tenant, cid, "access_token")
    resp = await oauth.post(f"/v1/oauth/connections/{cid}/revoke", headers=user_headers, json={})
    body = resp.json()
    assert resp.status_code == 200 and body["provider_revoked"] is True and body["provider_error"] is None
    assert set(body["deleted_keys"]) == {"access_token", "refresh_token"}
    assert simulator.introspect(access)["active"] is False
    assert await vault_as("oauth").list_keys(tenant, cid) == []


async def test_provider_failure_during_revoke_still_deletes_credentials(
    oauth, directory, simulator, tenant, user_headers, vault_as
):
    cid = await connect(oauth, directory, simulator, tenant, user_headers)
    simulator.inject_fault("revoke", "status", status=500, count=5)
    try:
        resp = await oauth.post(f"/v1/oauth/connections/{cid}/revoke", headers=user_headers, json={})
    finally:
        simulator.clear_faults()
    assert resp.status_code == 200
    assert resp.json()["provider_revoked"] is False and resp.json()["provider_error"] == "revocation_failed"
    assert await vault_as("oauth").list_keys(tenant, cid) == []


async def _revoked_locally(oauth, vault_as, tenant, user_headers, cid) -> None:
    assert await vault_as("oauth").list_keys(tenant, cid) == []
    info = await oauth.get(f"/v1/oauth/connections/{cid}/token", headers=user_headers)
    assert info.json()["status"] == "revoked"


async def test_unreachable_provider_during_revoke_still_deletes_credentials(
    oauth, directory, simulator, tenant, user_headers, vault_as
):
    cid = await connect(oauth, directory, simulator, tenant, user_headers)
    nobody = f"http://127.0.0.1:{free_port()}/revoke"  # connection refused, on every attempt
    info = directory.connections[cid]
    directory.add(dataclasses.replace(info, manifest=manifest_for(simulator.url, revocation_url=nobody)))
    resp = await oauth.post(f"/v1/oauth/connections/{cid}/revoke", headers=user_headers, json={})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["provider_revoked"] is False and body["provider_error"] == "temporarily_unavailable"
    assert set(body["deleted_keys"]) == {"access_token", "refresh_token"}
    await _revoked_locally(oauth, vault_as, tenant, user_headers, cid)


@pytest.mark.parametrize("lost", ["oauth_app", "manifest"])
async def test_unresolvable_provider_during_revoke_still_deletes_credentials(
    oauth, directory, simulator, tenant, user_headers, vault_as, lost
):
    cid = await connect(oauth, directory, simulator, tenant, user_headers)
    if lost == "oauth_app":
        assert (await oauth.delete("/v1/oauth/apps/simgeneric", headers=user_headers)).status_code == 204
        expected = "oauth_app_missing"
    else:  # the connector is gone from the catalogue
        directory.add(dataclasses.replace(directory.connections[cid], manifest=None))
        expected = "not_oauth"
    resp = await oauth.post(f"/v1/oauth/connections/{cid}/revoke", headers=user_headers, json={})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["provider_revoked"] is False and body["provider_error"] == expected
    assert set(body["deleted_keys"]) == {"access_token", "refresh_token"}
    await _revoked_locally(oauth, vault_as, tenant, user_headers, cid)


async def test_revoke_waiting_too_long_for_a_refresh_is_503_and_touches_nothing(
    oauth, directory, simulator, tenant, user_headers, vault_as
):
    cid = await connect(oauth, directory, simulator, tenant, user_headers)
    oauth.container.revoker.lock_wait_s = 0.2
    url = f"/v1/oauth/connections/{cid}/revoke"
    async with oauth.container.locks.hold(str(cid)):  # a refresh that takes its time
        resp = await oauth.post(url, headers=user_headers, json={})
    assert resp.status_code == 503 and resp.json()["error"]["code"] == "refresh_in_progress"
    assert set(await vault_as("oauth").list_keys(tenant, cid)) == {"access_token", "refresh_token"}
    again = await oauth.post(url, headers=user_headers, json={})
    assert again.status_code == 200 and again.json()["provider_revoked"] is True


async def test_a_reconnect_during_a_slow_refresh_keeps_the_new_grants_tokens(
    oauth, directory, simulator, tenant, user_headers, vault_as
):
    cid = await connect(oauth, directory, simulator, tenant, user_headers)
    vault = vault_as("oauth")
    old_family = simulator.introspect(await vault.read(tenant, cid, "access_token"))["family_id"]
    # The provider answers the refresh late, and without a refresh token (the old one is kept).
    simulator.update_settings(rotate_refresh_tokens=False)
    simulator.inject_fault("token", "delay", delay_s=1.5, grant_type="refresh_token")
    try:
        refresh = asyncio.create_task(
            oauth.post(f"/v1/oauth/connections/{cid}/refresh", headers=user_headers, json={"force": True})
        )
        await eventually(partial(_fault_met, simulator), what="the refresh waiting on the provider")
        params = await authorize((await start(oauth, user_headers, cid))["authorization_url"])
        reconnected = await oauth.get("/v1/oauth/callback", params=params)
        assert reconnected.status_code == 200, reconnected.text
        await refresh
    finally:
        simulator.clear_faults()
        simulator.update_settings(rotate_refresh_tokens=True)
    stored = simulator.introspect(await vault.read(tenant, cid, "access_token"))
    assert stored["active"] and stored["family_id"] != old_family  # the reconnect's, not the refresh's
    refresh_family = simulator.introspect(await vault.read(tenant, cid, "refresh_token"))["family_id"]
    assert refresh_family == stored["family_id"]


async def test_a_flow_open_during_a_revoke_cannot_bring_the_connection_back(
    oauth, directory, simulator, tenant, user_headers, vault_as
):
    cid = await connect(oauth, directory, simulator, tenant, user_headers)
    params = await authorize((await start(oauth, user_headers, cid))["authorization_url"])
    revoked = await oauth.post(f"/v1/oauth/connections/{cid}/revoke", headers=user_headers, json={})
    assert revoked.status_code == 200, revoked.text
    # The user finishes the consent that was open when the connection was revoked.
    late = await oauth.get("/v1/oauth/callback", params=params)
    assert late.status_code == 409 and late.json()["error"]["code"] == "flow_revoked"
    await _revoked_locally(oauth, vault_as, tenant, user_headers, cid)
    # A flow started after the revoke reconnects as usual.
    params = await authorize((await start(oauth, user_headers, cid))["authorization_url"])
    again = await oauth.get("/v1/oauth/callback", params=params)
    assert again.status_code == 200, again.text


async def test_a_revoke_while_the_callback_is_at_the_provider_wins(
    oauth, directory, simulator, tenant, user_headers, vault_as
):
    cid = await connect(oauth, directory, simulator, tenant, user_headers)
    params = await authorize((await start(oauth, user_headers, cid))["authorization_url"])
    known = {f["id"] for f in simulator.families()}
    simulator.inject_fault("token", "delay", delay_s=1.0, grant_type="authorization_code")
    try:
        callback = asyncio.create_task(oauth.get("/v1/oauth/callback", params=params))
        await eventually(partial(_fault_met, simulator), what="the code exchange waiting on the provider")
        revoked = await oauth.post(f"/v1/oauth/connections/{cid}/revoke", headers=user_headers, json={})
        late = await callback
    finally:
        simulator.clear_faults()
    assert revoked.status_code == 200, revoked.text
    assert late.status_code == 409 and late.json()["error"]["code"] == "flow_revoked"
    await _revoked_locally(oauth, vault_as, tenant, user_headers, cid)
    # The grant the late exchange obtained was never stored, so it is revoked at the provider.
    (fresh,) = [f for f in simulator.families() if f["id"] not in known]
    assert fresh["revoked"], fresh


async def _fault_met(simulator) -> bool:
    """The injected delay has met its request: the call is now waiting on the provider."""
    return not await asyncio.to_thread(simulator.faults)


async def test_the_connect_statement_itself_refuses_a_flow_a_revoke_ended(oauth, oauth_dsn):
    """The last word is the database's: should the lock have lapsed, a connect whose flow a
    revoke ended changes nothing (no token row, no event, the flow stays ended)."""
    from datetime import UTC, datetime, timedelta

    from hub_common.db.outbox import OutboxRow
    from hub_common.events import IntegrationConnected
    from hub_oauth.repositories import flows, tokens

    conn = await asyncpg.connect(oauth_dsn, server_settings={"search_path": "oauth,public"})
    await conn.set_type_codec("jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")
    try:
        cid, flow_id = uuid.uuid4(), uuid.uuid4()
        flow = flows.FlowRow(
            flow_id,
            "t-ended",
            "u",
            cid,
            "simoauth",
            None,
            "https://hub.example/cb",
            [],
            None,
            None,
            "pending",
            datetime.now(UTC) + timedelta(minutes=10),
        )
        await flows.insert(conn, flow, hashlib.sha256(flow_id.bytes).digest())
        await conn.execute("UPDATE flows SET status = 'exchanging' WHERE id = $1", flow_id)
        assert await flows.end_open(conn, cid) == 1
        outbox_before = await conn.fetchval("SELECT count(*) FROM outbox")
        row = tokens.TokenRow(
            cid,
            "t-ended",
            "simoauth",
            "authorization_code",
            "Bearer",
            None,
            False,
            [],
            "acct",
            "active",
            0,
            None,
            {},
        )
        event = OutboxRow.of(
            IntegrationConnected(
                tenant_id="t-ended",
                connection_id=cid,
                connector_id="simoauth",
                external_account_id="acct",
                auth_method="oauth2",
            ),
            "/test",
        )
        assert (
            await tokens.connect(conn, row, flow_id=flow_id, event=event, notify_channel="oauth_outbox")
            is None
        )
        assert await tokens.get_unscoped(conn, cid) is None
        assert await conn.fetchval("SELECT count(*) FROM outbox") == outbox_before
        assert await conn.fetchval("SELECT status FROM flows WHERE id = $1", flow_id) == "failed"
    finally:
        await conn.close()


async def test_a_revoke_says_revoked_without_a_refresh_token_and_tells_the_connection(
    oauth, directory, simulator, tenant, user_headers, kafka_bootstrap
):
    cid = await connect(oauth, directory, simulator, tenant, user_headers)
    async with expect_events(
        kafka_bootstrap,
        "integration.status-changed",
        match=lambda d: d["connection_id"] == str(cid),
        timeout_s=15,
    ) as seen:
        resp = await oauth.post(f"/v1/oauth/connections/{cid}/revoke", headers=user_headers, json={})
        assert resp.status_code == 200, resp.text
    # The connectors service moves the connection to token_invalid: it needs a reconnect.
    assert seen[0].data["status"] == "token_invalid" and seen[0].data["reason"] == "revoked"
    info = (await oauth.get(f"/v1/oauth/connections/{cid}/token", headers=user_headers)).json()
    assert info["status"] == "revoked" and info["has_refresh_token"] is False
    blocked = await oauth.post(f"/v1/oauth/connections/{cid}/refresh", headers=user_headers, json={})
    assert blocked.status_code == 409 and blocked.json()["error"]["code"] == "token_not_active"
