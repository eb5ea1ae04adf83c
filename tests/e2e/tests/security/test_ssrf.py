"""SSRF attempts on every outbound URL a tenant can choose (docs/adr/0034).

Entry points: a webhook subscriber's URL (create and change), a connection's base-URL override
(the gateway calls it with the injected credential), and a connection's OAuth endpoint overrides
(the oauth service posts the client secret there). Targets: a canary HTTP server on a loopback
port the allow-list does not name (and on ``[::1]``), reached by its address, by names that
resolve to it, by decimal, hex, octal and short IPv4 forms and IPv4-mapped/compatible IPv6 forms;
the cloud metadata address in several spellings; private, CGNAT and link-local ranges; URLs with
credentials and other schemes. Each must be refused with a clear code — and the canary must count
zero requests at the end, which is what proves nothing went out. Redirects: an allow-listed
subscriber and an allow-listed provider answer ``302`` to the canary; the hub must not follow.

Not here: DNS answers for names the test cannot make resolve to link-local or private addresses
(there is no resolver to control on this machine); ``libs/common/tests/unit/test_ssrf_http.py``
covers them, and rebinding, with a substituted resolver.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest

from hub_e2e.secret_scan import register

from .conftest import SecurityHub, user_headers

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]
TENANT = f"e2e-ssrf-{uuid.uuid4().hex[:6]}"
SSRF_CODES = {"url_not_allowed", "host_not_allowed"}
UNRESOLVABLE = "https://metadata.google.internal/"  # the one target refused for not resolving here


def attack_urls(port: int) -> list[str]:
    """URLs that must never be called; ``port`` is the canary's."""
    loopback = [
        f"https://127.0.0.1:{port}/",
        f"http://127.0.0.1:{port}/",
        f"https://localhost:{port}/",  # a name whose answer is loopback (/etc/hosts)
        f"https://LOCALHOST.:{port}/",
        f"https://2130706433:{port}/",  # 127.0.0.1, decimal
        f"https://0x7f000001:{port}/",  # hex
        f"https://0177.0.0.1:{port}/",  # octal
        f"https://127.1:{port}/",  # short form
        f"https://0:{port}/",  # 0.0.0.0: connects to this host
        f"https://0.0.0.0:{port}/",
        f"https://[::1]:{port}/",
        f"https://[::ffff:127.0.0.1]:{port}/",  # IPv4-mapped
        f"https://[::ffff:7f00:1]:{port}/",
        f"https://[0:0:0:0:0:ffff:7f00:1]:{port}/",
        f"https://[::127.0.0.1]:{port}/",  # IPv4-compatible (deprecated)
        f"https://[::]:{port}/",
        f"https://127.0.0.1:{port}@127.0.0.1:{port}/",  # userinfo trick
    ]
    metadata_and_private = [
        "https://169.254.169.254/latest/meta-data/",
        "http://169.254.169.254/computeMetadata/v1/",
        "https://2852039166/",  # 169.254.169.254, decimal
        "https://0xa9fea9fe/",
        "https://0251.0376.0251.0376/",  # octal
        "https://[::ffff:169.254.169.254]/",
        "https://[::ffff:a9fe:a9fe]/",
        "https://[fd00:ec2::254]/",  # AWS's IPv6 metadata address
        "https://[fe80::a9fe:a9fe]/",
        "https://[2002:a9fe:a9fe::1]/",  # 6to4 around 169.254.169.254
        "https://100.100.100.200/",  # Alibaba's metadata (CGNAT range)
        "https://10.0.0.1/",
        "https://172.16.0.1/",
        "https://192.168.1.1/",
        "https://[fc00::1]/",
        UNRESOLVABLE,
    ]
    return loopback + metadata_and_private


def _code(response: Any) -> str | None:
    try:
        error = response.json().get("error") or {}
    except ValueError:
        return None
    return error.get("code") if isinstance(error, dict) else None


def _refused(response: Any, url: str) -> bool:
    """A 4xx saying the URL is not allowed (not merely that its host does not resolve: a name
    resolving to loopback must be judged by its answer)."""
    codes = SSRF_CODES | {"host_unresolvable"} if url == UNRESOLVABLE else SSRF_CODES
    return 400 <= response.status_code < 500 and _code(response) in codes


def test_subscriber_urls_are_refused(security_hub: SecurityHub):
    hub, http, h = security_hub, security_hub.http, user_headers(TENANT)
    api = f"{hub.url('webhooks')}/v1/webhooks/subscriptions"
    wrong = []
    for url in attack_urls(hub.canary.port):
        created = http.post(api, headers=h, json={"url": url})
        if not _refused(created, url):
            wrong.append(f"create {url}: {created.status_code} {created.text[:200]}")
    fine = http.post(api, headers=h, json={"url": hub.subscriber.url})
    assert fine.status_code == 201, fine.text  # the allow-listed subscriber is accepted
    register(fine.json()["secret"], "SSRF suite subscription secret")
    for url in attack_urls(hub.canary.port):
        changed = http.patch(f"{api}/{fine.json()['id']}", headers=h, json={"url": url})
        if not _refused(changed, url):
            wrong.append(f"change to {url}: {changed.status_code} {changed.text[:200]}")
    assert not wrong, "\n".join(wrong)
    assert hub.canary.hits == []


