"""A hostile custom connector (``hub_e2e.hostile``) against real vault, connectors and gateway
processes: from its plugin worker it reads no hub secret, mints nothing the hub accepts, reaches
no other connection, tenant, route, service or store; its legitimate action still works, through
the gateway, with the credential the gateway injects (docs/adr/0011-plugin-isolation.md)."""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from hub_common.settings import HubSettings
from hub_common.testing.service_keys import service_minter
from hub_common.web.auth import mint_user_token
from hub_connectors.plugin_host import sandbox
from hub_e2e.connectors import plugin_path
from hub_e2e.processes import ServiceProcess, free_port

pytestmark = pytest.mark.e2e
# A per-run signing key: the public default dev key (all a plugin could know) signs nothing here.
RUN_KEY = secrets.token_urlsafe(32)
SETTINGS = HubSettings(jwt_dev_secret=RUN_KEY)
MINE, THEIRS = "e2e-plugin-a", "e2e-plugin-b"


class Provider:
    """A provider that answers ``/me`` and records which API key each call carried."""

    def __init__(self) -> None:
        self.keys: list[str | None] = []
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                provider.keys.append(self.headers.get("X-Api-Key"))
                body = json.dumps({"path": self.path, "account": "acct-a"}).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()


@pytest.fixture(scope="module")
def hub(hub_stack, module_dsn, tmp_path_factory) -> Iterator[dict[str, Any]]:
    plugins = plugin_path(tmp_path_factory.mktemp("plugins"))
    keys: Path = tmp_path_factory.mktemp("stack-keys")
    keyring = keys / "keyring.json"
    provider = Provider()
    vault, connectors, gateway = (ServiceProcess(s, {}) for s in ("vault", "connectors", "gateway"))
    env = {
        "HUB_POSTGRES_DSN": module_dsn,
        "HUB_KAFKA_BOOTSTRAP": hub_stack.kafka_bootstrap,
        "HUB_REDIS_URL": hub_stack.redis_url,
        "HUB_JWT_DEV_SECRET": RUN_KEY,
        "HUB_VAULT_DEV_KEYRING_PATH": str(keyring),
        "HUB_OUTBOUND_ALLOWLIST": "127.0.0.1",
        "HUB_VAULT_URL": vault.url,
        "HUB_CONNECTORS_URL": connectors.url,
        "HUB_OAUTH_URL": f"http://127.0.0.1:{free_port()}",
        "HUB_GATEWAY_URL": gateway.url,
        "HUB_CONNECTORS_OAUTH_REVOKE": "false",
        "HUB_CONNECTORS_PLUGIN_SANDBOX": "required" if sandbox.available() else "auto",
        "PYTHONPATH": str(plugins),
        "HUB_CONNECTORS_CONSUMER_OFFSET_RESET": "latest",
    }
    procs = [vault, connectors, gateway]
    try:
        for proc in procs:
            proc.env = env
            proc.migrate()
        for proc in procs:
            proc.start()
        yield {
            "vault": vault,
            "connectors": connectors,
            "gateway": gateway,
            "provider": provider,
            "keyring": keyring,
            "env": env,
        }
    finally:
        for proc in reversed(procs):
            proc.stop()
        provider.stop()


def headers(tenant: str) -> dict[str, str]:
    token = mint_user_token(SETTINGS, tenant=tenant, user="alice", tier="enterprise")
    return {"Authorization": f"Bearer {token}"}


def connect(hub: dict[str, Any], tenant: str, api_key: str) -> str:
    created = httpx.post(
        f"{hub['connectors'].url}/v1/connections",
        headers=headers(tenant),
        json={
            "connector_id": "hostile",
            "name": f"h{time.monotonic_ns()}",
            "config": {"base_url": hub["provider"].url},
            "credentials": {"api_key": api_key},
        },
        timeout=60,
    )
    assert created.status_code == 201, created.text
    cid, status = str(created.json()["id"]), created.json()["status"]
    # Its health checks run in a plugin worker, through the gateway with the worker's token. The
    # gateway may refuse the first one while the connection is still `initializing` (issue #33):
    # the next check, once it saw `error`, goes through.
    deadline = time.monotonic() + 30
    while status != "active":
        assert time.monotonic() < deadline, f"never active: {created.json()['last_error']}"
        time.sleep(0.2)
        checked = httpx.post(
            f"{hub['connectors'].url}/v1/connections/{cid}/health", headers=headers(tenant), timeout=60
        )
        assert checked.status_code == 200, checked.text
        status = checked.json()["connection"]["status"]
    return cid


