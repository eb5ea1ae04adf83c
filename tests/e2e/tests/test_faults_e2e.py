"""Faults with real processes: the hub's services behind a Postgres that can be cut off (a TCP
proxy) and on a Kafka broker of this module's own that can be SIGKILLed, with connectors
SIGKILLed mid-create. What must hold:

- a Postgres outage answers 503 naming the dependency, with ``Retry-After`` and the request id,
  on a keep-alive connection that stays usable, and the services recover when it returns;
- a Kafka outage keeps every service ready and writes succeeding (events wait in the outbox and
  arrive when the broker returns), without flooding the logs;
- a credential capture whose health check cannot run changes nothing and says so;
- a create interrupted by a crash leaves no ghost: a retry with its Idempotency-Key finishes it,
  and the sweeper abandons what nobody retries.
"""

from __future__ import annotations

import json
import socket
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest

from hub_common.settings import HubSettings
from hub_common.testing.polling import eventually_sync
from hub_common.testing.service_keys import service_minter
from hub_common.web.auth import mint_user_token
from hub_e2e.faults import TcpProxy, ThrowawayKafka
from hub_e2e.processes import ServiceProcess

pytestmark = pytest.mark.e2e
TENANT = "e2e-faults"
SERVICES = ("vault", "connectors", "oauth", "gateway")


def user_headers(**extra: str) -> dict[str, str]:
    token = mint_user_token(HubSettings(), tenant=TENANT, user="alice", tier="enterprise")
    return {"Authorization": f"Bearer {token}", **extra}


# The shared poll, at this module's pace: a service probed during an outage every 0.2 s.
eventually = partial(eventually_sync, timeout_s=30.0, interval_s=0.2)


@pytest.fixture(scope="module")
def hub(hub_stack, module_dsn) -> Iterator[dict[str, Any]]:
    target = urlsplit(module_dsn)
    with TcpProxy(target.hostname or "127.0.0.1", target.port or 5432) as pg:
        broker = ThrowawayKafka().start()
        proxied = urlunsplit(
            target._replace(netloc=f"{target.username}:{target.password}@127.0.0.1:{pg.port}")
        )
        procs = {name: ServiceProcess(name, {}) for name in SERVICES}
        env = {
            "HUB_POSTGRES_DSN": proxied,
            "HUB_KAFKA_BOOTSTRAP": broker.bootstrap,
            "HUB_REDIS_URL": hub_stack.redis_url,
            "HUB_OUTBOUND_ALLOWLIST": "127.0.0.1",
            **{f"HUB_{name.upper()}_URL": proc.url for name, proc in procs.items()},
            "HUB_CONNECTORS_CONSUMER_OFFSET_RESET": "earliest",
            "HUB_CONNECTORS_SWEEP_INTERVAL_S": "1",
            "HUB_CONNECTORS_ABANDON_API_KEY_AFTER_S": "3",
            "HUB_LOG_LEVEL": "INFO",
        }
        try:
            for proc in procs.values():
                proc.env = env
                proc.migrate()
            for proc in procs.values():
                proc.start(timeout_s=60)
            yield {"pg": pg, "broker": broker, **procs}
        finally:
            for proc in reversed(list(procs.values())):
                proc.stop()
            broker.close()


def create(hub: dict[str, Any], name: str, key: str = "k-first", **headers: str) -> httpx.Response:
    return httpx.post(
        f"{hub['connectors'].url}/v1/connections",
        headers=user_headers(**headers),
        json={
            "connector_id": "statuspage",
            "name": name,
            "config": {"page_id": "p1"},
            "credentials": {"api_key": key},
        },
        timeout=30,
    )


def raw_exchange(url: str, paths: list[str]) -> list[int]:
    """Send the requests one after another on ONE TCP connection; the status of each answer.
    A server that resets the connection after an error fails the second one."""
    parts = urlsplit(url)
    statuses = []
    with socket.create_connection((parts.hostname, parts.port), timeout=15) as sock:
        reader = sock.makefile("rb")
        for path in paths:
            auth = user_headers()["Authorization"]
            sock.sendall(f"GET {path} HTTP/1.1\r\nHost: t\r\nAuthorization: {auth}\r\n\r\n".encode())
            status_line = reader.readline()
            assert status_line, f"the connection was closed before answering {path}"
            statuses.append(int(status_line.split()[1]))
            length = 0
            while (line := reader.readline()) not in (b"\r\n", b""):
                name, _, value = line.decode().partition(":")
                if name.lower() == "content-length":
                    length = int(value)
                assert not (name.lower() == "connection" and "close" in value.lower()), path
            reader.read(length)
    return statuses


def test_a_postgres_outage_is_503_with_its_code_and_request_id_and_the_services_recover(hub):
    assert create(hub, "before-outage").status_code == 201
    routes = {
        "connectors": "/v1/connections",
        "oauth": "/v1/oauth/apps/statuspage",
        "gateway": "/v1/gateway/transforms",
    }
    hub["pg"].cut()
    try:
        for service, path in routes.items():
            resp = eventually(
                lambda s=service, p=path: (
                    r
                    if (r := httpx.get(f"{hub[s].url}{p}", headers=user_headers(), timeout=15)).status_code
                    == 503
                    else None
                ),
                timeout_s=20,
            )
            error = resp.json()["error"]
            assert error["code"] == "database_unavailable", (service, resp.text)
            assert error["request_id"] == resp.headers["x-request-id"] and len(error["request_id"]) == 32
            assert resp.headers["retry-after"]
            # The same keep-alive connection serves the next request after the 503.
            assert raw_exchange(hub[service].url, [path, "/healthz"]) == [503, 200]
            assert httpx.get(f"{hub[service].url}/readyz", timeout=15).status_code == 503
    finally:
        hub["pg"].restore()
    for service, path in routes.items():
        eventually(
            lambda s=service, p=path: (
                httpx.get(f"{hub[s].url}{p}", headers=user_headers(), timeout=15).status_code in (200, 404)
            )
        )
        assert httpx.get(f"{hub[service].url}/readyz", timeout=15).status_code == 200


