"""The Notion simulator (``hub-sim notion``) as a real process: Notion's OAuth quirks (Basic client
auth and a JSON token body only, ``owner=user``, ``workspace_id``/``bot_id`` in the answer,
rotating refresh), ``Notion-Version`` required, the API checked against notion*.json by the
simulator itself, Notion's error bodies, cursor pagination, 429/529 with ``Retry-After``, and
webhook subscriptions: the unsigned verification token, then events signed with it."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from hub_connector_sdk.testkit import spec_file
from hub_e2e.processes import free_port
from hub_e2e.receiver import WebhookReceiver
from hub_e2e.simulators.runner import ProviderSim

pytestmark = pytest.mark.component  # the simulator alone: no hub service (docs/testing.md)
CALLBACK = "http://127.0.0.1:9/v1/oauth/callback"  # never contacted: the tests read the redirect
CLIENT = {
    "client_id": "sim-notion-client",
    "client_secret": "secret_simNotionClient0123456789",
    "redirect_uris": [CALLBACK],
}
TOKEN = "ntn_simulatedInternalIntegrationToken01"
VERSION = {"Notion-Version": "2025-09-03"}


@pytest.fixture(scope="module")
def sim() -> Iterator[ProviderSim]:
    if spec_file("notion.json") is None:
        pytest.skip("notion.json not available (HUB_SPECS_DIR)")
    with ProviderSim(provider="notion", clients=[CLIENT], pats={TOKEN: "notion-dev"}) as running:
        yield running


def api(sim: ProviderSim, token: str = TOKEN, **headers: str) -> httpx.Client:
    return httpx.Client(
        base_url=f"{sim.url}/v1",
        headers={"Authorization": f"Bearer {token}", **VERSION, **headers},
        timeout=10,
    )


def authorize(sim: ProviderSim, **extra: str) -> httpx.Response:
    params = {
        "client_id": CLIENT["client_id"],
        "redirect_uri": CALLBACK,
        "response_type": "code",
        "state": "s1",
    }
    return httpx.get(f"{sim.url}/v1/oauth/authorize", params={**params, **extra})


def code_of(answer: httpx.Response) -> str | None:
    query = parse_qs(urlsplit(answer.headers.get("location", "")).query)
    return query.get("code", [None])[0]


BASIC = "Basic " + base64.b64encode(f"{CLIENT['client_id']}:{CLIENT['client_secret']}".encode()).decode()


def test_hub_sim_prints_its_endpoints_and_checks_the_descriptions(sim):
    banner = sim.log_path.read_text()
    assert f"authorization endpoint: http://127.0.0.1:{sim.port}/v1/oauth/authorize" in banner
    assert f"token endpoint:         http://127.0.0.1:{sim.port}/v1/oauth/token" in banner
    assert "checked against notion.json" in banner
    info = sim.info()
    assert info["spec_checked"] is True
    assert set(info["webhook_events"]) == {
        "page.created",
        "page.content_updated",
        "page.properties_updated",
        "comment.created",
    }


def test_oauth_needs_owner_user_basic_auth_and_a_json_body(sim):
    assert code_of(authorize(sim)) is None  # without owner=user Notion does not issue a code
    code = code_of(authorize(sim, owner="user"))
    assert code
    exchange = {"grant_type": "authorization_code", "code": code, "redirect_uri": CALLBACK}
    form = httpx.post(f"{sim.url}/v1/oauth/token", data=exchange, headers={"Authorization": BASIC})
    assert form.status_code == 400, form.text
    posted = httpx.post(
        f"{sim.url}/v1/oauth/token",
        json={**exchange, "client_id": CLIENT["client_id"], "client_secret": CLIENT["client_secret"]},
    )
    assert posted.status_code in (400, 401), posted.text
    answer = httpx.post(f"{sim.url}/v1/oauth/token", json=exchange, headers={"Authorization": BASIC})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["access_token"].startswith("ntn_") and "expires_in" not in body
    assert body["workspace_id"] and body["bot_id"] and body["owner"]["type"] == "user"
    me = api(sim, body["access_token"]).get("/users/me").json()
    assert (
        me["type"] == "bot"
        and me["id"] == body["bot_id"]
        and me["bot"]["workspace_id"] == body["workspace_id"]
    )
    refreshed = httpx.post(
        f"{sim.url}/v1/oauth/token",
        json={"grant_type": "refresh_token", "refresh_token": body["refresh_token"]},
        headers={"Authorization": BASIC},
    )
    assert refreshed.status_code == 200 and refreshed.json()["refresh_token"] != body["refresh_token"]


def test_notion_version_tokens_and_validation_get_notions_error_bodies(sim):
    missing = httpx.get(f"{sim.url}/v1/users/me", headers={"Authorization": f"Bearer {TOKEN}"})
    assert missing.status_code == 400 and missing.json()["code"] == "missing_version"
    unknown = api(sim, "ntn_notRegistered000000000000").get("/users/me")
    assert unknown.status_code == 401 and unknown.json() == {
        "object": "error",
        "status": 401,
        "code": "unauthorized",
        "message": "API token is invalid.",
    }
    invalid = api(sim).post("/pages", json={"properties": {}})  # no parent: notion.json requires one
    assert invalid.status_code == 400 and invalid.json()["code"] == "validation_error"
    gone = api(sim).get("/pages/" + "0" * 32)
    assert gone.status_code == 404 and gone.json()["code"] == "object_not_found"


def test_pages_blocks_and_cursor_pagination(sim):
    client = api(sim)
    home = next(p for p in client.post("/search", json={}).json()["results"] if p["object"] == "page")
    for n in range(3):
        made = client.post(
            "/pages",
            json={
                "parent": {"page_id": home["id"]},
                "properties": {"title": {"title": [{"text": {"content": f"P{n}"}}]}},
            },
        )
        assert made.status_code == 200, made.text
    child = {"type": "paragraph", "paragraph": {"rich_text": [{"type": "text", "text": {"content": "hi"}}]}}
    appended = client.patch(f"/blocks/{made.json()['id']}/children", json={"children": [child, child]})
    assert appended.status_code == 200 and len(appended.json()["results"]) == 2
    listed = client.get(f"/blocks/{made.json()['id']}/children", params={"page_size": 1}).json()
    assert listed["has_more"] is True and listed["next_cursor"]
    titles, cursor = [], None
    while True:
        body = {"query": "p", "filter": {"property": "object", "value": "page"}, "page_size": 1}
        page = client.post("/search", json={**body, **({"start_cursor": cursor} if cursor else {})}).json()
        titles += [r["properties"]["title"]["title"][0]["plain_text"] for r in page["results"]]
        if not page["has_more"]:
            break
        cursor = page["next_cursor"]
    assert sorted(t for t in titles if t.startswith("P")) == ["P0", "P1", "P2"]


def test_throttled_calls_get_429_and_529_with_retry_after(sim):
    client = api(sim)
    httpx.post(f"{sim.url}/_sim/notion/throttle", json={"status": 429, "retry_after": 2})
    limited = client.get("/users/me")
    assert limited.status_code == 429 and limited.headers["retry-after"] == "2"
    assert limited.json()["code"] == "rate_limited"
    httpx.post(f"{sim.url}/_sim/notion/throttle", json={"status": 529, "retry_after": 5})
    assert client.get("/users/me").status_code == 529
    assert client.get("/users/me").status_code == 200
    assert httpx.post(f"{sim.url}/_sim/notion/throttle", json={"status": 200}).status_code == 400
    assert httpx.post(f"{sim.url}/_sim/notion/throttle", content=b"[").status_code == 400


def verify(token: str, body: bytes, header: str) -> bool:
    expected = "sha256=" + hmac.new(token.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, header)


def test_a_subscription_gets_the_verification_token_then_signed_thin_events(sim):
    with WebhookReceiver() as receiver:
        subscribed = httpx.post(f"{sim.url}/_sim/notion/subscriptions", json={"url": receiver.url}).json()
        client = api(sim)
        home = next(p for p in client.post("/search", json={}).json()["results"] if p["object"] == "page")
        made = client.post("/pages", json={"parent": {"page_id": home["id"]}, "properties": {}}).json()
        first, event = receiver.wait_for(2)
    assert json.loads(first.body) == {"verification_token": subscribed["verification_token"]}
    assert "x-notion-signature" not in first.headers  # the handshake is unsigned
    assert verify(subscribed["verification_token"], event.body, event.headers["x-notion-signature"])
    payload = json.loads(event.body)
    assert payload["type"] == "page.created" and payload["entity"] == {"id": made["id"], "type": "page"}
    assert "properties" not in json.dumps(payload["data"])  # thin: ids, not content
    with WebhookReceiver() as receiver:
        sent = sim.send_webhook("comment.created", receiver.url, secret="secret_" + "t" * 40)
        (got,) = receiver.wait_for(1)
    assert sent["status_code"] == 200 and verify(
        "secret_" + "t" * 40, got.body, got.headers["x-notion-signature"]
    )
    assert json.loads(got.body)["entity"]["type"] == "comment"


def test_without_the_description_it_runs_unchecked_unless_required(tmp_path):
    hub_sim = str(Path(sys.executable).parent / "hub-sim")
    env = {**os.environ, "HUB_SPECS_DIR": str(tmp_path / "absent")}
    refused = subprocess.run(
        [hub_sim, "notion", "--port", str(free_port()), "--require-spec"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert refused.returncode != 0 and "notion.json" in refused.stderr
    with ProviderSim(
        provider="notion", clients=[CLIENT], require_spec=False, env=env, pats={TOKEN: "x"}
    ) as demo:
        assert demo.info()["spec_checked"] is False
        client = api(demo)
        home = client.post("/search", json={"filter": {"property": "object", "value": "page"}}).json()[
            "results"
        ][0]
        # notion.json types POST /v1/pages "children" as strings: checked, a block object is refused.
        body = {"parent": {"page_id": home["id"]}, "properties": {}, "children": [{"type": "paragraph"}]}
        assert client.post("/pages", json=body).status_code == 200
        assert client.post("/pages", json={"properties": {}}).json()["code"] == "validation_error"


def test_the_description_refuses_block_objects_as_page_children(sim):
    client = api(sim)
    home = client.post("/search", json={"filter": {"property": "object", "value": "page"}}).json()["results"][
        0
    ]
    body = {"parent": {"page_id": home["id"]}, "properties": {}, "children": [{"type": "paragraph"}]}
    refused = client.post("/pages", json=body)
    assert refused.status_code == 400 and refused.json()["code"] == "validation_error"
