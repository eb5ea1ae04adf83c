"""The resilience suite (docs/adr/0033): the five services as real processes on a Postgres, Kafka
and Redis of this module's own (hub_e2e.dedicated_stack: the shared stack is never touched),
under a steady mixed load (hub_e2e.mixed_load: proxy calls, actions, GitHub webhooks in, pushes
out to a local subscriber), while each fault is injected in turn:

- SIGKILL of vault, oauth, connectors, gateway and webhooks (restarted at once, as a supervisor
  would), and of the outbox-relay child processes of vault and oauth (their parent restarts them);
- the Kafka broker SIGKILLed and restarted; Postgres stopped and restarted; Redis stopped for a
  while and restarted.

Afterwards, for every fault window:

- **lost = 0**: every webhook delivery the hub acknowledged (2xx) is exactly one
  ``webhook.received`` event (one CloudEvents id; a republished record of the same id is counted,
  not a loss) and one ``integration.trigger-fired`` event, and reached the subscriber; every
  action answered with success created its issue at the simulator and is one
  ``integration.action-executed`` event;
- **duplicated = 0**: no action executed twice at the simulator (also those without an answer: at
  most once), no trigger fired twice, no subscriber got two different pushes for one delivery.

Recovery is measured, never asserted: from the fault to the first success of every kind of
request sent after it, and until the backlog drained (every webhook acknowledged so far reached the
subscriber). Generous deadlines only bound a hang. The figures are printed and written to
``<tmp_path>/resilience-figures.json``.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaConsumer

from hub_common.events.envelope import decode
from hub_common.kafka.admin import ensure_topics, hub_topics, wait_for_group_coordinator
from hub_common.settings import HubSettings
from hub_common.testing.events import _end_offsets
from hub_common.web.auth import mint_user_token
from hub_connector_sdk.testkit import spec_file
from hub_e2e.dedicated_stack import DedicatedStack
from hub_e2e.mixed_load import KINDS, OUTCOME_IN_DOUBT, OUTCOME_SUCCEEDED, MixedLoad, Targets
from hub_e2e.processes import ServiceProcess, running_hub
from hub_e2e.receiver import WebhookReceiver, github_issue_template
from hub_e2e.simulators.runner import ProviderSim

pytestmark = pytest.mark.e2e
TENANT = "e2e-resilience"
PROXY_PAT = "ghp_e2eResilienceProxyToken00000001"
ACTION_PAT = "ghp_e2eResilienceActionToken0000001"
SERVICES = ("vault", "oauth", "connectors", "gateway", "webhooks")
DEADLINE_S = 180  # a failure bound on any wait, never a figure
STEADY_WEBHOOKS = 5  # acknowledged between two faults, so that each fault hits a flowing load


def user_headers() -> dict[str, str]:
    token = mint_user_token(HubSettings(), tenant=TENANT, user="alice", tier="enterprise")
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
def hub() -> Iterator[dict[str, Any]]:
    if spec_file("github-rest.json") is None:
        pytest.skip("github-rest.json not available (HUB_SPECS_DIR)")
    began = time.monotonic()
    with (
        DedicatedStack() as stack,
        ProviderSim(provider="github", pats={PROXY_PAT: "pat-owner", ACTION_PAT: "pat-owner"}) as sim,
    ):
        asyncio.run(ensure_topics(stack.kafka_bootstrap, hub_topics()))
        asyncio.run(wait_for_group_coordinator(stack.kafka_bootstrap))
        print(f"\ndedicated stack and simulator up in {time.monotonic() - began:.0f}s", flush=True)
        env = {
            "HUB_OUTBOUND_ALLOWLIST": "127.0.0.1",
            "HUB_GITHUB_ENTERPRISE_HOSTS": "127.0.0.1",
            # A topic of this stack's own: start from its beginning.
            "HUB_CONNECTORS_CONSUMER_OFFSET_RESET": "earliest",
            "HUB_WEBHOOKS_DELIVERY_OFFSET_RESET": "earliest",
            "HUB_WEBHOOKS_DELIVERY_SCHEDULE": ",".join(["0", "0.5", "1", "2", "3"] + ["5"] * 60),
            "HUB_WEBHOOKS_DELIVERY_TIMEOUT_S": "5",
            "HUB_WEBHOOKS_DELIVERY_LEASE_S": "8",
            "HUB_WEBHOOKS_DELIVERY_POLL_S": "0.2",
        }
        with running_hub(stack, stack.dsn, SERVICES, env, parallel=True) as procs:
            print(f"services up after {time.monotonic() - began:.0f}s", flush=True)
            yield {"stack": stack, "sim": sim, **procs}


# -- setup ------------------------------------------------------------------------------------------


async def connect(api: httpx.AsyncClient, hub: dict[str, Any], pat: str) -> str:
    created = await api.post(
        f"{hub['connectors'].url}/v1/connections",
        json={
            "connector_id": "github_pat",
            "name": f"resilience {pat[-8:]}",
            "config": {"base_url": f"{hub['sim'].url}/api/v3", "webhook_repository": "pat-owner/sandbox"},
            "credentials": {"token": pat},
        },
    )
    assert created.status_code == 201, created.text
    cid: str = created.json()["id"]
    deadline = time.monotonic() + DEADLINE_S
    while (await api.get(f"{hub['connectors'].url}/v1/connections/{cid}")).json()["status"] != "active":
        assert time.monotonic() < deadline, "the connection did not become active"
        await api.post(f"{hub['connectors'].url}/v1/connections/{cid}/health")
        await asyncio.sleep(0.2)
    return cid


# -- faults -----------------------------------------------------------------------------------------


def sigkill_service(proc: ServiceProcess) -> Callable[[], None]:
    def inject() -> None:
        assert proc.proc is not None
        os.killpg(proc.proc.pid, signal.SIGKILL)
        proc.proc.wait(10)
        proc.start(timeout_s=DEADLINE_S)

    return inject


def relay_child(parent: int) -> int | None:
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            cmd = (entry / "cmdline").read_bytes()
        except (OSError, IndexError, ValueError):
            continue
        if ppid == parent and b"hub_common.db.relay_process" in cmd:
            return int(entry.name)
    return None


def sigkill_relay(proc: ServiceProcess) -> Callable[[], None]:
    """SIGKILL the service's outbox-relay child; its parent restarts it (hub_common.db.relay_process)."""

    def inject() -> None:
        assert proc.proc is not None
        child = relay_child(proc.proc.pid)
        assert child is not None, f"{proc.service} has no outbox-relay child process"
        os.kill(child, signal.SIGKILL)
        wait_for(lambda: (c := relay_child(proc.proc.pid)) is not None and c != child)  # type: ignore[union-attr]

    return inject


