"""A 401 on an OAuth connection: one refresh through the oauth route, then one retry.

The refresh route is a stand-in (tests/gateway_support.py) that rotates the token in the REAL
vault as the oauth service; the gateway re-reads it from the vault.
"""

from __future__ import annotations

import asyncio
import hashlib

import pytest
from gateway_support import Recorded, Scripted

pytestmark = pytest.mark.component  # neighbouring services stood in (docs/testing.md)


def only_token(valid: str):
    def respond(rec: Recorded) -> Scripted:
        if rec.header("authorization") == f"Bearer {valid}":
            return Scripted(body=b'{"ok": "fresh"}')
        return Scripted(status=401, body=b'{"message": "Bad credentials"}')

    return respond


async def test_401_refreshes_once_then_succeeds(hub, tenant):
    cid = await hub.connect(tenant, method="oauth2", secrets={"access_token": "stale-token-0001"})
    hub.oauth.next_tokens[cid] = ["fresh-token-0002"]
    hub.sim.on(f"/refresh-{cid}", only_token("fresh-token-0002"))
    resp = await hub.http.post(
        hub.proxy(hub.a, cid, f"refresh-{cid}"), json={"n": 1}, headers=hub.user_headers(tenant)
    )
    assert resp.status_code == 200, resp.text
    assert resp.json() == {"ok": "fresh"}
    calls = [c for c in hub.oauth.calls if c["connection_id"] == cid]
    assert len(calls) == 1
    assert calls[0]["service"] == "gateway" and calls[0]["tenant_id"] == tenant
    assert calls[0]["stale_token_sha256"] == hashlib.sha256(b"stale-token-0001").hexdigest()
    sent = hub.sim.seen(f"/refresh-{cid}")
    assert [r.header("authorization") for r in sent] == ["Bearer stale-token-0001", "Bearer fresh-token-0002"]
    assert sent[1].body == sent[0].body  # the body was replayed


async def test_concurrent_401s_cause_one_refresh_per_process(hub, tenant):
    cid = await hub.connect(tenant, method="oauth2", secrets={"access_token": "stale-token-0003"})
    hub.oauth.next_tokens[cid] = ["fresh-token-0004"]
    hub.sim.on(f"/many-{cid}", only_token("fresh-token-0004"))
    headers = hub.user_headers(tenant)
    responses = await asyncio.gather(
        *(hub.http.get(hub.proxy(hub.a, cid, f"many-{cid}/{i}"), headers=headers) for i in range(10))
    )
    assert [r.status_code for r in responses] == [200] * 10
    assert len([c for c in hub.oauth.calls if c["connection_id"] == cid]) == 1


async def test_a_still_invalid_token_is_returned_after_one_retry(hub, tenant):
    cid = await hub.connect(tenant, method="oauth2", secrets={"access_token": "stale-token-0005"})
    hub.oauth.next_tokens[cid] = ["also-rejected-0006"]
    hub.sim.on(f"/never-{cid}", only_token("nothing-is-valid"))
    resp = await hub.http.get(hub.proxy(hub.a, cid, f"never-{cid}"), headers=hub.user_headers(tenant))
    assert resp.status_code == 401 and resp.json() == {"message": "Bad credentials"}
    assert len(hub.sim.seen(f"/never-{cid}")) == 2


async def test_api_key_connections_do_not_refresh(hub, tenant):
    cid = await hub.connect(tenant, secrets={"api_key": "bad-key"})
    hub.sim.on(f"/nokey-{cid}", Scripted(status=401))
    resp = await hub.http.get(hub.proxy(hub.a, cid, f"nokey-{cid}"), headers=hub.user_headers(tenant))
    assert resp.status_code == 401
    assert not [c for c in hub.oauth.calls if c["connection_id"] == cid]
    assert len(hub.sim.seen(f"/nokey-{cid}")) == 1


async def test_streamed_bodies_are_not_replayed(hub, tenant):
    cid = await hub.connect(tenant, method="oauth2", secrets={"access_token": "stale-token-0007"})
    hub.sim.on(f"/stream-{cid}", only_token("never"))

    async def big():
        for _ in range(4):
            yield b"q" * 65536

    resp = await hub.http.post(
        hub.proxy(hub.a, cid, f"stream-{cid}"), content=big(), headers=hub.user_headers(tenant)
    )
    assert resp.status_code == 401
    assert len(hub.sim.seen(f"/stream-{cid}")) == 1
    assert not [c for c in hub.oauth.calls if c["connection_id"] == cid]
