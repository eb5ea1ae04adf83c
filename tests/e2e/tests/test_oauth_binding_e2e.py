"""Browser-bound OAuth flows, black box (#22 item 1, docs/adr/0012-browser-bound-oauth-flows.md).

Real vault, connectors and oauth processes and the strict OAuth simulator. Each browser is an
``httpx.Client`` with a cookie jar of its own; ``sim_user`` names the account logged in at the
provider (the simulator consents for it at once, as a provider does for an app already
authorised). Mallory (tenant A) starts a flow and hands its authorization URL to Victor (tenant
B): his browser comes back to the hub's callback without the flow's binding cookie, is refused,
and nothing reaches Mallory's connection; her own browser completes normally.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest

from hub_common.settings import HubSettings
from hub_common.web.auth import mint_user_token
from hub_e2e.connectors import plugin_path
from hub_e2e.processes import ServiceProcess, free_port
from hub_e2e.simulators.identity import person
from hub_e2e.simulators.runner import OAuthSimulator

pytestmark = pytest.mark.e2e

SECRET = "e2e-binding-secret-0123456789"


@pytest.fixture(scope="module")
def hub(hub_stack, module_dsn, tmp_path_factory) -> Iterator[dict]:
    oauth_port = free_port()
    public = f"http://127.0.0.1:{oauth_port}"
    client = {
        "client_id": "binding-app",
        "client_secret": SECRET,
        "redirect_uris": [f"{public}/v1/oauth/callback"],
    }
    plugins = plugin_path(tmp_path_factory.mktemp("plugins"))
    with OAuthSimulator("generic", clients=[client]) as sim:
        vault = ServiceProcess("vault", {})
        connectors = ServiceProcess("connectors", {})
        oauth = ServiceProcess("oauth", {}, port=oauth_port)
        # The connectors service health-checks each connect through the gateway.
        gateway = ServiceProcess("gateway", {})
        env = {
            "HUB_POSTGRES_DSN": module_dsn,
            "HUB_KAFKA_BOOTSTRAP": hub_stack.kafka_bootstrap,
            "HUB_REDIS_URL": hub_stack.redis_url,
            "HUB_OUTBOUND_ALLOWLIST": "127.0.0.1",
            "HUB_VAULT_URL": vault.url,
            "HUB_CONNECTORS_URL": connectors.url,
            "HUB_OAUTH_URL": oauth.url,
            "HUB_GATEWAY_URL": gateway.url,
            "HUB_OAUTH_PUBLIC_URL": public,
            "HUB_PROVIDER_BACKOFF_S": "0.01",
            "PYTHONPATH": str(plugins),
            "HUB_CONNECTORS_CONSUMER_OFFSET_RESET": "latest",
        }
        procs = [vault, connectors, oauth, gateway]
        for proc in procs:
            proc.env = env
        try:
            for proc in procs:
                proc.migrate()
                proc.start()
            yield {"sim": sim, "connectors": connectors, "oauth": oauth}
        finally:
            for proc in reversed(procs):
                proc.stop()


def user(tenant: str, sub: str) -> dict[str, str]:
    token = mint_user_token(HubSettings(), tenant=tenant, user=sub, tier="enterprise")
    return {"Authorization": f"Bearer {token}"}


def new_connection(hub: dict, h: dict[str, str]) -> str:
    sim = hub["sim"]
    config = {
        "base_url": sim.url,  # the post-connect health check calls the simulator's identity
        "oauth_authorization_url": f"{sim.url}/authorize",
        "oauth_token_url": f"{sim.url}/token",
        "oauth_revocation_url": f"{sim.url}/revoke",
        "oauth_identity_url": f"{sim.url}/userinfo",
    }
    created = httpx.post(
        f"{hub['connectors'].url}/v1/connections",
        headers=h,
        json={"connector_id": "simoauth", "name": f"sim {time.monotonic_ns()}", "config": config},
    )
    assert created.status_code == 201, created.text
    app = httpx.put(
        f"{hub['oauth'].url}/v1/oauth/apps/simoauth",
        headers=h,
        json={"client_id": "binding-app", "client_secret": SECRET},
    )
    assert app.status_code in (200, 201), app.text
    return str(created.json()["id"])


def start_flow(hub: dict, h: dict[str, str], cid: str) -> dict:
    flow = httpx.post(f"{hub['oauth'].url}/v1/oauth/flows", headers=h, json={"connection_id": cid})
    assert flow.status_code == 201, flow.text
    return dict(flow.json())


def at_provider(browser: httpx.Client, authorization_url: str, account: str) -> str:
    """The provider's part: the logged-in ``account`` consents; returns where it sends the browser."""
    answer = browser.get(f"{authorization_url}&{urlencode({'sim_user': account})}")
    assert answer.status_code == 302, answer.text
    return answer.headers["location"]


def browse_flow(browser: httpx.Client, flow: dict, account: str) -> httpx.Response:
    """What a browser does with a start link: open it, consent at the provider, come back."""
    opened = browser.get(flow["start_url"])
    assert opened.status_code == 303, opened.text
    assert opened.headers["location"] == flow["authorization_url"]
    return browser.get(at_provider(browser, opened.headers["location"], account))


def browser() -> httpx.Client:
    return httpx.Client(headers={"accept": "text/html"}, timeout=30)


def wait_status(hub: dict, cid: str, h: dict[str, str], status: str) -> dict:
    deadline = time.monotonic() + 15
    body: dict = {}
    while time.monotonic() < deadline:
        body = httpx.get(f"{hub['connectors'].url}/v1/connections/{cid}", headers=h).json()
        if body.get("status") == status:
            return body
        time.sleep(0.1)
    raise AssertionError(f"connection stayed {body.get('status')}, expected {status}: {body}")


