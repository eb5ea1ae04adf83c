"""The system-level security suite (docs/adr/0034): one hub of real processes for the package.

Every hub service, the GitHub simulator (a provider to connect to, with a PAT), a subscriber,
and the test connectors (one ``sighook_*`` per webhook signature preset, ``simoauth``). The
outbound allow-list names exactly the simulator's and the subscriber's ``host:port``: every
other loopback port, name or encoding is as forbidden as an internal address in production.

``test_secret_scan.py`` must run after everything else in the pytest run (it scans for every
secret the run used): the hook below moves it to the end, whatever else was collected.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from hub_common.settings import HubSettings
from hub_common.web.auth import mint_user_token
from hub_e2e.processes import ServiceProcess, free_port, running_hub
from hub_e2e.receiver import WebhookReceiver
from hub_e2e.secret_scan import register
from hub_e2e.signed_connectors import plugin_path
from hub_e2e.simulators.runner import ProviderSim

SCAN_MODULE = Path(__file__).with_name("test_secret_scan.py")
SERVICES = ("vault", "connectors", "oauth", "gateway", "webhooks")


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The secret scan last: after every other test of the run (unit to browser), in any order
    the rest was collected in."""
    last = [item for item in items if item.path == SCAN_MODULE]
    if last:
        items[:] = [item for item in items if item.path != SCAN_MODULE] + last


def user_headers(tenant: str, tier: str = "enterprise", user: str = "alice") -> dict[str, str]:
    token = mint_user_token(HubSettings(), tenant=tenant, user=user, tier=tier)
    return {"Authorization": f"Bearer {token}"}


class _V6Server(ThreadingHTTPServer):
    address_family = socket.AF_INET6


@dataclass
class Canary:
    """An HTTP server on loopback that must never be reached (not allow-listed): it counts every
    request, on 127.0.0.1 and [::1]. ``redirect_to`` makes it answer ``302`` there instead (then
    it plays an allow-listed provider or subscriber that redirects into the internal network)."""

    redirect_to: str | None = None
    port: int = field(default_factory=free_port)
    hits: list[str] = field(default_factory=list)

    def __enter__(self) -> Canary:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                owner.hits.append(f"{self.command} {self.path}")
                length = int(self.headers.get("content-length") or 0)
                self.rfile.read(length)
                self.send_response(302 if owner.redirect_to else 200)
                if owner.redirect_to:
                    self.send_header("location", owner.redirect_to)
                self.send_header("content-length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _answer

            def log_message(self, *_: object) -> None:
                pass

        self._servers = [ThreadingHTTPServer(("127.0.0.1", self.port), Handler)]
        # (no IPv6 loopback on a machine: the [::1] forms are refused before connecting anyway)
        with contextlib.suppress(OSError):
            self._servers.append(_V6Server(("::1", self.port), Handler))
        for server in self._servers:
            threading.Thread(target=server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *_: object) -> None:
        for server in self._servers:
            server.shutdown()
            server.server_close()


@dataclass
class SecurityHub:
    procs: dict[str, ServiceProcess]
    sim: ProviderSim
    subscriber: WebhookReceiver
    canary: Canary  # never to be reached
    redirector: Canary  # allow-listed; redirects to the canary
    pat: str
    dsn: str
    # One client for the whole suite: a client per call builds a TLS context each time, which
    # costs seconds on a loaded machine.
    http: httpx.Client = field(default_factory=lambda: httpx.Client(timeout=60))

    def url(self, service: str) -> str:
        return self.procs[service].url

    def connect_github(self, tenant: str, *, active: bool = True) -> str:
        """A ``github_pat`` connection of ``tenant`` on the simulator (active when asked)."""
        api = self.url("connectors")
        created = self.http.post(
            f"{api}/v1/connections",
            headers=user_headers(tenant),
            json={
                "connector_id": "github_pat",
                "name": f"github {uuid.uuid4().hex[:8]}",
                "config": {"base_url": f"{self.sim.url}/api/v3", "webhook_repository": "pat-owner/sandbox"},
                "credentials": {"token": self.pat},
            },
            timeout=30,
        )
        assert created.status_code == 201, created.text
        cid: str = created.json()["id"]
        deadline = time.monotonic() + 60
        while active:
            found = self.http.get(f"{api}/v1/connections/{cid}", headers=user_headers(tenant)).json()
            if found["status"] == "active":
                break
            assert time.monotonic() < deadline, f"the connection stayed {found['status']}"
            self.http.post(f"{api}/v1/connections/{cid}/health", headers=user_headers(tenant))
            time.sleep(0.2)
        return cid


@pytest.fixture(scope="package")
async def security_dsn(new_database) -> str:
    return await new_database("e2e_security")


@pytest.fixture(scope="package")
def security_hub(hub_stack, security_dsn, tmp_path_factory) -> Iterator[SecurityHub]:
    pat = f"ghp_security{uuid.uuid4().hex}"
    register(pat, "security suite GitHub PAT")
    plugins = plugin_path(tmp_path_factory.mktemp("security-plugins"))
    with (
        ProviderSim(provider="github", pats={pat: "pat-owner"}, require_spec=False) as sim,
        WebhookReceiver() as subscriber,
        Canary() as canary,
        Canary() as redirector,
    ):
        redirector.redirect_to = f"http://127.0.0.1:{canary.port}/redirected"
        allowed = [f"127.0.0.1:{port}" for port in (sim.port, subscriber.port, redirector.port)]
        env = {
            "HUB_OUTBOUND_ALLOWLIST": ",".join(allowed),
            "HUB_GITHUB_ENTERPRISE_HOSTS": "127.0.0.1",
            "PYTHONPATH": str(plugins),
            "HUB_WEBHOOKS_DELIVERY_OFFSET_RESET": "latest",
            "HUB_WEBHOOKS_DELIVERY_POLL_S": "0.2",
        }
        with running_hub(hub_stack, security_dsn, SERVICES, env) as procs:
            hub = SecurityHub(procs, sim, subscriber, canary, redirector, pat, security_dsn)
            with hub.http:
                yield hub
