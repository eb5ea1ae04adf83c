"""Flows bound to the browser that opened their start link (docs/adr/0012-browser-bound-oauth-flows.md):
the start link's cookie, its single use, the callback's checks and the API client's exchange.
The tests/e2e suite shows the cross-tenant attack with real processes; these pin the details."""

from __future__ import annotations

import uuid

import asyncpg
import httpx
import pytest

from hub_common.settings import HubSettings
from hub_common.web.auth import mint_user_token
from hub_oauth.domain import binding

from .test_flows import authorize, path_of, setup_connection, start

pytestmark = pytest.mark.component  # neighbouring services stood in (docs/testing.md)


async def flow_row(dsn: str, flow_id: str) -> asyncpg.Record:
    conn = await asyncpg.connect(dsn)
    try:
        row = await conn.fetchrow("SELECT * FROM oauth.flows WHERE id = $1", uuid.UUID(flow_id))
    finally:
        await conn.close()
    assert row is not None
    return row


async def test_the_start_link_sets_a_private_cookie_once_and_sends_the_browser_on(
    oauth, directory, simulator, tenant, user_headers, oauth_dsn
):
    cid = await setup_connection(oauth, directory, simulator, tenant, user_headers)
    flow = await start(oauth, user_headers, cid, browser=False)
    assert flow["start_url"].startswith(
        f"http://127.0.0.1:18082/v1/oauth/flows/{flow['flow_id']}/start?start_token="
    )
    for guess in (
        f"/v1/oauth/flows/{flow['flow_id']}/start?start_token=guess",
        f"/v1/oauth/flows/{flow['flow_id']}/start",
    ):
        bad = await oauth.get(guess)
        assert bad.status_code == 400 and bad.json()["error"]["code"] == "start_link_invalid"
        assert "set-cookie" not in bad.headers
    opened = await oauth.get(path_of(flow["start_url"]))
    assert opened.status_code == 303 and opened.headers["location"] == flow["authorization_url"]
    assert opened.headers["cache-control"] == "no-store"
    cookie = opened.headers["set-cookie"]
    name = binding.cookie_name(uuid.UUID(flow["flow_id"]))
    assert cookie.startswith(f"{name}=")
    attributes = {part.strip().split("=")[0].lower() for part in cookie.split(";")[1:]}
    assert {"httponly", "samesite", "path", "max-age"} <= attributes
    assert "samesite=lax" in cookie.lower() and "path=/v1/oauth/callback" in cookie.lower()
    assert "secure" not in attributes  # the public URL is plain http on loopback (development)

    # Only digests are stored; the ticket and the stored authorization URL are gone once used.
    row = await flow_row(oauth_dsn, flow["flow_id"])
    assert row["binding_hash"] == binding.digest(oauth.cookies[name])
    assert row["start_hash"] is None and row["authorization_url"] is None

    again = await oauth.get(path_of(flow["start_url"]), headers={"accept": "text/html"})
    assert again.status_code == 409 and "start_link_used" in again.text
    assert "set-cookie" not in again.headers

    # The bound browser completes; the cookie is cleared with the answer.
    done = await oauth.get("/v1/oauth/callback", params=await authorize(flow["authorization_url"]))
    assert done.status_code == 200, done.text
    assert name not in oauth.cookies


async def test_a_start_link_past_its_window_is_refused(
    oauth, directory, simulator, tenant, user_headers, oauth_dsn
):
    cid = await setup_connection(oauth, directory, simulator, tenant, user_headers)
    flow = await start(oauth, user_headers, cid, browser=False)
    conn = await asyncpg.connect(oauth_dsn)
    try:
        await conn.execute(
            "UPDATE oauth.flows SET start_expires_at = now() - interval '1 second' WHERE id = $1",
            uuid.UUID(flow["flow_id"]),
        )
    finally:
        await conn.close()
    late = await oauth.get(path_of(flow["start_url"]))
    assert late.status_code == 400 and late.json()["error"]["code"] == "start_link_expired"


