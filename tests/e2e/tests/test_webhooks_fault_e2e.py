"""The webhook system under faults, with real processes (docs/adr/0020): N signed GitHub
``issues`` webhooks (HUB_FAULT_WEBHOOKS, default 5,000: about 3.5 minutes on a 2-core machine;
a smaller N still spans both kills and the outage, which are placed by fraction) go to the
webhooks process while it is SIGKILLed and restarted twice and the subscriber is down for a
while. Afterwards:

- every acknowledged delivery id reached the subscriber at least once (as the ``event_id`` of a
  signed push that verifies with ``standardwebhooks``);
- no trigger fired twice: one ``integration.trigger-fired`` per provider event (and none for
  anything that was not acknowledged);
- the delivery log accounts for every attempt: one delivery per trigger, every push the
  subscriber received is an attempt in the log, and no attempt is left ``started``;
- each connection's pushes first arrived in the order its triggers fired.

The figures are printed (``-s`` shows them). Senders retry a webhook that got no answer (as a
provider would) with the same delivery id.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import os
import signal
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaConsumer
from standardwebhooks import Webhook

from hub_common.events.envelope import decode
from hub_common.kafka.admin import ensure_topics
from hub_common.settings import HubSettings
from hub_common.testing.events import _end_offsets
from hub_common.web.auth import mint_user_token
from hub_connector_sdk.testkit import spec_file
from hub_e2e.processes import ServiceProcess
from hub_e2e.receiver import WebhookReceiver, github_issue_template
from hub_e2e.simulators.runner import ProviderSim

pytestmark = pytest.mark.e2e
TENANT = "e2e-webhooks-faults"
PAT = "ghp_e2eWebhooksFaultsToken000000001"
COUNT = int(os.environ.get("HUB_FAULT_WEBHOOKS", "5000"))
CONNECTIONS = 4
SENDERS = 32


def headers() -> dict[str, str]:
    token = mint_user_token(HubSettings(), tenant=TENANT, user="alice", tier="teams")
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
            # A short schedule and lease, so that the outage is retried within the test.
            "HUB_WEBHOOKS_DELIVERY_SCHEDULE": ",".join(["0", "0.5", "1", "2", "3"] + ["5"] * 40),
            "HUB_WEBHOOKS_DELIVERY_TIMEOUT_S": "5",
            "HUB_WEBHOOKS_DELIVERY_LEASE_S": "8",
            "HUB_WEBHOOKS_DELIVERY_POLL_S": "0.2",
        }
        procs = [vault, connectors, gateway, webhooks]
        try:
            for proc in procs:
                proc.env = env
                proc.migrate()
            for proc in procs:
                proc.start(timeout_s=60)
            yield {"sim": sim, "connectors": connectors, "webhooks": webhooks}
        finally:
            for proc in reversed(procs):
                proc.stop()


def sigkill_and_restart(proc: ServiceProcess) -> None:
    assert proc.proc is not None
    os.killpg(proc.proc.pid, signal.SIGKILL)
    proc.proc.wait(10)
    proc.start(timeout_s=60)


async def connect(api: httpx.AsyncClient, hub: dict) -> str:
    created = await api.post(
        f"{hub['connectors'].url}/v1/connections",
        json={
            "connector_id": "github_pat",
            "name": f"pat {time.monotonic_ns()}",
            "config": {"base_url": f"{hub['sim'].url}/api/v3", "webhook_repository": "pat-owner/sandbox"},
            "credentials": {"token": PAT},
        },
    )
    assert created.status_code == 201, created.text
    cid: str = created.json()["id"]
    deadline = time.monotonic() + 30
    while (await api.get(f"{hub['connectors'].url}/v1/connections/{cid}")).json()["status"] != "active":
        assert time.monotonic() < deadline, "the connection did not become active"
        await api.post(f"{hub['connectors'].url}/v1/connections/{cid}/health")
        await asyncio.sleep(0.2)
    return cid


class TriggerLog:
    """Every integration.trigger-fired record from the moment it starts (Kafka order per partition)."""

    def __init__(self, bootstrap: str) -> None:
        self.bootstrap = bootstrap
        self.records: list[dict[str, Any]] = []
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await ensure_topics(self.bootstrap, ["integration.trigger-fired"])
        self.consumer = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap, group_id=None, enable_auto_commit=False
        )
        await self.consumer.start()
        tps = await _end_offsets(self.consumer, "integration.trigger-fired", 30)
        self.consumer.assign(tps)
        await self.consumer.seek_to_end(*tps)
        for tp in tps:
            await self.consumer.position(tp)
        self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        while True:
            batches = await self.consumer.getmany(timeout_ms=200)
            for records in batches.values():
                for r in records:
                    ev = decode(r.value, r.headers)
                    data = ev.json()
                    if data.get("tenant_id") == TENANT:
                        self.records.append({"ce_id": ev.id, **data})

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
        await self.consumer.stop()


@pytest.mark.timeout(900)
async def test_nothing_acknowledged_is_lost_under_kills_and_an_outage(hub, hub_stack):
    started = time.monotonic()
    webhooks = hub["webhooks"]
    body_template, header_template = github_issue_template(hub["sim"])
    triggers = TriggerLog(hub_stack.kafka_bootstrap)
    async with httpx.AsyncClient(headers=headers(), timeout=60) as api:
        cids = [await connect(api, hub) for _ in range(CONNECTIONS)]
        registrations = []
        for cid in cids:
            reg = await api.post(
                f"{webhooks.url}/v1/webhooks/registrations",
                json={"connection_id": cid, "trigger_ids": ["issue_opened"], "mode": "manual"},
            )
            assert reg.status_code == 201, reg.text
            registrations.append(reg.json())
    subscriber = WebhookReceiver().__enter__()
    port = subscriber.port
    received: list[Any] = []
    async with httpx.AsyncClient(headers=headers(), timeout=60) as api:
        sub = await api.post(
            f"{webhooks.url}/v1/webhooks/subscriptions",
            json={"url": subscriber.url, "trigger_ids": ["issue_opened"], "max_concurrency": 8},
        )
        assert sub.status_code == 201, sub.text
    secret = sub.json()["secret"]
    await triggers.start()

    # -- the storm -------------------------------------------------------------------------------
    acked: dict[str, int] = {}  # delivery id → connection index
    sends = Counter()
    queue: asyncio.Queue[int] = asyncio.Queue()
    for n in range(COUNT):
        queue.put_nowait(n)
    faults: list[str] = []
    progress = asyncio.Event()  # set on every acknowledgement

    async def send(client: httpx.AsyncClient) -> None:
        while True:
            try:
                n = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            k = n % CONNECTIONS
            reg = registrations[k]
            payload = json.loads(json.dumps(body_template))
            payload["issue"].update({"number": n + 1, "id": 10_000_000 + n, "title": f"fault issue {n}"})
            body = json.dumps(payload).encode()
            delivery = str(uuid.uuid4())
            sig = "sha256=" + hmac.new(reg["secret"].encode(), body, hashlib.sha256).hexdigest()
            h = {**header_template, "x-github-delivery": delivery, "x-hub-signature-256": sig}
            while True:
                sends["sent"] += 1
                try:
                    resp = await client.post(reg["url"], content=body, headers=h)
                except httpx.HTTPError:
                    sends["no_answer"] += 1
                    await asyncio.sleep(0.2)
                    continue
                if resp.status_code >= 500:
                    sends[f"status_{resp.status_code}"] += 1
                    await asyncio.sleep(0.2)
                    continue
                assert resp.status_code < 300, (resp.status_code, resp.text)
                acked[delivery] = k
                progress.set()
                break

    failed_pushes: list[str] = []

    async def first_failed_push() -> str:
        async with httpx.AsyncClient(headers=headers(), timeout=10) as api:
            for _ in range(600):
                try:
                    cursor = None
                    while True:  # the failing heads are the oldest pending: walk every page
                        params = {"status": "pending", "limit": 500, **({"cursor": cursor} if cursor else {})}
                        page = (await api.get(f"{webhooks.url}/v1/webhooks/deliveries", params=params)).json()
                        failing = [d["id"] for d in page["deliveries"] if d["last_error"]]
                        if failing:
                            return str(failing[0])
                        cursor = page["next_cursor"]
                        if not cursor:
                            break
                except (httpx.HTTPError, KeyError, ValueError):
                    pass  # the webhooks process may be restarting
                await asyncio.sleep(0.2)
        raise AssertionError("no push failed while the subscriber was down")

    async def chaos() -> None:
        nonlocal subscriber
        loop = asyncio.get_running_loop()
        steps = [
            (0.2, "subscriber down"),
            (1 / 3, "SIGKILL webhooks"),
            (0.5, "subscriber up"),
            (2 / 3, "SIGKILL webhooks"),
        ]
        for fraction, what in steps:
            while len(acked) < fraction * COUNT:
                progress.clear()
                await progress.wait()
            faults.append(f"{what} at {len(acked)} acknowledged")
            if what == "subscriber down":
                # Stopped first, copied after: a push answered while it shut down is kept too.
                await loop.run_in_executor(None, subscriber.__exit__)
                received.extend(subscriber.received)
            elif what == "subscriber up":
                # Not before a push has really failed against the closed port (the outage must
                # overlap with deliveries, however the load shifts the timing).
                failed_pushes.append(await first_failed_push())
                subscriber = WebhookReceiver(port=port).__enter__()
            else:
                await loop.run_in_executor(None, sigkill_and_restart, webhooks)

    storm_started = time.monotonic()
    async with httpx.AsyncClient(timeout=10, limits=httpx.Limits(max_connections=SENDERS)) as client:
        await asyncio.gather(chaos(), *(send(client) for _ in range(SENDERS)))
    storm_s = time.monotonic() - storm_started

    # -- wait until everything acknowledged reached the subscriber -------------------------------
    def pushes() -> list[Any]:
        # A request cut while the subscriber went down arrives without its body; no subscriber
        # can have acknowledged it, so the sender retries it: it is not a delivery.
        return [p for p in received + list(subscriber.received) if _complete(p.body)]

    deadline = time.monotonic() + 300
    while True:
        seen = {json.loads(p.body)["data"]["event_id"] for p in pushes()}
        if set(acked) <= seen:
            break
        assert time.monotonic() < deadline, (
            f"{len(set(acked) - seen)} acknowledged webhooks never reached the subscriber"
        )
        await asyncio.sleep(0.5)
    drained_s = time.monotonic() - storm_started
    await asyncio.sleep(2)  # anything still on its way (a duplicate) lands in the figures too
    all_pushes = pushes()
    subscriber.__exit__()
    await triggers.stop()

    # -- every push verifies, and carries an acknowledged event ---------------------------------
    wh = Webhook(secret)
    by_event: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for p in all_pushes:
        data = wh.verify(
            p.body, {k: p.headers[k] for k in ("webhook-id", "webhook-timestamp", "webhook-signature")}
        )
        by_event[data["data"]["event_id"]].append({"webhook_id": p.headers["webhook-id"], **data["data"]})
    assert set(by_event) == set(acked)

    # -- no trigger fired twice -----------------------------------------------------------------
    firings: dict[str, set[str]] = defaultdict(set)
    for r in triggers.records:
        firings[r["event_id"]].add(r["ce_id"])
    assert set(firings) == set(acked), "a trigger fired for something never acknowledged, or is missing"
    twice = {e: ids for e, ids in firings.items() if len(ids) > 1}
    assert not twice, f"{len(twice)} triggers fired twice"

    # -- the delivery log accounts for every attempt --------------------------------------------
    deliveries: list[dict[str, Any]] = []
    async with httpx.AsyncClient(headers=headers(), timeout=60) as api:
        cursor = None
        while True:
            params = {"limit": 500, **({"cursor": cursor} if cursor else {})}
            page = (await api.get(f"{webhooks.url}/v1/webhooks/deliveries", params=params)).json()
            deliveries += page["deliveries"]
            cursor = page["next_cursor"]
            if not cursor:
                break
    assert len(deliveries) == len(acked)
    receipts = Counter(p.headers["webhook-id"] for p in all_pushes)
    outcomes: Counter[str] = Counter()
    for d in deliveries:
        log = d["attempt_log"]
        outcomes.update(a["outcome"] for a in log)
        assert d["status"] == "delivered", d
        assert [a["outcome"] for a in log].count("delivered") == 1, log
        assert [a["attempt_number"] for a in log] == list(range(1, len(log) + 1)), log
        # A push the subscriber got is an attempt that was delivered, or that the process died in.
        answered = [a for a in log if a["outcome"] in ("delivered", "interrupted") or a["status_code"]]
        assert receipts[d["id"]] <= len(answered), (receipts[d["id"]], log)
    assert outcomes["started"] == 0

    # -- per connection, pushes first arrived in the order the triggers fired --------------------
    fired_order: dict[str, list[str]] = defaultdict(list)
    for r in triggers.records:
        fired_order[r["connection_id"]].append(r["event_id"])
    first_seen: dict[str, list[str]] = defaultdict(list)
    known: set[str] = set()
    for p in all_pushes:
        data = json.loads(p.body)["data"]
        if data["event_id"] not in known:
            known.add(data["event_id"])
            first_seen[data["connection_id"]].append(data["event_id"])
    for cid in cids:
        assert first_seen[cid] == fired_order[cid], f"connection {cid} out of order"

    duplicates = sum(n - 1 for n in receipts.values())
    five_xx = sum(v for k, v in sends.items() if k.startswith("status_"))
    print(
        "\n-- webhook fault test --"
        f"\n webhooks: {COUNT} over {CONNECTIONS} connections, {SENDERS} senders; faults: {'; '.join(faults)}"
        f"\n sends: {sends['sent']} (no answer: {sends['no_answer']}, 5xx: {five_xx}),"
        f" acknowledged: {len(acked)} in {storm_s:.1f}s"
        f"\n triggers fired: {len(triggers.records)} records, {len(firings)} distinct events,"
        f" fired twice: {len(twice)}"
        f"\n deliveries: {len(deliveries)}, pushes received: {len(all_pushes)} (duplicates: {duplicates}),"
        f" all acknowledged at the subscriber after {drained_s:.1f}s"
        f"\n attempts logged: {sum(outcomes.values())} {dict(outcomes)}"
        f"\n total {time.monotonic() - started:.1f}s"
    )


def _complete(body: bytes) -> bool:
    try:
        json.loads(body)
    except ValueError:
        return False
    return True