def test_connection_base_url_overrides_are_refused(security_hub: SecurityHub):
    hub, http, h = security_hub, security_hub.http, user_headers(TENANT)
    wrong = []
    for url in attack_urls(hub.canary.port):
        created = http.post(
            f"{hub.url('connectors')}/v1/connections",
            headers=h,
            json={
                "connector_id": "github_pat",
                "name": f"ssrf {uuid.uuid4().hex[:8]}",
                "config": {"base_url": f"{url.rstrip('/')}/api/v3"},
                "credentials": {"token": hub.pat},
            },
        )
        if not _refused(created, url):
            wrong.append(f"{url}: {created.status_code} {created.text[:200]}")
    assert not wrong, "\n".join(wrong)
    assert hub.canary.hits == []


def test_oauth_endpoint_overrides_are_refused(security_hub: SecurityHub):
    hub, http, h = security_hub, security_hub.http, user_headers(TENANT)
    secret = f"ssrf-client-secret-{uuid.uuid4().hex}"
    register(secret, "SSRF suite OAuth client secret")
    app = http.put(
        f"{hub.url('oauth')}/v1/oauth/apps/simoauth",
        headers=h,
        json={"client_id": "ssrf-client", "client_secret": secret},
    )
    assert app.status_code in (200, 201), app.text
    wrong = []
    for field in ("oauth_token_url", "oauth_authorization_url", "oauth_revocation_url", "oauth_identity_url"):
        for url in attack_urls(hub.canary.port):
            created = http.post(
                f"{hub.url('connectors')}/v1/connections",
                headers=h,
                json={
                    "connector_id": "simoauth",
                    "name": f"ssrf {uuid.uuid4().hex[:8]}",
                    "config": {field: url},
                },
            )
            if _refused(created, url):
                continue  # refused already when the connection was made
            assert created.status_code == 201, created.text
            flow = http.post(
                f"{hub.url('oauth')}/v1/oauth/flows", headers=h, json={"connection_id": created.json()["id"]}
            )
            if not _refused(flow, url):
                wrong.append(f"{field}={url}: {flow.status_code} {flow.text[:200]}")
    assert not wrong, "\n".join(wrong)
    assert hub.canary.hits == []


def _poll(check: Any, what: str, timeout_s: float = 90) -> Any:
    deadline = time.monotonic() + timeout_s
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, f"{what} not within {timeout_s}s"
        time.sleep(0.3)


def test_redirects_into_the_internal_network_are_not_followed(security_hub: SecurityHub):
    hub, http, h = security_hub, security_hub.http, user_headers(TENANT)
    redirector = f"http://127.0.0.1:{hub.redirector.port}"
    # A subscriber that answers 302 → the canary.
    tenant = f"e2e-ssrf-redirect-{uuid.uuid4().hex[:6]}"
    th = user_headers(tenant)
    sub = http.post(
        f"{hub.url('webhooks')}/v1/webhooks/subscriptions",
        headers=th,
        json={"url": f"{redirector}/hooks", "event_types": ["integration.connected"]},
    )
    assert sub.status_code == 201, sub.text
    register(sub.json()["secret"], "SSRF suite redirecting subscription secret")
    hub.connect_github(tenant)  # integration.connected → one push to the redirecting subscriber

    def attempted() -> Any:
        found = http.get(f"{hub.url('webhooks')}/v1/webhooks/deliveries", headers=th).json()["deliveries"]
        return (
            found and found[0]["attempt_log"] and found[0]["attempt_log"][0].get("status_code") and found[0]
        )

    delivery = _poll(attempted, "an attempt to the redirecting subscriber")
    assert delivery["attempt_log"][0]["status_code"] == 302 and delivery["status"] != "delivered", delivery
    # A provider (a connection's allow-listed base URL) that answers 302 → the canary.
    created = http.post(
        f"{hub.url('connectors')}/v1/connections",
        headers=h,
        json={
            "connector_id": "github_pat",
            "name": f"redirecting {uuid.uuid4().hex[:8]}",
            "config": {"base_url": f"{redirector}/api/v3"},
            "credentials": {"token": hub.pat},
        },
    )
    assert created.status_code == 201, created.text
    proxied = http.get(f"{hub.url('gateway')}/v1/proxy/{created.json()['id']}/user", headers=h)
    assert proxied.status_code != 200, proxied.text  # the 302 (or a refusal), never the canary's 200
    assert hub.redirector.hits, "the redirecting servers were called (the test reached them)"
    assert hub.canary.hits == [], f"a redirect was followed: {hub.canary.hits}"
