"""Authorization-code flows against a strict simulator, with the real vault, Postgres and Kafka."""

from __future__ import annotations

import asyncio
import random
import uuid
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest

from hub_common.testing import expect_events
from hub_oauth.adapters.connections import ConnectionInfo

from .conftest import manifest_for

pytestmark = pytest.mark.component  # neighbouring services stood in (docs/testing.md)


def add_connection(directory, simulator, tenant, **oauth_config) -> uuid.UUID:
    """A new OAuth connection of ``tenant`` in the stand-in directory, still initializing."""
    cid = uuid.uuid4()
    directory.add(
        ConnectionInfo(
            id=cid,
            tenant_id=tenant,
            user_id="alice",
            connector_id="simgeneric",
            status="initializing",
            auth_method="oauth2",
            manifest=manifest_for(simulator.url, **oauth_config),
        )
    )
    return cid


async def setup_connection(oauth, directory, simulator, tenant, user_headers, **oauth_config) -> uuid.UUID:
    cid = add_connection(directory, simulator, tenant, **oauth_config)
    resp = await oauth.put(
        "/v1/oauth/apps/simgeneric",
        headers=user_headers,
        json={"client_id": "hub-app", "client_secret": "hub-app-secret-0123456789"},
    )
    assert resp.status_code in (200, 201), resp.text
    assert "secret" not in resp.text.replace("has_client_secret", "")
    return cid


async def authorize(url: str, **extra: str) -> dict[str, str]:
    """Play the browser at the provider: follow the authorization URL to the redirect."""
    if extra:
        url = f"{url}&{urlencode(extra)}"
    async with httpx.AsyncClient() as browser:
        resp = await browser.get(url)
    assert resp.status_code in (302, 303), resp.text
    location = resp.headers["location"]
    assert location.startswith("http://127.0.0.1:18082/v1/oauth/callback")
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


async def start(oauth, user_headers, cid, *, browser: bool = True, **body) -> dict:
    """Start a flow; with ``browser`` (the default) the ``oauth`` client, playing the user's
    browser, opens its start link, so the binding cookie is in its jar for the callback. API
    clients (``browser=False``) complete with /exchange instead."""
    resp = await oauth.post("/v1/oauth/flows", headers=user_headers, json={"connection_id": str(cid), **body})
    assert resp.status_code == 201, resp.text
    flow = resp.json()
    if browser:
        opened = await oauth.get(path_of(flow["start_url"]))
        assert opened.status_code == 303, opened.text
        assert opened.headers["location"] == flow["authorization_url"]
    return flow


def path_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


async def test_full_flow_stores_tokens_and_emits_connected(
    oauth, directory, simulator, tenant, user_headers, vault_as, kafka_bootstrap
):
    cid = await setup_connection(oauth, directory, simulator, tenant, user_headers)
    flow = await start(oauth, user_headers, cid, scopes=["read", "write"])
    q = parse_qs(urlsplit(flow["authorization_url"]).query)
    assert q["code_challenge_method"] == ["S256"] and len(q["state"][0]) >= 22
    assert q["redirect_uri"] == ["http://127.0.0.1:18082/v1/oauth/callback"] and q["scope"] == ["read write"]
    params = await authorize(flow["authorization_url"], sim_user="octo")
    async with expect_events(
        kafka_bootstrap, "integration.connected", match=lambda d: d["connection_id"] == str(cid), timeout_s=15
    ) as seen:
        done = await oauth.get("/v1/oauth/callback", params=params, headers={"accept": "application/json"})
    assert done.status_code == 200, done.text
    assert "provider;dur=" in done.headers["server-timing"]
    body = done.json()
    assert body["connection_id"] == str(cid) and body["external_account_id"]
    assert seen[0].data["external_account_id"] == body["external_account_id"]
    assert "access_token" not in str(seen[0].data)
    token = await vault_as("gateway").read(tenant, cid, "access_token")
    assert token and simulator.introspect(token)["active"] is True
    info = (await oauth.get(f"/v1/oauth/connections/{cid}/token", headers=user_headers)).json()
    assert info["status"] == "active" and info["has_refresh_token"] is True and info["expires_at"]
    assert token not in str(info)