async def test_a_callback_with_another_flows_binding_ends_the_flow_and_stores_nothing(
    oauth, directory, simulator, tenant, user_headers, vault_as, oauth_dsn
):
    cid = await setup_connection(oauth, directory, simulator, tenant, user_headers)
    mine = await start(oauth, user_headers, cid)  # bound to the oauth client's jar
    theirs = await start(oauth, user_headers, cid, browser=False)
    # Another browser, bound to a flow of its own, offers that value under this flow's name.
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=oauth.app), base_url="http://oauth.test"
    ) as other:
        opened = await other.get(path_of(theirs["start_url"]))
        value = other.cookies[binding.cookie_name(uuid.UUID(theirs["flow_id"]))]
        other.cookies.set(binding.cookie_name(uuid.UUID(mine["flow_id"])), value, domain="oauth.test")
        assert opened.status_code == 303
        params = await authorize(mine["authorization_url"])
        refused = await other.get("/v1/oauth/callback", params=params)
    assert refused.status_code == 403, refused.text
    error = refused.json()["error"]
    assert error["code"] == "flow_binding_mismatch" and error["details"] == {"reason": "mismatch"}
    row = await flow_row(oauth_dsn, mine["flow_id"])
    assert row["status"] == "failed" and row["error_code"] == "flow_binding_mismatch"
    assert row["code_verifier"] is None  # the code it carried can never be redeemed now
    # Even the bound browser cannot finish it afterwards.
    late = await oauth.get("/v1/oauth/callback", params=params)
    assert late.status_code == 400 and late.json()["error"]["code"] == "state_reused"
    assert await vault_as("oauth").list_keys(tenant, cid) == []


async def test_exchange_is_for_the_starting_user_and_only_for_flows_no_browser_opened(
    oauth, directory, simulator, tenant, user_headers, vault_as
):
    cid = await setup_connection(oauth, directory, simulator, tenant, user_headers)
    bob = {
        "Authorization": f"Bearer {mint_user_token(HubSettings(), tenant=tenant, user='bob', tier='teams')}"
    }

    bound = await start(oauth, user_headers, cid)
    answer = await authorize(bound["authorization_url"])
    refused = await oauth.post(
        f"/v1/oauth/flows/{bound['flow_id']}/exchange", headers=user_headers, json={"code": answer["code"]}
    )
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "flow_browser_bound"

    api = await start(oauth, user_headers, cid, browser=False)
    answer = await authorize(api["authorization_url"])
    url = f"/v1/oauth/flows/{api['flow_id']}/exchange"
    stolen = await oauth.post(url, headers=bob, json={"code": answer["code"]})
    assert stolen.status_code == 403 and stolen.json()["error"]["code"] == "flow_user_mismatch"
    assert await vault_as("oauth").list_keys(tenant, cid) == []
    # An API flow's start link stops working once the flow is exchanged.
    done = await oauth.post(url, headers=user_headers, json={"code": answer["code"]})
    assert done.status_code == 200, done.text
    late = await oauth.get(path_of(api["start_url"]))
    assert late.status_code == 409 and late.json()["error"]["code"] == "start_link_used"


async def test_an_oversized_provider_answer_is_a_clear_error_and_stores_nothing(
    oauth, directory, simulator, tenant, user_headers, vault_as, huge_server
):
    cid = await setup_connection(
        oauth, directory, simulator, tenant, user_headers, identity_url=f"{huge_server.url}/userinfo"
    )
    flow = await start(oauth, user_headers, cid)
    failed = await oauth.get("/v1/oauth/callback", params=await authorize(flow["authorization_url"]))
    assert failed.status_code == 400, failed.text
    error = failed.json()["error"]
    assert error["code"] == "exchange_failed" and error["details"] == {"provider_error": "answer_too_large"}
    assert huge_server.sent < huge_server.total  # it was never read to the end
    assert await vault_as("oauth").list_keys(tenant, cid) == []


async def test_a_start_link_of_a_revoked_connection_sends_nobody_to_the_provider(
    oauth, directory, simulator, tenant, user_headers
):
    cid = await setup_connection(oauth, directory, simulator, tenant, user_headers)
    flow = await start(oauth, user_headers, cid, browser=False)
    revoked = await oauth.post(f"/v1/oauth/connections/{cid}/revoke", headers=user_headers, json={})
    assert revoked.status_code == 200, revoked.text
    late = await oauth.get(path_of(flow["start_url"]))
    assert late.status_code == 409 and late.json()["error"]["code"] == "flow_revoked"
    assert "set-cookie" not in late.headers
