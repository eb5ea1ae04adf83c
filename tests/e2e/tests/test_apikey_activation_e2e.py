"""An API-key connection against a reachable provider becomes ``active`` as soon as its
credentials are posted, with no manual health check (issue #33's functional defect: the gateway
refused the automatic check because the connection was still ``initializing``).

Real vault, oauth, connectors and gateway processes; the provider is a small HTTP server on
loopback (allowed by ``HUB_OUTBOUND_ALLOWLIST``) that records what reached it.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from hub_common.settings import HubSettings
from hub_common.web.auth import mint_user_token
from hub_e2e.connectors import plugin_path
from hub_e2e.processes import ServiceProcess

pytestmark = pytest.mark.e2e
TENANT = "e2e-apikey"
API_KEY = "sk-e2e-apikey-0123456789abcdef"


class Provider:
    """Answers ``GET /account`` with an account when ``Authorization: OAuth <API_KEY>``, else 401;
    records the headers of every request."""

    def __init__(self) -> None:
        seen: list[dict[str, str]] = []
        self.seen = seen

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                seen.append({k.lower(): v for k, v in self.headers.items()})
                ok = self.headers.get("Authorization") == f"OAuth {API_KEY}"
                body = json.dumps({"id": "acct-1", "name": "E2E"} if ok else {"error": "bad key"}).encode()
                self.send_response(200 if ok else 401)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Provider:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def hub(hub_stack, module_dsn, tmp_path_factory) -> Iterator[dict]:
    plugins = plugin_path(tmp_path_factory.mktemp("plugins"))
    with Provider() as provider:
        vault, connectors = ServiceProcess("vault", {}), ServiceProcess("connectors", {})
        oauth, gateway = ServiceProcess("oauth", {}), ServiceProcess("gateway", {})
        env = {
            "HUB_POSTGRES_DSN": module_dsn,
            "HUB_KAFKA_BOOTSTRAP": hub_stack.kafka_bootstrap,
            "HUB_REDIS_URL": hub_stack.redis_url,
            "HUB_OUTBOUND_ALLOWLIST": "127.0.0.1",
            "HUB_VAULT_URL": vault.url,
            "HUB_CONNECTORS_URL": connectors.url,
            "HUB_OAUTH_URL": oauth.url,
            "HUB_GATEWAY_URL": gateway.url,
            "PYTHONPATH": str(plugins),
            "HUB_CONNECTORS_CONSUMER_OFFSET_RESET": "latest",
        }
        procs = [vault, connectors, oauth, gateway]
        try:
            for proc in procs:
                proc.env = env
                proc.migrate()
            for proc in procs:
                proc.start()
            yield {"provider": provider, "connectors": connectors, "oauth": oauth, "gateway": gateway}
        finally:
            for proc in reversed(procs):
                proc.stop()


def user_headers() -> dict[str, str]:
    token = mint_user_token(HubSettings(), tenant=TENANT, user="alice", tier="enterprise")
    return {"Authorization": f"Bearer {token}"}


def test_posting_credentials_activates_the_connection_without_a_manual_check(hub):
    connectors, oauth, gateway, provider = hub["connectors"], hub["oauth"], hub["gateway"], hub["provider"]
    created = httpx.post(
        f"{connectors.url}/v1/connections",
        headers=user_headers(),
        json={"connector_id": "simapikey", "name": "reachable", "config": {"base_url": provider.url}},
    )
    assert created.status_code == 201, created.text
    cid = created.json()["id"]
    assert created.json()["status"] == "initializing"

    posted = httpx.post(
        f"{oauth.url}/v1/oauth/connections/{cid}/credentials",
        headers=user_headers(),
        json={"credentials": {"api_key": API_KEY}},
        timeout=60,
    )
    assert posted.status_code == 200, posted.text

    # Right after the post (no manual POST /health): the check reached the provider with the key,
    # and the connection is active with the provider's account.
    assert any(h.get("authorization") == f"OAuth {API_KEY}" for h in provider.seen)
    connection = httpx.get(f"{connectors.url}/v1/connections/{cid}", headers=user_headers()).json()
    assert connection["status"] == "active", connection
    assert connection["external_account_id"] == "acct-1"

    # The user's own proxy calls work too, once the gateway heard the connection went active.
    deadline = time.monotonic() + 15
    while True:
        resp = httpx.get(f"{gateway.url}/v1/proxy/{cid}/account", headers=user_headers())
        if resp.status_code == 200:
            break
        assert resp.status_code == 409, resp.text  # still the initializing entry, at most briefly
        assert time.monotonic() < deadline, resp.text
        time.sleep(0.1)
    assert resp.json()["id"] == "acct-1"


def test_a_user_cannot_proxy_through_an_initializing_connection(hub):
    """The exception is the connectors service's health check only, never a user's call."""
    connectors, gateway, provider = hub["connectors"], hub["gateway"], hub["provider"]
    created = httpx.post(
        f"{connectors.url}/v1/connections",
        headers=user_headers(),
        json={"connector_id": "simapikey", "name": "waiting", "config": {"base_url": provider.url}},
    )
    assert created.status_code == 201, created.text
    cid = created.json()["id"]
    before = len(provider.seen)
    resp = httpx.get(
        f"{gateway.url}/v1/proxy/{cid}/account",
        headers={**user_headers(), "X-Hub-Purpose": "health-check"},
    )
    assert resp.status_code == 409, resp.text
    assert resp.json()["error"]["code"] == "connection_not_active"
    assert resp.json()["error"]["details"]["status"] == "initializing"
    assert len(provider.seen) == before