def wait_for(check: Callable[[], bool], timeout_s: float = DEADLINE_S) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout_s}s")
        time.sleep(0.05)


def outage(stop: Callable[[], object], start: Callable[[], object], load: MixedLoad) -> Callable[[], None]:
    """Stop a dependency, keep it down until every kind of request has met the outage, start it."""

    def inject() -> None:
        began = time.monotonic()
        stop()
        wait_for(lambda: all(load.tried_since(kind, began) >= 2 for kind in KINDS))
        start()

    return inject


# -- reading the outcome ------------------------------------------------------------------------------


async def read_topics(bootstrap: str, topics: list[str]) -> dict[str, list[tuple[str, dict[str, Any]]]]:
    """Every record of ``topics`` on this module's broker: (CloudEvents id, data), in order per partition."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False)
    await consumer.start()
    out: dict[str, list[tuple[str, dict[str, Any]]]] = {t: [] for t in topics}
    try:
        tps = [tp for topic in topics for tp in await _end_offsets(consumer, topic, 30)]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)
        while [tp for tp, end in ends.items() if await consumer.position(tp) < end]:
            for tp, records in (await consumer.getmany(timeout_ms=500)).items():
                for r in records:
                    event = decode(r.value, r.headers)
                    out[tp.topic].append((event.id, event.json()))
    finally:
        await consumer.stop()
    return out


async def sim_issue_titles(sim_url: str) -> Counter[str]:
    titles: Counter[str] = Counter()
    async with httpx.AsyncClient(headers={"Authorization": f"token {ACTION_PAT}"}, timeout=30) as client:
        page = 1
        while True:
            resp = await client.get(
                f"{sim_url}/api/v3/repos/pat-owner/sandbox/issues",
                params={"state": "all", "per_page": 100, "page": page},
            )
            assert resp.status_code == 200, resp.text
            items = resp.json()
            titles.update(i["title"] for i in items)
            if 'rel="next"' not in resp.headers.get("link", ""):
                return titles
            page += 1


@dataclass
class Figure:
    fault: str
    repaired_s: float  # the fault injected and undone: the process restarted, the broker back
    recovery_s: float
    drained_s: float
    failed_requests: int
    webhooks_acknowledged: int
    actions_succeeded: int
    actions_in_doubt: int = 0  # never answered, even after retries: executed at most once
    lost: int = 0
    duplicated: int = 0
    republished_records: int = 0
    repeated_pushes: int = 0


def window_of(t: float, starts: list[tuple[str, float]]) -> str:
    name = "steady load"
    for fault, began in starts:
        if t >= began:
            name = fault
    return name


# -- the suite ------------------------------------------------------------------------------------


@pytest.mark.timeout(900)
async def test_nothing_acknowledged_is_lost_or_duplicated_under_each_fault(hub, tmp_path, capsys):
    stack: DedicatedStack = hub["stack"]
    started = time.monotonic()
    body, headers = github_issue_template(hub["sim"])
    async with httpx.AsyncClient(headers=user_headers(), timeout=60) as api:
        proxy_cid = await connect(api, hub, PROXY_PAT)
        action_cid = await connect(api, hub, ACTION_PAT)
        reg = await api.post(
            f"{hub['webhooks'].url}/v1/webhooks/registrations",
            json={"connection_id": proxy_cid, "trigger_ids": ["issue_opened"], "mode": "manual"},
        )
        assert reg.status_code == 201, reg.text
        with WebhookReceiver() as subscriber:
            sub = await api.post(
                f"{hub['webhooks'].url}/v1/webhooks/subscriptions",
                json={"url": subscriber.url, "trigger_ids": ["issue_opened"], "max_concurrency": 8},
            )
            assert sub.status_code == 201, sub.text
            load = MixedLoad(
                Targets(
                    gateway=hub["gateway"].url,
                    connectors=hub["connectors"].url,
                    oauth=hub["oauth"].url,
                    proxy_connection=proxy_cid,
                    action_connection=action_cid,
                    webhook_url=reg.json()["url"],
                    webhook_secret=reg.json()["secret"],
                    webhook_body=body,
                    webhook_headers=headers,
                    user_headers=user_headers(),
                )
            )
            faults: list[tuple[str, Callable[[], None]]] = [
                *((f"SIGKILL {s}", sigkill_service(hub[s])) for s in SERVICES),
                ("SIGKILL vault outbox relay", sigkill_relay(hub["vault"])),
                ("SIGKILL oauth outbox relay", sigkill_relay(hub["oauth"])),
                ("Kafka broker SIGKILL + restart", lambda: (stack.kill_kafka(), stack.start("kafka"))),
                (
                    "Postgres stop + restart",
                    outage(lambda: stack.stop("postgres"), lambda: stack.start("postgres"), load),
                ),
                (
                    "Redis stop + restart",
                    outage(lambda: stack.stop("redis"), lambda: stack.start("redis"), load),
                ),
            ]

            seen_pushes: set[str] = set()
            parsed = 0

            def pushed() -> set[str]:
                nonlocal parsed
                arrived = subscriber.received[parsed:]
                parsed += len(arrived)
                seen_pushes.update(
                    json.loads(p.body)["data"]["event_id"] for p in arrived if _complete(p.body)
                )
                return seen_pushes

            async def until(check: Callable[[], bool]) -> float:
                deadline = time.monotonic() + DEADLINE_S
                while not check():
                    assert time.monotonic() < deadline, "not within the deadline"
                    await asyncio.sleep(0.1)
                return time.monotonic()

            loop = asyncio.get_running_loop()
            starts: list[tuple[str, float]] = []
            measured: dict[str, tuple[float, float, float]] = {}
            await load.start()
            print(f"\nset up in {time.monotonic() - started:.0f}s", flush=True)
            try:
                for name, inject in faults:
                    steady_from = len(load.acked_webhooks)
                    await until(lambda n=steady_from: len(load.acked_webhooks) >= n + STEADY_WEBHOOKS)
                    began = time.monotonic()
                    starts.append((name, began))
                    await loop.run_in_executor(None, inject)
                    repaired = time.monotonic() - began
                    await until(lambda b=began: all(load.first_success_since(k, b) for k in KINDS))
                    recovered = max(load.first_success_since(k, began) or 0.0 for k in KINDS) - began
                    owed = set(load.acked_webhooks)
                    drained = await until(lambda o=owed: o <= pushed()) - began
                    measured[name] = (repaired, recovered, drained)
                    print(f"{name}: recovered {recovered:.1f}s, drained {drained:.1f}s", flush=True)
            finally:
                await load.stop()
            await until(lambda: set(load.acked_webhooks) <= pushed())
            # Anything still on its way (a duplicate) lands in the figures too: wait until the
            # delivery log has nothing pending rather than for a fixed time.
            await until(lambda: _nothing_pending(hub["webhooks"].url))
            pushes = [p for p in subscriber.received if _complete(p.body)]

    # -- the outcome -----------------------------------------------------------------------------
    events = await read_topics(
        stack.kafka_bootstrap,
        ["webhook.received", "integration.trigger-fired", "integration.action-executed"],
    )
    action_events: dict[str, set[str]] = defaultdict(set)  # issue title → action-executed ids
    for ce_id, data in events["integration.action-executed"]:
        if data.get("tenant_id") == TENANT and data["result"]["success"]:
            action_events[str((data["result"]["data"] or {}).get("title"))].add(ce_id)
    received_ids: dict[str, set[str]] = defaultdict(set)
    received_records: Counter[str] = Counter()
    for ce_id, data in events["webhook.received"]:
        if data.get("tenant_id") == TENANT:
            received_ids[data["delivery_id"]].add(ce_id)
            received_records[data["delivery_id"]] += 1
    fired_ids: dict[str, set[str]] = defaultdict(set)
    for ce_id, data in events["integration.trigger-fired"]:
        if data.get("tenant_id") == TENANT:
            fired_ids[str(data["event_id"])].add(ce_id)
    push_ids: dict[str, set[str]] = defaultdict(set)
    push_receipts: Counter[str] = Counter()
    for p in pushes:
        push_ids[json.loads(p.body)["data"]["event_id"]].add(p.headers["webhook-id"])
        push_receipts[p.headers["webhook-id"]] += 1
    executed = await sim_issue_titles(hub["sim"].url)

    figures = {name: Figure(name, *(round(s, 2) for s in measured[name]), 0, 0, 0) for name, _ in starts}
    figures["steady load"] = Figure("steady load", 0.0, 0.0, 0.0, 0, 0, 0)
    for a in load.attempts:
        if not a.ok:
            figures[window_of(a.sent, starts)].failed_requests += 1
    problems: list[str] = []
    for delivery, acked_at in load.acked_webhooks.items():
        fig = figures[window_of(acked_at, starts)]
        fig.webhooks_acknowledged += 1
        if len(received_ids[delivery]) != 1 or len(fired_ids[delivery]) != 1 or not push_ids[delivery]:
            lost = not received_ids[delivery] or not fired_ids[delivery] or not push_ids[delivery]
            fig.lost += lost
            fig.duplicated += not lost
            problems.append(
                f"{fig.fault}: delivery {delivery}: webhook.received ids {len(received_ids[delivery])}, "
                f"trigger-fired ids {len(fired_ids[delivery])}, pushes {len(push_ids[delivery])}"
            )
        elif len(push_ids[delivery]) > 1:
            fig.duplicated += 1
            problems.append(f"{fig.fault}: delivery {delivery} pushed as {sorted(push_ids[delivery])}")
        fig.republished_records += received_records[delivery] - 1
    for title, (sent, outcome) in load.actions.items():
        fig = figures[window_of(sent, starts)]
        fig.actions_succeeded += outcome == OUTCOME_SUCCEEDED
        fig.actions_in_doubt += outcome == OUTCOME_IN_DOUBT
        if executed[title] > 1:
            fig.duplicated += 1
            problems.append(f"{fig.fault}: action {title!r} executed {executed[title]} times")
        elif outcome == OUTCOME_SUCCEEDED and (executed[title] != 1 or len(action_events[title]) != 1):
            fig.lost += 1
            problems.append(
                f"{fig.fault}: action {title!r} succeeded; executed {executed[title]} times,"
                f" {len(action_events[title])} integration.action-executed events"
            )
        elif len(action_events[title]) > 1:
            fig.duplicated += 1
            problems.append(f"{fig.fault}: action {title!r} has {len(action_events[title])} events")
    unacked = {d for d, ids in received_ids.items() if d not in load.acked_webhooks}
    for delivery, webhook_ids in push_ids.items():
        if delivery in load.acked_webhooks:
            fig = figures[window_of(load.acked_webhooks[delivery], starts)]
            # The same push again (its webhook-id): at-least-once delivery, deduped by subscribers.
            fig.repeated_pushes += sum(push_receipts[w] - 1 for w in webhook_ids)

    ordered = [figures["steady load"], *(figures[name] for name, _ in starts)]
    columns = [  # (heading, Figure field, width)
        ("repaired s", "repaired_s", 10),
        ("recovery s", "recovery_s", 10),
        ("drained s", "drained_s", 9),
        ("failed", "failed_requests", 6),
        ("acked", "webhooks_acknowledged", 6),
        ("actions", "actions_succeeded", 7),
        ("in doubt", "actions_in_doubt", 8),
        ("lost", "lost", 4),
        ("dup", "duplicated", 3),
        ("republished", "republished_records", 11),
        ("re-pushed", "repeated_pushes", 9),
    ]
    rows = [
        f"{'fault':<32}" + "".join(f" {heading:>{width}}" for heading, _, width in columns),
        *(
            f"{f.fault:<32}" + "".join(f" {getattr(f, name):>{width}}" for _, name, width in columns)
            for f in ordered
        ),
    ]
    table = "\n".join(
        [
            "\n-- resilience suite: figures (docs/adr/0033) --",
            *rows,
            f"load: {load.rates} req/s; {len(load.attempts)} requests, {len(load.acked_webhooks)}"
            f" webhooks acknowledged, {len(load.actions)} actions; {len(unacked)} deliveries recorded"
            f" but never acknowledged; {time.monotonic() - started:.0f}s",
        ]
    )
    figures_file = tmp_path / "resilience-figures.json"
    figures_file.write_text(
        json.dumps({"figures": [asdict(f) for f in ordered], "rates": load.rates}, indent=2)
    )
    with capsys.disabled():  # in `make test`'s output too, not only with -s
        print(f"{table}\n(also in {figures_file})")
    assert not load.rejected_webhooks, load.rejected_webhooks[:5]
    assert not problems, "\n".join(problems[:20])
    assert all(f.lost == 0 and f.duplicated == 0 for f in ordered)


def _nothing_pending(webhooks_url: str) -> bool:
    try:
        page = httpx.get(
            f"{webhooks_url}/v1/webhooks/deliveries",
            params={"status": "pending", "limit": 1},
            headers=user_headers(),
            timeout=10,
        ).json()
    except (httpx.HTTPError, ValueError):
        return False
    return not page.get("deliveries")


def _complete(body: bytes) -> bool:
    """A push cut while it was sent arrives without its body; it is not a delivery."""
    try:
        json.loads(body)
    except ValueError:
        return False
    return True
