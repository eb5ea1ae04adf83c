"""Quotas shared by two gateway processes through Redis, and providers' budgets honoured locally."""

from __future__ import annotations

import asyncio
import time

import asyncpg
import pytest
from gateway_support import Scripted

from hub_common.testing import eventually

pytestmark = pytest.mark.component  # neighbouring services stood in (docs/testing.md)


async def test_two_processes_share_one_quota(hub, tenant):
    # writerpro in this session: burst 10 per connection, refilled at 1 per 20 s.
    cid = await hub.connect(tenant, secrets={"api_key": "key-1"})
    headers = hub.user_headers(tenant, tier="writerpro")
    urls = [hub.proxy(g, cid, f"quota/{i}") for i in range(30) for g in (hub.a, hub.b)]
    responses = await asyncio.gather(*(hub.http.get(u, headers=headers) for u in urls))
    accepted = [r for r in responses if r.status_code == 200]
    refused = [r for r in responses if r.status_code == 429]
    assert len(accepted) + len(refused) == len(urls)
    assert 10 <= len(accepted) <= 11  # the limit, +1 for a token refilled during the test
    assert len(hub.sim.seen("/quota/")) == len(accepted)
    err = refused[0].json()["error"]
    assert err["code"] == "rate_limited" and err["details"]["scope"] == "connection"
    h = refused[0].headers
    assert int(h["retry-after"]) >= 1
    assert h["ratelimit-limit"] == "10" and h["ratelimit-remaining"] == "0" and int(h["ratelimit-reset"]) >= 1
    assert h["ratelimit-policy"] == "10;w=200"
    # Both replicas refused some: the quota really is shared, not split.
    assert {r.url.port for r in refused} == {int(hub.a.rsplit(":", 1)[1]), int(hub.b.rsplit(":", 1)[1])}


async def test_provider_budget_exhausted_blocks_every_replica_until_reset(hub, tenant):
    cid = await hub.connect(tenant, secrets={"api_key": "key-1"})
    reset = int(time.time()) + 4
    hub.sim.on(
        f"/budget-{tenant}",
        Scripted(
            headers={
                "X-RateLimit-Limit": "5000",
                "X-RateLimit-Remaining": "0",
                "X-RateLimit-Used": "5000",
                "X-RateLimit-Reset": str(reset),
                "X-RateLimit-Resource": "core",
            }
        ),
    )
    headers = hub.user_headers(tenant)
    status_url = f"{hub.b}/v1/connections/{cid}/rate-limit"

    async def status_on_b() -> dict:
        got = await hub.http.get(status_url, headers=headers)
        assert got.status_code == 200, got.text
        return got.json()

    first = await hub.http.get(hub.proxy(hub.a, cid, f"budget-{tenant}/1"), headers=headers)
    assert first.status_code == 200  # the answer that spent the budget is the provider's own
    # Replica B learns of the block over Redis: its status says so without spending a request.
    await eventually(
        lambda: _when(status_on_b(), lambda b: b["provider_blocks"]), what="the block on replica B"
    )
    for gateway in (hub.a, hub.b):
        blocked = await hub.http.get(hub.proxy(gateway, cid, f"budget-{tenant}/2"), headers=headers)
        assert blocked.status_code == 429, blocked.text
        assert blocked.json()["error"]["code"] == "provider_rate_limited"
        assert 1 <= int(blocked.headers["retry-after"]) <= 5
    assert len(hub.sim.seen(f"/budget-{tenant}")) == 1  # no request was spent while blocked

    # B reads A's snapshot of the budget once A has flushed it to Postgres.
    body = await eventually(
        lambda: _when(status_on_b(), lambda b: b["provider"]), what="A's snapshot on replica B"
    )
    assert body["is_limited"] is True and body["requests_remaining"] == 0
    assert body["provider"][0]["api_name"] == "core" and body["provider"][0]["remaining"] == 0
    assert [b["scope"] for b in body["provider_blocks"]] == ["core"]
    assert {g["scope"] for g in body["gateway"]} == {"connection", "tenant"}

    hub.sim.on(f"/budget-{tenant}", Scripted())
    await eventually(
        lambda: _when(status_on_b(), lambda b: not b["provider_blocks"]), what="the provider's reset"
    )
    after = await hub.http.get(hub.proxy(hub.b, cid, f"budget-{tenant}/3"), headers=headers)
    assert after.status_code == 200, after.text

    conn = await asyncpg.connect(hub.pg_dsn)
    try:
        row = await conn.fetchrow(
            "SELECT requests_limit, requests_remaining, reset_at FROM gateway.rate_limits "
            "WHERE connection_id = $1 AND api_name = 'core'",
            __import__("uuid").UUID(cid),
        )
    finally:
        await conn.close()
    assert row is not None and row["requests_limit"] == 5000 and int(row["reset_at"].timestamp()) == reset


async def _when(fetch, ok):
    """``fetch``'s value if ``ok`` holds for it, else None (for :func:`eventually`)."""
    value = await fetch
    return value if ok(value) else None