def token_info(hub: dict, cid: str, h: dict[str, str]) -> httpx.Response:
    return httpx.get(f"{hub['oauth'].url}/v1/oauth/connections/{cid}/token", headers=h)


def code_exchanges(hub: dict) -> int:
    return int(hub["sim"].stats()["token_calls"].get("authorization_code", 0))


def test_a_forwarded_authorization_url_connects_nothing_and_the_starters_browser_still_can(hub):
    victor_h = user("tenant-b", "victor")
    mallory_h = user("tenant-a", "mallory")
    victor_account, mallory_account = str(person("victor")["id"]), str(person("mallory")["id"])
    assert victor_account != mallory_account

    with browser() as victors_browser, browser() as mallorys_browser:
        # Victor has connected his own account in his tenant: the app is authorised for him.
        own = new_connection(hub, victor_h)
        done = browse_flow(victors_browser, start_flow(hub, victor_h, own), "victor")
        assert done.status_code == 303 and "status=connected" in done.headers["location"], done.text
        assert wait_status(hub, own, victor_h, "active")["external_account_id"] == victor_account

        # Mallory starts a flow for her connection, opens its start link herself (so the flow is
        # bound to her browser) and sends the provider's authorization URL to Victor.
        target = new_connection(hub, mallory_h)
        flow = start_flow(hub, mallory_h, target)
        assert mallorys_browser.get(flow["start_url"]).status_code == 303
        exchanges = code_exchanges(hub)

        # Victor follows it: the provider consents for his account at once and sends his browser,
        # code in hand, to the hub's callback, which refuses it.
        redirect = at_provider(victors_browser, flow["authorization_url"], "victor")
        refused = victors_browser.get(redirect)
        assert refused.status_code == 403, refused.text
        assert "text/html" in refused.headers["content-type"]
        assert "flow_binding_mismatch" in refused.text and "did not start this connection" in refused.text
        assert refused.headers["referrer-policy"] == "no-referrer"

        # Nothing was connected: the code was never redeemed, no token row, connection untouched.
        assert code_exchanges(hub) == exchanges
        missing = token_info(hub, target, mallory_h)
        assert missing.status_code == 404 and missing.json()["error"]["code"] == "token_not_found"
        assert wait_status(hub, target, mallory_h, "initializing").get("external_account_id") is None

        # Victor's code is worthless to Mallory too: in her own bound browser the flow is over.
        replayed = mallorys_browser.get(redirect)
        assert replayed.status_code == 400 and "state_reused" in replayed.text
        assert code_exchanges(hub) == exchanges
        assert token_info(hub, target, mallory_h).status_code == 404

        # The provider's URL opened directly, without the start link, is refused the same way
        # (here as JSON, for the machine-readable reason).
        direct = start_flow(hub, mallory_h, target)
        redirect = at_provider(mallorys_browser, direct["authorization_url"], "mallory")
        unbound = mallorys_browser.get(redirect, headers={"accept": "application/json"})
        assert unbound.status_code == 403, unbound.text
        assert unbound.json()["error"]["code"] == "flow_binding_mismatch"
        assert unbound.json()["error"]["details"] == {"reason": "not_opened"}
        assert code_exchanges(hub) == exchanges

        # Mallory's own browser, through the start link, connects her own account.
        done = browse_flow(mallorys_browser, start_flow(hub, mallory_h, target), "mallory")
        assert done.status_code == 303 and "status=connected" in done.headers["location"], done.text
        assert wait_status(hub, target, mallory_h, "active")["external_account_id"] == mallory_account
        assert token_info(hub, target, mallory_h).json()["external_account_id"] == mallory_account
        # The start link works once: opened again (history, a second tab) it sends nobody anywhere.
        again = mallorys_browser.get(flow["start_url"])
        assert again.status_code in (400, 409) and "start_link" in again.text


def test_an_api_flow_is_exchanged_only_by_the_user_who_started_it(hub):
    alice_h, bob_h = user("tenant-api", "alice"), user("tenant-api", "bob")
    cid = new_connection(hub, alice_h)
    flow = start_flow(hub, alice_h, cid)
    with httpx.Client(timeout=30) as alices_app:
        answer = parse_qs(urlsplit(at_provider(alices_app, flow["authorization_url"], "alice")).query)
    exchange = f"{hub['oauth'].url}/v1/oauth/flows/{flow['flow_id']}/exchange"
    exchanges = code_exchanges(hub)

    # Bob, same tenant, holding Alice's code and flow id: refused, and the code is never sent.
    stolen = httpx.post(exchange, headers=bob_h, json={"code": answer["code"][0]})
    assert stolen.status_code == 403 and stolen.json()["error"]["code"] == "flow_user_mismatch", stolen.text
    assert code_exchanges(hub) == exchanges
    assert token_info(hub, cid, alice_h).status_code == 404
    # Another tenant's user does not even learn that the flow exists.
    outsider = httpx.post(exchange, headers=user("tenant-b", "alice"), json={"code": answer["code"][0]})
    assert outsider.status_code == 400 and outsider.json()["error"]["code"] == "state_unknown"

    # Bob's attempts did not spend Alice's flow: she completes it.
    done = httpx.post(exchange, headers=alice_h, json={"code": answer["code"][0]})
    assert done.status_code == 200, done.text
    assert done.json()["external_account_id"] == str(person("alice")["id"])
    assert wait_status(hub, cid, alice_h, "active")