async def test_state_replay_unknown_and_expired_store_nothing(
    oauth, directory, simulator, tenant, user_headers, vault_as, oauth_dsn
):
    cid = await setup_connection(oauth, directory, simulator, tenant, user_headers)
    flow = await start(oauth, user_headers, cid)
    params = await authorize(flow["authorization_url"])
    assert (await oauth.get("/v1/oauth/callback", params=params)).status_code == 200
    replay = await oauth.get("/v1/oauth/callback", params=params)
    assert replay.status_code == 400 and replay.json()["error"]["code"] == "state_reused"
    unknown = await oauth.get(
        "/v1/oauth/callback", params={"code": "x", "state": "never-issued"}, headers={"accept": "text/html"}
    )
    assert unknown.status_code == 400 and "text/html" in unknown.headers["content-type"]
    assert "state_unknown" in unknown.text

    other = add_connection(directory, simulator, tenant)
    late = await start(oauth, user_headers, other)
    late_params = await authorize(late["authorization_url"])
    import asyncpg

    conn = await asyncpg.connect(oauth_dsn)
    await conn.execute(
        "UPDATE oauth.flows SET expires_at = now() - interval '1 second' WHERE id = $1",
        uuid.UUID(late["flow_id"]),
    )
    await conn.close()
    expired = await oauth.get("/v1/oauth/callback", params=late_params)
    assert expired.json()["error"]["code"] == "flow_expired"
    assert await vault_as("oauth").list_keys(tenant, other) == []


async def test_access_denied_and_wrong_code(oauth, directory, simulator, tenant, user_headers, vault_as):
    cid = await setup_connection(oauth, directory, simulator, tenant, user_headers)
    denied = await authorize(
        (await start(oauth, user_headers, cid))["authorization_url"], sim_decision="deny"
    )
    assert denied["error"] == "access_denied"
    resp = await oauth.get("/v1/oauth/callback", params=denied)
    assert resp.status_code == 400 and resp.json()["error"]["code"] == "access_denied"

    params = await authorize((await start(oauth, user_headers, cid))["authorization_url"])
    params["code"] = "not-the-code"
    wrong = await oauth.get("/v1/oauth/callback", params=params)
    assert wrong.status_code == 400 and wrong.json()["error"]["details"]["provider_error"] == "invalid_grant"
    assert await vault_as("oauth").list_keys(tenant, cid) == []


async def test_provider_500_is_retried_then_reported_without_half_storing(
    oauth, directory, simulator, tenant, user_headers, vault_as
):
    cid = await setup_connection(oauth, directory, simulator, tenant, user_headers)
    simulator.inject_fault("token", "status", status=500, count=1)
    params = await authorize((await start(oauth, user_headers, cid))["authorization_url"])
    ok = await oauth.get("/v1/oauth/callback", params=params)
    assert ok.status_code == 200, ok.text  # one 500, then the retry succeeded

    other = add_connection(directory, simulator, tenant)
    simulator.inject_fault("token", "status", status=503, count=10)
    try:
        params = await authorize((await start(oauth, user_headers, other))["authorization_url"])
        failed = await oauth.get("/v1/oauth/callback", params=params)
    finally:
        simulator.clear_faults()
    assert failed.status_code == 502 and failed.json()["error"]["code"] == "exchange_failed"
    assert await vault_as("oauth").list_keys(tenant, other) == []


async def test_fifty_open_flows_per_user_complete_in_any_order(
    oauth, directory, simulator, tenant, user_headers
):
    cid = await setup_connection(oauth, directory, simulator, tenant, user_headers)
    flows = await asyncio.gather(*(start(oauth, user_headers, cid) for _ in range(50)))
    assert len({f["flow_id"] for f in flows}) == 50
    order = random.Random(50).sample(range(50), 50)  # any order: not the order they were started in
    redirects = [await authorize(flows[i]["authorization_url"]) for i in order]
    results = await asyncio.gather(*(oauth.get("/v1/oauth/callback", params=p) for p in redirects))
    assert len(results) == 50
    assert all(r.status_code == 200 for r in results), [r.text for r in results if r.status_code != 200]


