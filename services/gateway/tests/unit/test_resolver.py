"""A connection's status is decided before its host is checked or resolved, and a cached entry
is not trusted while the invalidation feed is down (issue #31 item 8)."""

from __future__ import annotations

import uuid

import pytest

from hub_gateway.domain.errors import ConnectionNotActive, UpstreamUnreachable
from hub_gateway.services.resolver import Resolver

pytestmark = pytest.mark.unit
CID = uuid.uuid4()


def lookup_answer(status: str) -> dict:
    return {
        "id": str(CID),
        "tenant_id": "t1",
        "connector_id": "c",
        "status": status,
        "auth_method": "api_key",
        "config": {},
        "manifest": {
            "id": "c",
            "name": "c",
            "version": "1.0.0",
            "category": "ai",
            "description": "d",
            "auth": {"method": "api_key", "api_key": {"location": "header", "name": "X-Api-Key"}},
            # .invalid never resolves (RFC 6761): a provider unreachable from here.
            "api": {"base_url": "https://api.gone.invalid", "allowed_hosts": ["api.gone.invalid"]},
        },
    }


class Lookup:
    def __init__(self, status: str) -> None:
        self.status = status
        self.calls = 0

    async def lookup(self, connection_id: uuid.UUID) -> dict:
        self.calls += 1
        return lookup_answer(self.status)


class Budgets:
    async def load(self, connection_id: uuid.UUID) -> None:
        return None


def resolver(lookup: Lookup, trusted=lambda: True) -> Resolver:
    return Resolver(
        lookup,  # type: ignore[arg-type]
        None,  # type: ignore[arg-type]
        Budgets(),  # type: ignore[arg-type]
        target_ttl_s=60,
        credential_ttl_s=60,
        max_entries=100,
        allowlist=[],
        trusted=trusted,
    )


@pytest.mark.parametrize("status", ["disconnected", "token_invalid"])
async def test_an_unusable_connection_is_refused_for_its_status_not_its_host(status):
    target = await resolver(Lookup(status)).target(CID, "t1")  # no DNS lookup, no 502
    with pytest.raises(ConnectionNotActive) as refused:
        target.ensure_usable()
    assert refused.value.details == {"status": status}


async def test_a_usable_connection_still_has_its_host_resolved():
    with pytest.raises(UpstreamUnreachable):
        await resolver(Lookup("active")).target(CID, "t1")
    with pytest.raises(UpstreamUnreachable):  # the health check's case: checked the same way
        await resolver(Lookup("initializing")).target(CID, "t1")


async def test_while_the_feed_is_down_a_disconnect_is_seen_at_the_next_call():
    """Disconnected while Kafka was down: no event, no tombstone. Cached entries are not trusted
    while the feed is silent (HUB_GATEWAY_INVALIDATION_STALE_S), so the next call asks the
    connectors service again and is refused for the status it answers now."""
    feed_up = True
    lookup = Lookup("token_invalid")
    res = resolver(lookup, trusted=lambda: feed_up)
    await res.target(CID, "t1")
    assert res.cached_target(CID, "t1") is not None  # trusted while the feed is up
    lookup.status = "disconnected"
    feed_up = False
    assert res.cached_target(CID, "t1") is None
    current = await res.target(CID, "t1")
    assert current.status == "disconnected" and lookup.calls == 2