def _lines(proc: ServiceProcess) -> int:
    return len(proc.log_path.read_text(errors="replace").splitlines())


def test_a_kafka_outage_keeps_every_service_ready_and_writes_succeeding(hub):
    hub["broker"].kill()
    try:
        time.sleep(3)  # let every client notice: the point is what happens *during* the outage
        before = {name: _lines(hub[name]) for name in SERVICES}
        for name in SERVICES:
            ready = httpx.get(f"{hub[name].url}/readyz", timeout=15)
            assert ready.status_code == 200, (name, ready.text)
            status = httpx.get(f"{hub[name].url}/status", timeout=15).json()
            assert status["ready"] is True
        created = create(hub, "during-kafka-outage")
        assert created.status_code == 201, created.text
        connection_id = created.json()["id"]
        time.sleep(5)
        # A state change is logged once, not every reconnect attempt (~194 lines/s before).
        grown = {name: _lines(hub[name]) - before[name] for name in SERVICES}
        assert all(n < 40 for n in grown.values()), grown
    finally:
        hub["broker"].start()

    def audited() -> bool:
        resp = httpx.get(
            f"{hub['connectors'].url}/v1/audit",
            params={"connection_id": connection_id},
            headers=user_headers(),
        )
        return resp.status_code == 200 and bool(resp.json().get("entries"))

    # The outbox held the events; they reach Kafka (and the audit projection) after the return.
    eventually(audited, timeout_s=60)


def _vault_value(hub: dict[str, Any], connection_id: str) -> str:
    minter = service_minter("gateway")
    resp = httpx.get(
        f"{hub['vault'].url}/v1/tenants/{TENANT}/connections/{connection_id}/credentials/api_key",
        headers=minter.headers_for("vault"),
        timeout=15,
    )
    assert resp.status_code == 200, resp.text
    return str(resp.json()["value"])


def test_a_capture_whose_check_cannot_run_changes_nothing(hub):
    created = create(hub, "capture", key="k-first")
    connection_id = created.json()["id"]
    capture = f"{hub['oauth'].url}/v1/oauth/connections/{connection_id}/credentials"
    first = httpx.post(
        capture, headers=user_headers(), json={"credentials": {"api_key": "k-second"}}, timeout=30
    )
    assert first.status_code == 200, first.text
    hub["connectors"].proc.kill()  # SIGKILL: oauth still has the connection cached for a moment
    hub["connectors"].proc.wait(10)
    try:
        for attempt in range(3):
            resp = httpx.post(
                capture,
                headers=user_headers(),
                json={"credentials": {"api_key": f"k-lost-{attempt}"}},
                timeout=30,
            )
            assert resp.status_code == 503, resp.text
            assert resp.json()["error"]["code"] in {
                "verification_unavailable",
                "connectors_unavailable",
                "unavailable",
            }
            assert _vault_value(hub, connection_id) == "k-second"
    finally:
        hub["connectors"].start(timeout_s=60)


def test_a_crash_mid_create_leaves_no_ghost(hub):
    keys: dict[str, str] = {}
    interrupted = 0
    for round_ in range(4):  # SIGKILL connectors while a burst of creates is in flight
        burst = {f"ghost-{round_}-{i}": str(uuid.uuid4()) for i in range(8)}
        keys.update(burst)

        def attempt(item: tuple[str, str]) -> int:
            try:
                return create(hub, item[0], **{"Idempotency-Key": item[1]}).status_code
            except httpx.HTTPError:
                return 0

        with ThreadPoolExecutor(len(burst)) as pool:
            answers = pool.map(attempt, burst.items())
            time.sleep(0.05 * (round_ + 1))
            hub["connectors"].proc.kill()
            statuses = list(answers)
        hub["connectors"].proc.wait(10)
        hub["connectors"].start(timeout_s=60)
        interrupted += sum(1 for s in statuses if s != 201)
        if interrupted:
            break
    assert interrupted, "no create was in flight when connectors was killed"
    # The client retries every create with its key (a retry of an answered one is harmless).
    for name, key in keys.items():
        resp = create(hub, name, **{"Idempotency-Key": key})
        assert resp.status_code == 201, resp.text

    def settled() -> list[dict[str, Any]] | None:
        listed = httpx.get(
            f"{hub['connectors'].url}/v1/connections",
            params={"include_disconnected": "true"},
            headers=user_headers(),
            timeout=15,
        ).json()
        ours = [c for c in listed["connections"] if c["name"].startswith("ghost-")]
        return None if any(c["status"] == "initializing" for c in ours) else ours

    ours = eventually(settled, timeout_s=30)
    in_use = sorted(c["name"] for c in ours if c["status"] != "disconnected")
    assert in_use == sorted(keys)  # one connection per name, none stuck initializing
    abandoned = [c for c in ours if c["status"] == "disconnected"]
    assert all(c["last_error"].startswith("abandoned") for c in abandoned)
    print(
        json.dumps({"creates": len(keys), "interrupted": interrupted, "abandoned_by_sweeper": len(abandoned)})
    )