async def test_github_search_budget_blocks_only_search(hub, tenant):
    cid = await hub.connect(tenant, secrets={"api_key": "key-1"})
    hub.sim.on(
        "/search/",
        Scripted(
            headers={
                "X-RateLimit-Limit": "30",
                "X-RateLimit-Remaining": "0",
                "X-RateLimit-Reset": str(int(time.time()) + 30),
                "X-RateLimit-Resource": "search",
            }
        ),
    )
    headers = hub.user_headers(tenant)
    assert (
        await hub.http.get(hub.proxy(hub.a, cid, "search/issues?q=1"), headers=headers)
    ).status_code == 200
    refused = await hub.http.get(hub.proxy(hub.a, cid, "search/code?q=1"), headers=headers)
    assert refused.status_code == 429 and refused.json()["error"]["details"]["scope"] == "search"
    assert (await hub.http.get(hub.proxy(hub.a, cid, "repos/o/r"), headers=headers)).status_code == 200


async def test_provider_429_with_long_retry_after_is_returned_then_enforced_locally(hub, tenant):
    cid = await hub.connect(tenant, secrets={"api_key": "key-1"})
    hub.sim.on(f"/slow-down-{tenant}", Scripted(status=429, headers={"Retry-After": "5"}, body=b'{"e":1}'))
    headers = hub.user_headers(tenant)
    first = await hub.http.get(hub.proxy(hub.a, cid, f"slow-down-{tenant}"), headers=headers)
    assert first.status_code == 429 and first.json() == {"e": 1}  # the provider's answer, not retried
    second = await hub.http.get(hub.proxy(hub.a, cid, f"slow-down-{tenant}"), headers=headers)
    assert second.json()["error"]["code"] == "provider_rate_limited"
    assert len(hub.sim.seen(f"/slow-down-{tenant}")) == 1


async def test_slacks_retry_after_blocks_only_the_method_that_met_it(hub, tenant):
    """Slack limits per method (tiers): a 429 on chat.postMessage blocks chat.postMessage for
    its Retry-After, while conversations.list on the same connection still reaches Slack."""
    cid = await hub.connect(tenant, secrets={"api_key": "key-1"}, connector_id="slack")
    post, listing = f"chat.postMessage-{tenant}", f"conversations.list-{tenant}"
    hub.sim.on(f"/{post}", Scripted(status=429, headers={"Retry-After": "30"}, body=b'{"ok":false}'))
    hub.sim.on(f"/{listing}", Scripted(body=b'{"ok":true,"channels":[]}'))
    headers = hub.user_headers(tenant)
    first = await hub.http.post(hub.proxy(hub.a, cid, post), headers=headers)
    assert first.status_code == 429 and first.json() == {"ok": False}
    again = await hub.http.post(hub.proxy(hub.a, cid, post), headers=headers)
    assert again.json()["error"]["code"] == "provider_rate_limited"
    assert again.json()["error"]["details"]["scope"] == f"retry-after:/{post}"
    other = await hub.http.get(hub.proxy(hub.a, cid, listing), headers=headers)
    assert other.status_code == 200 and other.json()["ok"] is True
    assert len(hub.sim.seen(f"/{post}")) == 1 and len(hub.sim.seen(f"/{listing}")) == 1


async def test_a_short_retry_after_met_by_one_call_is_waited_out_by_the_next(hub, tenant):
    # Anthropic's 529 "overloaded" with Retry-After: 1, once. The call that met it waits and
    # retries; a call arriving during that second waits the block out too instead of failing.
    cid = await hub.connect(tenant, secrets={"api_key": "key-1"})
    answered: list[str] = []

    def overloaded_once(_req):
        answered.append("x")
        if len(answered) == 1:
            return Scripted(status=529, headers={"Retry-After": "1"}, body=b'{"type":"error"}')
        return Scripted()

    hub.sim.on(f"/overloaded-{tenant}", overloaded_once)
    headers = hub.user_headers(tenant)

    async def later(delay: float, path: str):
        await asyncio.sleep(delay)
        started = time.monotonic()
        resp = await hub.http.get(hub.proxy(hub.a, cid, path), headers=headers)
        return resp, time.monotonic() - started

    (first, _), (second, waited) = await asyncio.gather(
        later(0, f"overloaded-{tenant}/1"), later(0.3, f"overloaded-{tenant}/2")
    )
    assert first.status_code == 200, first.text
    assert second.status_code == 200, second.text
    assert waited >= 0.4  # it waited for the block's end, then was sent once
    assert len(hub.sim.seen(f"/overloaded-{tenant}")) == 3


async def test_rate_limit_status_answers_when_the_provider_host_does_not_resolve(hub, tenant):
    # .invalid never resolves (RFC 6761): proxied calls fail, the status is still the gateway's.
    cid = await hub.connect(tenant, secrets={"api_key": "key-1"}, base_url="https://api.provider.invalid")
    headers = hub.user_headers(tenant)
    proxied = await hub.http.get(hub.proxy(hub.a, cid, "anything"), headers=headers)
    assert proxied.status_code == 502, proxied.text
    assert proxied.json()["error"]["code"] == "upstream_unreachable"
    for gateway in (hub.a, hub.b):  # b never resolved it
        status = await hub.http.get(f"{gateway}/v1/connections/{cid}/rate-limit", headers=headers)
        assert status.status_code == 200, status.text
        body = status.json()
        assert body["connection_id"] == cid and body["is_limited"] is False
        assert {g["scope"] for g in body["gateway"]} == {"connection", "tenant"}
    stranger = hub.user_headers("someone-else")
    other = await hub.http.get(f"{hub.b}/v1/connections/{cid}/rate-limit", headers=stranger)
    assert other.status_code == 404
