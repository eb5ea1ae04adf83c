"""Refreshes coalesce on time, whatever the token's lifetime (ADR 0014), and the scheduler's
margin is capped at half the token's lifetime, with one replica claiming each connection."""

from __future__ import annotations

import asyncpg
import pytest

from hub_oauth.repositories import tokens

from .test_refresh_revoke import connect

pytestmark = pytest.mark.component  # neighbouring services stood in (docs/testing.md)


async def refresh(oauth, cid, headers, **body):
    resp = await oauth.post(f"/v1/oauth/connections/{cid}/refresh", headers=headers, json=body)
    assert resp.status_code == 200, resp.text
    return resp.json()


async def test_a_plain_refresh_right_after_one_of_a_short_token_is_not_needed(
    oauth, directory, simulator, tenant, user_headers
):
    simulator.update_settings(access_token_ttl=30)
    try:
        cid = await connect(oauth, directory, simulator, tenant, user_headers)
        before = simulator.stats()["refreshes"]
        first = await refresh(oauth, cid, user_headers)
        second = await refresh(oauth, cid, user_headers)
    finally:
        simulator.update_settings(access_token_ttl=3600)
    assert (first["outcome"], first["performed"], first["refreshed"]) == ("refreshed", True, True)
    # The old shortcut wanted 60 s of validity left, which a 30 s token never has.
    assert (second["outcome"], second["performed"], second["refreshed"]) == ("not_needed", False, False)
    assert second["refreshed_at"] == first["refreshed_at"]
    assert simulator.stats()["refreshes"] == before + 1


async def test_a_forced_request_that_began_before_a_completed_refresh_gets_it(
    oauth, directory, simulator, tenant, user_headers
):
    cid = await connect(oauth, directory, simulator, tenant, user_headers)
    refresher = oauth.container.refresher
    asked_at = await refresher.locks.now()  # this request began ...
    done = await refresher.refresh(tenant, cid, force=True)  # ... before this refresh completed
    before = simulator.stats()["refreshes"]
    joined = await refresher.refresh(tenant, cid, force=True, asked_at=asked_at)
    assert done.outcome == "refreshed" and done.performed
    assert joined.outcome == "coalesced" and not joined.performed and joined.refreshed
    assert joined.generation == done.generation and joined.refreshed_at == done.refreshed_at
    assert simulator.stats()["refreshes"] == before
    # A forced request that began after it gets a refresh of its own.
    again = await refresh(oauth, cid, user_headers, force=True)
    assert again["outcome"] == "refreshed" and again["generation"] == done.generation + 1
    assert simulator.stats()["refreshes"] == before + 1


async def test_the_scheduler_leaves_a_token_alone_while_half_its_life_is_left(
    oauth, directory, simulator, tenant, user_headers, oauth_dsn
):
    cid = await connect(oauth, directory, simulator, tenant, user_headers)
    scheduler = oauth.container.scheduler
    assert scheduler.margin_s > 30  # the margin is longer than the token's whole life
    conn = await asyncpg.connect(oauth_dsn, server_settings={"search_path": "oauth"})

    async def generation() -> int:
        value: int = await conn.fetchval("SELECT generation FROM oauth.tokens WHERE connection_id = $1", cid)
        return value

    try:
        await conn.execute(
            "UPDATE oauth.tokens SET issued_at = now(), expires_at = now() + interval '30 seconds' "
            "WHERE connection_id = $1",
            cid,
        )
        start = await generation()
        await scheduler.run_once()  # other tests' connections may be due: count this one only
        assert await generation() == start
        # Less than half its life left: due. A replica's round claims it ...
        await conn.execute(
            "UPDATE oauth.tokens SET issued_at = now() - interval '40 seconds' WHERE connection_id = $1",
            cid,
        )
        claimed = await tokens.due_for_refresh(conn, margin_s=300, idle_s=3600, limit=1000)
        assert cid in claimed
        # ... and another replica's round, while the claim stands, leaves it to that replica.
        await scheduler.run_once()
        assert await generation() == start
        await tokens.release_claim(conn, cid)
        await scheduler.run_once()
        assert await generation() == start + 1
        await scheduler.run_once()  # the fresh token has its whole life ahead of it
        assert await generation() == start + 1
    finally:
        await conn.close()
