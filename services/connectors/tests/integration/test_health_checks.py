"""Periodic health checks: replicas claim disjoint work with SKIP LOCKED, revoked credentials move
connections to token_invalid with an ``integration.status-changed`` event (projected into the audit)."""

import asyncio
import random
import string

import pytest

from hub_common.testing import expect_events
from hub_connectors.services.health import HealthService

pytestmark = pytest.mark.component  # neighbouring services stood in (docs/testing.md)


async def test_two_replicas_check_each_due_connection_once(
    api, auth, tenant, container, gateway, kafka_bootstrap, wait_for
):
    headers = auth(tenant, "teams")
    keys = ["good-" + "".join(random.choices(string.ascii_lowercase, k=10)) for _ in range(6)]
    ids = []
    for key in keys:
        resp = await api.post(
            "/v1/connections",
            json={"connector_id": "echoapi", "name": key, "credentials": {"api_key": key}},
            headers=headers,
        )
        assert resp.json()["status"] == "active"
        ids.append(resp.json()["id"])
    before = {cid: gateway.calls_to(cid, "me") for cid in ids}
    gateway.revoked_keys.update(keys[:2])

    # Two "replicas" with interval 0: everything active is due. Small batches force several rounds.
    replicas = [
        HealthService(container.db, container.registry, container.runtime, interval_s=0, batch_size=2)
        for _ in range(2)
    ]
    async with expect_events(
        kafka_bootstrap, "integration.status-changed", match=lambda d: d["connection_id"] in ids[:2], count=2
    ) as seen:
        await asyncio.gather(*(r.run_due() for r in replicas))
    assert {(e.data["previous_status"], e.data["status"], e.data["reason"]) for e in seen} == {
        ("active", "token_invalid", "Bad credentials")
    }

    checks = {cid: gateway.calls_to(cid, "me") - before[cid] for cid in ids}
    # EchoApi's health check calls "me" twice (status, then account info) when healthy, once when refused.
    assert [checks[cid] for cid in ids] == [1, 1, 2, 2, 2, 2], checks
    statuses = [(await api.get(f"/v1/connections/{cid}", headers=headers)).json() for cid in ids]
    assert [s["status"] for s in statuses] == ["token_invalid"] * 2 + ["active"] * 4
    assert statuses[0]["last_error"] == "Bad credentials" and statuses[0]["last_health_check_status"] is False

    async def audited():
        query = f"/v1/audit?connection_id={ids[0]}&event_type=integration.status-changed"
        return (await api.get(query, headers=headers)).json()["entries"]

    entries = await wait_for(audited)
    assert [(e["details"], e["status"]) for e in entries] == [
        ({"from": "active", "to": "token_invalid"}, "failure")
    ]

    # Nothing is due right after a round (the default interval applies again).
    assert await container.health.run_due() == 0