def act(hub: dict[str, Any], cid: str, action: str, **parameters: Any) -> dict[str, Any]:
    resp = httpx.post(
        f"{hub['connectors'].url}/v1/connections/{cid}/actions/{action}",
        headers=headers(MINE),
        json={"parameters": parameters},
        timeout=60,
    )
    assert resp.status_code == 200, resp.text
    result = resp.json()
    assert result["success"] is True, result
    data: dict[str, Any] = result["data"]
    return data


@pytest.fixture(scope="module")
def connections(hub) -> dict[str, str]:
    return {"mine": connect(hub, MINE, "key-of-a"), "theirs": connect(hub, THEIRS, "key-of-b")}


def test_the_legitimate_action_works_through_the_gateway(hub, connections):
    before = len(hub["provider"].keys)
    assert act(hub, connections["mine"], "me") == {"path": "/me", "account": "acct-a"}
    assert hub["provider"].keys[before:] == ["key-of-a"]  # injected by the gateway, not the plugin


def test_the_plugin_sees_no_hub_secret_in_its_environment(hub, connections):
    seen = act(hub, connections["mine"], "environment")
    assert seen["leaked"] == {}
    assert not [n for n in seen["names"] if n.startswith("HUB_") or n == "PYTHONPATH"]
    values = " ".join(seen["names"])
    assert RUN_KEY not in values and hub["env"]["HUB_POSTGRES_DSN"] not in values


@pytest.mark.skipif(not sandbox.available(), reason="the kernel has no Landlock")
def test_the_plugin_reads_no_key_file_and_no_other_process(hub, connections):
    assert hub["keyring"].exists()  # the vault's keyring is there, readable by the hub's user
    outcome = act(hub, connections["mine"], "files", paths=[str(hub["keyring"]), str(hub["keyring"].parent)])
    assert len(outcome) == 4 and set(outcome.values()) == {"refused: PermissionError"}, outcome


def test_tokens_minted_with_the_public_dev_key_get_nothing(hub, connections):
    outcome = act(
        hub, connections["mine"], "mint", other_tenant=THEIRS, other_connection=connections["theirs"]
    )
    assert outcome == {
        "service_key": "refused: ConfigurationError",  # no service key in the worker's world
        "service_token": 401,  # a key of its own, claiming to be connectors
        "user_token": 401,
    }


def test_its_own_scoped_token_reaches_nothing_else(hub, connections):
    before = len(hub["provider"].keys)
    outcome = act(
        hub, connections["mine"], "gateway", other_tenant=THEIRS, other_connection=connections["theirs"]
    )
    assert outcome == {
        "own_token_token_shown": True,
        "other_connection": 404,
        "other_connection_as_other_tenant": 403,
        "own_connection_with_tenant_header": 403,
        "rate_limit_route": 403,
        "transforms_route": 403,
    }
    assert "key-of-b" not in hub["provider"].keys[before:]


@pytest.mark.skipif(not sandbox.available(), reason="the kernel has no Landlock")
def test_the_plugin_cannot_reach_the_other_services_or_the_stores(hub, connections):
    theirs = connections["theirs"]
    env = hub["env"]
    outcome = act(
        hub,
        connections["mine"],
        "services",
        urls={
            "connectors_internal": f"{hub['connectors'].url}/internal/v1/connections/{theirs}",
            "vault": f"{hub['vault'].url}/healthz",
        },
        sockets={
            "postgres": env["HUB_POSTGRES_DSN"].split("@", 1)[1].split("/", 1)[0],
            "kafka": env["HUB_KAFKA_BOOTSTRAP"].split(",")[0],
            "redis": env["HUB_REDIS_URL"].split("//", 1)[1].split("/", 1)[0],
        },
    )
    assert outcome and all(str(v).startswith("refused: ") for v in outcome.values()), outcome


def test_the_plugins_scoped_token_is_refused_by_the_other_services(hub, connections):
    """From outside the sandbox too: a plugin token is not a service token anywhere."""

    minter = service_minter("connectors")
    claims = {"typ": "plugin", "conn": connections["theirs"], "tenant": THEIRS, "tier": "enterprise"}
    for audience, url in (
        ("connectors", f"{hub['connectors'].url}/internal/v1/connections/{connections['theirs']}"),
        (
            "vault",
            f"{hub['vault'].url}/v1/tenants/{THEIRS}/connections/{connections['theirs']}/credentials/api_key",
        ),
    ):
        token = minter.token_for(audience, extra_claims=claims, ttl_s=60)
        resp = httpx.get(url, headers={"Authorization": f"Bearer {token}"})
        assert resp.status_code == 401, (url, resp.text)