async def test_other_tenants_and_bad_input(oauth, directory, simulator, tenant, user_headers):
    cid = await setup_connection(oauth, directory, simulator, tenant, user_headers)
    from hub_common.settings import HubSettings
    from hub_common.web.auth import mint_user_token

    mallory = {
        "Authorization": f"Bearer {mint_user_token(HubSettings(), tenant='other', user='m', tier='teams')}"
    }
    resp = await oauth.post("/v1/oauth/flows", headers=mallory, json={"connection_id": str(cid)})
    assert resp.status_code == 404
    assert (
        await oauth.post(f"/v1/oauth/connections/{cid}/revoke", headers=mallory, json={})
    ).status_code == 404
    bad = await oauth.post("/v1/oauth/flows", headers=user_headers, json={"connection_id": "nope"})
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "validation_error"
    evil = await oauth.post(
        "/v1/oauth/flows",
        headers=user_headers,
        json={"connection_id": str(cid), "return_to": "https://evil.example/steal"},
    )
    assert evil.json()["error"]["code"] == "return_to_not_allowed"
    assert (await oauth.post("/v1/oauth/flows", json={"connection_id": str(cid)})).status_code == 401


async def test_request_sizes_are_bounded(oauth, directory, simulator, tenant, user_headers, settings):
    cid = await setup_connection(oauth, directory, simulator, tenant, user_headers)

    async def refused(path, body):
        resp = await oauth.post(path, headers=user_headers, json=body)
        assert resp.status_code == 422, resp.text
        assert resp.json()["error"]["code"] == "validation_error"
        return resp.json()["error"]["details"]["fields"]

    flows = "/v1/oauth/flows"
    for extras in ({"login_hint": "x" * 1025}, {"p" * 129: "x"}, {f"p{i}": "x" for i in range(21)}):
        await refused(flows, {"connection_id": str(cid), "additional_parameters": extras})
    assert (
        await oauth.post(
            flows,
            headers=user_headers,
            json={"connection_id": str(cid), "additional_parameters": {"login_hint": "x" * 1024}},
        )
    ).status_code == 201

    capture = f"/v1/oauth/connections/{cid}/credentials"
    too_long = await refused(capture, {"credentials": {"api_key": "k" * (64 * 1024 + 1)}})
    assert too_long[0]["loc"] == ["body", "credentials", "api_key"]
    assert "kkkk" not in str(too_long)  # never echoed
    await refused(capture, {"credentials": {"api_key": {"nested": ["k"] * 1000}}})
    await refused(capture, {"credentials": {"f" * 65: "k"}})
    await refused(capture, {"credentials": {f"f{i}": "k" for i in range(21)}})

    huge = await oauth.post(
        capture,
        headers={**user_headers, "content-type": "application/json"},
        content=b'{"credentials": {"api_key": "' + b"k" * 2_000_000 + b'"}}',
    )
    assert huge.status_code == 413 and huge.json()["error"]["code"] == "payload_too_large"
    assert huge.json()["error"]["details"] == {"limit_bytes": settings.oauth_max_body_bytes}


async def test_an_app_with_a_new_client_id_and_no_secret_has_no_secret(oauth, user_headers):
    url = "/v1/oauth/apps/simgeneric"
    first = {"client_id": "hub-app", "client_secret": "hub-app-secret-0123456789"}
    assert (await oauth.put(url, headers=user_headers, json=first)).status_code in (200, 201)
    same = await oauth.put(url, headers=user_headers, json={"client_id": "hub-app", "scopes": ["read"]})
    assert same.json()["has_client_secret"] is True  # same client: its secret stays
    other = await oauth.put(url, headers=user_headers, json={"client_id": "another-app"})
    assert other.json()["has_client_secret"] is False  # never sent with another client's id
    assert (await oauth.put(url, headers=user_headers, json=first)).json()["has_client_secret"] is True
