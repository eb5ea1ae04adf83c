"""Webhook intake end to end with real processes (docs/adr/0019): registrations against the GitHub
simulator (auto creates and deletes the hook there; manual answers a secret and steps), tier
gating and tenant isolation of the registration API, a signed ``issues`` delivery acknowledged
only once durable, and gap filling: while the webhooks process is down the simulator's deliveries
fail; once it is back the hub asks GitHub to redeliver them — nothing lost, nothing doubled."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator

import asyncpg
import httpx
import pytest

from hub_common.settings import HubSettings
from hub_common.testing.events import expect_events
from hub_common.web.auth import mint_user_token
from hub_connector_sdk.testkit import spec_file
from hub_e2e.processes import ServiceProcess
from hub_e2e.simulators.runner import ProviderSim

pytestmark = pytest.mark.e2e
TENANT = "e2e-webhooks-intake"
PAT = "ghp_e2eWebhooksIntakeToken00000001"
REPO = "pat-owner/sandbox"


def headers(tenant: str = TENANT, tier: str = "writerpro") -> dict[str, str]:
    token = mint_user_token(HubSettings(), tenant=tenant, user="alice", tier=tier)
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
def hub(hub_stack, module_dsn) -> Iterator[dict]:
    if spec_file("github-rest.json") is None:
        pytest.skip("github-rest.json not available (HUB_SPECS_DIR)")
    with ProviderSim(provider="github", pats={PAT: "pat-owner"}) as sim:
        vault, connectors = ServiceProcess("vault", {}), ServiceProcess("connectors", {})
        gateway, webhooks = ServiceProcess("gateway", {}), ServiceProcess("webhooks", {})
        env = {
            "HUB_POSTGRES_DSN": module_dsn,
            "HUB_KAFKA_BOOTSTRAP": hub_stack.kafka_bootstrap,
            "HUB_REDIS_URL": hub_stack.redis_url,
            "HUB_OUTBOUND_ALLOWLIST": "127.0.0.1",
            "HUB_GITHUB_ENTERPRISE_HOSTS": "127.0.0.1",
            "HUB_VAULT_URL": vault.url,
            "HUB_CONNECTORS_URL": connectors.url,
            "HUB_GATEWAY_URL": gateway.url,
            "HUB_WEBHOOKS_URL": webhooks.url,
            "HUB_OAUTH_URL": "http://127.0.0.1:9",
            "HUB_CONNECTORS_CONSUMER_OFFSET_RESET": "latest",
            "HUB_WEBHOOKS_DELIVERY_OFFSET_RESET": "latest",
            # Renewal checks every second here (an hour by default).
            "HUB_WEBHOOKS_RENEWAL_INTERVAL_S": "1",
        }
        procs = [vault, connectors, gateway, webhooks]
        try:
            for proc in procs:
                proc.env = env
                proc.migrate()
            for proc in procs:
                proc.start()
            yield {"sim": sim, "connectors": connectors, "webhooks": webhooks, "dsn": module_dsn}
        finally:
            for proc in reversed(procs):
                proc.stop()


def connect(hub, tenant: str = TENANT) -> str:
    connectors = hub["connectors"].url
    created = httpx.post(
        f"{connectors}/v1/connections",
        headers=headers(tenant),
        json={
            "connector_id": "github_pat",
            "name": f"pat {time.monotonic_ns()}",
            "config": {"base_url": f"{hub['sim'].url}/api/v3", "webhook_repository": REPO},
            "credentials": {"token": PAT},
        },
    )
    assert created.status_code == 201, created.text
    cid: str = created.json()["id"]
    deadline = time.monotonic() + 30
    while (
        httpx.get(f"{connectors}/v1/connections/{cid}", headers=headers(tenant)).json()["status"] != "active"
    ):
        assert time.monotonic() < deadline, "the connection did not become active"
        httpx.post(f"{connectors}/v1/connections/{cid}/health", headers=headers(tenant), timeout=30)
        time.sleep(0.2)
    return cid


def sim_get(hub, path: str) -> httpx.Response:
    return httpx.get(
        f"{hub['sim'].url}/api/v3/{path}", headers={"Authorization": f"Bearer {PAT}"}, timeout=30
    )


def open_issue(hub, title: str) -> None:
    resp = httpx.post(
        f"{hub['sim'].url}/api/v3/repos/{REPO}/issues",
        json={"title": title},
        headers={"Authorization": f"Bearer {PAT}"},
        timeout=30,
    )
    assert resp.status_code == 201, resp.text


def hook_deliveries(hub, hook_id: str) -> list[dict]:
    resp = sim_get(hub, f"repos/{REPO}/hooks/{hook_id}/deliveries")
    assert resp.status_code == 200, resp.text
    return list(resp.json())


def wait_for(check, timeout_s: float = 60.0, what: str = "condition", seen=None):
    """Poll ``check``; on timeout say what ``seen()`` shows (e.g. the simulator's delivery log)."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"{what} not met within {timeout_s}s; seen: {seen() if seen else '-'}")
        time.sleep(0.2)


def attempts(hub, hook_id: str):
    """The simulator's record of each delivery attempt, for failure messages."""
    return lambda: [
        (d["guid"][:8], d["event"], d["status_code"], d["status"], d.get("duration"))
        for d in hook_deliveries(hub, hook_id)
    ]


def test_registration_api_gating_isolation_manual_and_delete(hub):
    api = f"{hub['webhooks'].url}/v1/webhooks/registrations"
    cid = connect(hub)
    body = {"connection_id": cid, "trigger_ids": ["issue_opened"], "mode": "manual"}

    core = httpx.post(api, json=body, headers=headers(tier="core"))
    assert core.status_code == 403, core.text
    error = core.json()["error"]
    assert error["code"] == "feature_not_in_tier" and error["details"]["required_tier"] == "writerpro"
    assert "writerpro" in error["message"]

    unknown = httpx.post(api, json={**body, "trigger_ids": ["no_such_trigger"]}, headers=headers())
    assert unknown.status_code == 422 and unknown.json()["error"]["code"] == "unknown_trigger"

    manual = httpx.post(api, json=body, headers=headers(), timeout=30)
    assert manual.status_code == 201, manual.text
    created = manual.json()
    assert created["mode"] == "manual" and created["status"] == "active"
    assert created["url"] == f"{hub['webhooks'].url}/webhooks/github_pat/{created['id']}"
    assert created["secret"] and any(created["url"] in step for step in created["steps"])
    rid = created["id"]

    # Another tenant: neither the connection nor the registration exists for it.
    other = headers(f"other-{uuid.uuid4().hex[:6]}")
    assert httpx.post(api, json=body, headers=other).status_code == 404
    assert httpx.get(f"{api}/{rid}", headers=other).status_code == 404
    assert httpx.put(f"{api}/{rid}/secret", json={"secret": "x" * 20}, headers=other).status_code == 404
    assert httpx.delete(f"{api}/{rid}", headers=other).status_code == 404
    assert httpx.get(api, headers=other).json()["registrations"] == []

    one = httpx.get(f"{api}/{rid}", headers=headers()).json()
    assert one["received_count"] == 0 and one["last_error"] is None and "secret" not in one
    listed = httpx.get(api, params={"connection_id": cid}, headers=headers()).json()["registrations"]
    assert [r["id"] for r in listed] == [rid]

    stored = httpx.put(
        f"{api}/{rid}/secret", json={"secret": "provider-issued-" + "y" * 20}, headers=headers()
    )
    assert stored.status_code == 200 and stored.json()["rotation_overlap_until"] is not None

    # auto: the hook appears at the simulator, and DELETE removes it there.
    auto = httpx.post(api, json={**body, "mode": "auto"}, headers=headers(), timeout=60)
    assert auto.status_code == 201, auto.text
    hook_id = auto.json()["external_id"]
    assert auto.json()["secret"] is None and auto.json()["events"] == ["issues"]
    # (the simulator serves a hook's deliveries while the hook exists)
    assert sim_get(hub, f"repos/{REPO}/hooks/{hook_id}/deliveries").status_code == 200
    assert httpx.delete(f"{api}/{auto.json()['id']}", headers=headers(), timeout=60).status_code == 204
    assert sim_get(hub, f"repos/{REPO}/hooks/{hook_id}/deliveries").status_code == 404
    assert httpx.get(f"{api}/{auto.json()['id']}", headers=headers()).status_code == 404
    assert httpx.delete(f"{api}/{rid}", headers=headers()).status_code == 204


async def test_signed_issues_event_is_durable_and_gaps_are_filled_after_an_outage(hub, hub_stack):
    webhooks = hub["webhooks"]
    api = f"{webhooks.url}/v1/webhooks/registrations"
    cid = connect(hub)
    async with expect_events(
        hub_stack.kafka_bootstrap,
        "webhook.received",
        match=lambda e: e["connection_id"] == cid,
        count=5,  # ping, one issue while up, three while down
        exact=True,
        settle_s=3.0,
        timeout_s=120,
    ) as seen:
        async with httpx.AsyncClient(headers=headers(), timeout=60) as client:
            created = await client.post(
                api, json={"connection_id": cid, "trigger_ids": ["issue_opened"], "mode": "auto"}
            )
        assert created.status_code == 201, created.text
        rid, hook_id = created.json()["id"], created.json()["external_id"]
        open_issue(hub, "while the intake is up")
        # The simulator records the intake's answers: both 2xx (ping, issues), acknowledged durably.
        wait_for(
            lambda: sum(1 for d in hook_deliveries(hub, hook_id) if d["status_code"] == 200) == 2,
            what="two acknowledged deliveries",
            seen=attempts(hub, hook_id),
        )

        webhooks.stop()
        for n in range(3):
            open_issue(hub, f"while the intake is down {n}")
        wait_for(
            lambda: sum(1 for d in hook_deliveries(hub, hook_id) if d["status_code"] != 200) == 3,
            what="three failed deliveries at the simulator",
            seen=attempts(hub, hook_id),
        )
        webhooks.start()  # the same port: GitHub keeps the hook's URL

        # Startup gap filling asks GitHub to redeliver; each failed guid then has a 2xx attempt.
        def filled() -> bool:
            attempts = hook_deliveries(hub, hook_id)
            guids = {d["guid"] for d in attempts}
            ok = {d["guid"] for d in attempts if d["status_code"] == 200}
            return len(guids) == 5 and ok == guids

        wait_for(
            filled,
            timeout_s=90,
            what="every delivery redelivered and acknowledged",
            seen=attempts(hub, hook_id),
        )

    guids = {d["guid"] for d in hook_deliveries(hub, hook_id)}
    received = [e.data["delivery_id"] for e in seen]
    assert sorted(received) == sorted(guids)  # nothing lost, nothing doubled
    names = sorted(e.data["event_name"] for e in seen)
    assert names == ["issues"] * 4 + ["ping"]

    # Asking again finds nothing missing: every guid is acknowledged.
    async with httpx.AsyncClient(headers=headers(), timeout=60) as client:
        again = await client.post(f"{api}/{rid}/fill-gaps")
    assert again.status_code == 200 and again.json()["missing"] == 0 and again.json()["requested"] == 0
    one = wait_for(
        lambda: (r := httpx.get(f"{api}/{rid}", headers=headers()).json())["received_count"] == 5 and r,
        what="counters",
    )
    assert one["last_received_at"] is not None


async def test_an_expiring_hook_is_renewed_and_a_refused_renewal_says_why(hub):
    """Jira-style expiring hooks are re-registered through the connector before they expire. GitHub
    (the simulator, like GitHub) refuses a second hook for the same URL: the registration keeps
    its working hook and shows why the renewal failed."""
    api = f"{hub['webhooks'].url}/v1/webhooks/registrations"
    cid = connect(hub)
    async with httpx.AsyncClient(headers=headers(), timeout=60) as client:
        created = await client.post(
            api, json={"connection_id": cid, "trigger_ids": ["issue_opened"], "mode": "auto"}
        )
        assert created.status_code == 201, created.text
        rid, hook = created.json()["id"], created.json()["external_id"]
        conn = await asyncpg.connect(hub["dsn"], server_settings={"search_path": "webhooks"})
        try:  # GitHub hooks do not expire: make this one look like a Jira hook with a day left
            await conn.execute(
                "UPDATE webhook_registrations SET expires_at = now() + interval '1 day' WHERE id = $1",
                uuid.UUID(rid),
            )
        finally:
            await conn.close()
        current: dict = {}
        for _ in range(300):
            current = (await client.get(f"{api}/{rid}")).json()
            if current["last_error"]:
                break
            await asyncio.sleep(0.2)
    assert (current["last_error"] or "").startswith("renewal_failed"), current
    assert current["status"] == "active" and current["external_id"] == hook
    assert sim_get(hub, f"repos/{REPO}/hooks/{hook}/deliveries").status_code == 200
