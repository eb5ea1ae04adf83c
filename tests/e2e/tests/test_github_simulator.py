"""The GitHub simulator (``hub-sim github``) as a real process: OAuth App quirks, the REST operations
the connector uses (checked against github-rest.json by the simulator itself), rate limits,
pagination, and webhooks signed as GitHub signs them (payloads checked against
github-webhooks.json)."""

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
    "client_id": "Iv1.simclient",
    "client_secret": "sim-client-secret-0123456789",
    "redirect_uris": [CALLBACK],
}
PAT = "ghp_simulatedPersonalAccessToken0001"


@pytest.fixture(scope="module")
def sim() -> Iterator[ProviderSim]:
    if spec_file("github-rest.json") is None:
        pytest.skip("github-rest.json not available (HUB_SPECS_DIR)")
    with ProviderSim(provider="github", clients=[CLIENT], pats={PAT: "octo-dev"}) as running:
        yield running


def api(sim: ProviderSim, token: str = PAT) -> httpx.Client:
    return httpx.Client(
        base_url=sim.url,
        headers={"Authorization": f"Bearer {token}", "Accept": "application/vnd.github+json"},
        timeout=10,
    )


def oauth_token(sim: ProviderSim, *, accept_json: bool = True) -> httpx.Response:
    authorize = httpx.get(
        f"{sim.url}/login/oauth/authorize",
        params={
            "client_id": CLIENT["client_id"],
            "redirect_uri": CALLBACK,
            "scope": "repo",
            "state": "s1",
            "response_type": "code",
        },
    )
    assert authorize.status_code == 302, authorize.text
    code = parse_qs(urlsplit(authorize.headers["location"]).query)["code"][0]
    headers = {"Accept": "application/json"} if accept_json else {}
    return httpx.post(
        f"{sim.url}/login/oauth/access_token",
        data={
            "client_id": CLIENT["client_id"],
            "client_secret": CLIENT["client_secret"],
            "code": code,
            "redirect_uri": CALLBACK,
        },
        headers=headers,
    )


def test_hub_sim_prints_its_base_url_and_oauth_endpoints(sim):
    banner = sim.log_path.read_text()
    assert f"hub-sim github: http://127.0.0.1:{sim.port}" in banner
    assert f"authorization endpoint: http://127.0.0.1:{sim.port}/login/oauth/authorize" in banner
    assert f"token endpoint:         http://127.0.0.1:{sim.port}/login/oauth/access_token" in banner
    assert "checked against github-rest.json" in banner
    info = sim.info()
    assert info["spec_checked"] and info["webhook_payloads_checked"]
    assert info["api_base_urls"] == [sim.url, f"{sim.url}/api/v3"]


def test_oauth_app_token_is_json_only_when_asked_never_expires_and_revokes_with_basic_auth(sim):
    form = oauth_token(sim, accept_json=False)
    assert form.headers["content-type"].startswith("application/x-www-form-urlencoded")
    assert "access_token=gho_" in form.text
    answer = oauth_token(sim)
    body = answer.json()
    assert body["access_token"].startswith("gho_") and body["token_type"] == "bearer"
    assert "expires_in" not in body and "refresh_token" not in body  # OAuth App tokens never expire
    token = body["access_token"]
    assert api(sim, token).get("/user").json()["login"] == "sim-user"

    basic = base64.b64encode(f"{CLIENT['client_id']}:{CLIENT['client_secret']}".encode()).decode()
    revoked = httpx.request(
        "DELETE",
        f"{sim.url}/applications/{CLIENT['client_id']}/token",
        json={"access_token": token},
        headers={"Authorization": f"Basic {basic}", "Accept": "application/vnd.github+json"},
    )
    assert revoked.status_code == 204, revoked.text
    refused = api(sim, token).get("/user")
    assert refused.status_code == 401 and refused.json()["message"] == "Bad credentials"


def test_issue_lifecycle_with_pagination_and_rate_limit_headers(sim):
    with api(sim) as gh:
        for n in range(3):
            created = gh.post("/repos/octo-dev/sandbox/issues", json={"title": f"Bug {n}", "labels": ["bug"]})
            assert created.status_code == 201, created.text
        number = created.json()["number"]
        assert created.headers["location"].endswith(f"/repos/octo-dev/sandbox/issues/{number}")
        first = gh.get("/repos/octo-dev/sandbox/issues", params={"per_page": 2, "state": "all"})
        assert first.status_code == 200 and len(first.json()) == 2
        assert 'rel="next"' in first.headers["link"] and 'rel="last"' in first.headers["link"]
        following = first.links["next"]["url"]
        second = gh.get(following)
        assert second.json() and 'rel="prev"' in second.headers["link"]
        assert int(first.headers["x-ratelimit-remaining"]) > int(second.headers["x-ratelimit-remaining"])
        assert {"x-ratelimit-limit", "x-ratelimit-used", "x-ratelimit-reset"} <= set(second.headers)

        closed = gh.patch(f"/repos/octo-dev/sandbox/issues/{number}", json={"state": "closed"})
        assert closed.json()["state"] == "closed" and closed.json()["closed_by"]["login"] == "octo-dev"
        note = gh.post(f"/repos/octo-dev/sandbox/issues/{number}/comments", json={"body": "Fixed."})
        assert note.status_code == 201 and note.json()["body"] == "Fixed."
        assert gh.get("/rate_limit").json()["resources"]["core"]["limit"] == 5000


def test_pull_request_create_get_merge(sim):
    with api(sim) as gh:
        created = gh.post(
            "/repos/octo-dev/website/pulls", json={"title": "Feature", "head": "feat", "base": "main"}
        )
        assert created.status_code == 201, created.text
        number = created.json()["number"]
        got = gh.get(f"/repos/octo-dev/website/pulls/{number}").json()
        assert got["head"]["ref"] == "feat" and got["merged"] is False and got["mergeable"] is True
        merged = gh.put(f"/repos/octo-dev/website/pulls/{number}/merge", json={"merge_method": "squash"})
        assert merged.status_code == 200 and merged.json()["merged"] is True
        again = gh.put(f"/repos/octo-dev/website/pulls/{number}/merge", json={})
        assert again.status_code == 405
        listed = gh.get("/repos/octo-dev/website/issues", params={"state": "all"}).json()
        assert any(i["number"] == number and "pull_request" in i for i in listed)


def test_bad_requests_tokens_and_foreign_repos_get_githubs_answers(sim):
    with api(sim) as gh:
        invalid = gh.post("/repos/octo-dev/sandbox/issues", json={"body": "no title"})
        assert invalid.status_code == 422 and "title" in invalid.json()["message"]
        unknown_param = gh.get("/repos/octo-dev/sandbox/issues", params={"colour": "red"})
        assert unknown_param.status_code == 422
        assert gh.get("/repos/someone-else/private/issues").status_code == 404
    assert api(sim, "ghp_notAToken000000").get("/user").status_code == 401
    assert httpx.get(f"{sim.url}/user").status_code == 401


def test_enterprise_server_prefix_serves_the_same_api(sim):
    answer = api(sim).get("/api/v3/user")
    assert answer.status_code == 200
    assert answer.json()["url"] == f"{sim.url}/api/v3/users/octo-dev"


def test_rate_limit_exhaustion_is_a_403_with_zero_remaining(sim):
    httpx.post(f"{sim.url}/_sim/github/rate-limit", json={"limit": 2}).raise_for_status()
    try:
        with api(sim) as gh:
            assert gh.get("/user").status_code == 200
            assert gh.get("/user").status_code == 200
            over = gh.get("/user")
        assert over.status_code == 403 and "rate limit exceeded" in over.json()["message"]
        assert over.headers["x-ratelimit-remaining"] == "0"
    finally:
        httpx.post(f"{sim.url}/_sim/github/rate-limit", json={"limit": 5000}).raise_for_status()


def verify(secret: str, body: bytes, header: str) -> bool:
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, header)


def test_sim_webhooks_sends_a_named_event_signed_like_github(sim):
    with WebhookReceiver() as receiver:
        delivery = sim.send_webhook(
            "issues", receiver.url, action="opened", secret="s3cr3t", title="From sim"
        )
        assert delivery["status_code"] == 200
        (got,) = receiver.wait_for(1)
    assert got.headers["x-github-event"] == "issues"
    assert got.headers["x-github-delivery"] == delivery["guid"]
    assert verify("s3cr3t", got.body, got.headers["x-hub-signature-256"])
    payload = json.loads(got.body)
    assert payload["action"] == "opened" and payload["issue"]["title"] == "From sim"
    unknown = httpx.post(f"{sim.url}/_sim/webhooks", json={"event": "nope", "url": receiver.url})
    assert unknown.status_code == 400 and "unknown event" in unknown.text


def test_created_hook_gets_ping_and_subscribed_events_with_deliveries_and_redelivery(sim):
    with WebhookReceiver() as receiver, api(sim) as gh:
        hook = gh.post(
            "/repos/octo-dev/docs/hooks",
            json={
                "config": {"url": receiver.url, "content_type": "json", "secret": "hook-secret"},
                "events": ["issues", "issue_comment"],
            },
        )
        assert hook.status_code == 201, hook.text
        assert hook.json()["config"]["secret"] == "********"
        hook_id = hook.json()["id"]
        issue = gh.post("/repos/octo-dev/docs/issues", json={"title": "Hooked"}).json()
        gh.post(f"/repos/octo-dev/docs/issues/{issue['number']}/comments", json={"body": "hi"})
        gh.post("/repos/octo-dev/docs/pulls", json={"title": "unsubscribed", "head": "x", "base": "main"})
        got = receiver.wait_for(3)
        events = sorted(r.headers["x-github-event"] for r in got)
        assert events == ["issue_comment", "issues", "ping"]
        assert all(verify("hook-secret", r.body, r.headers["x-hub-signature-256"]) for r in got)
        assert all(r.headers["x-github-hook-id"] == str(hook_id) for r in got)

        sim.deliveries()  # the receiver has them; wait until the simulator has recorded the answers
        listed = gh.get(f"/repos/octo-dev/docs/hooks/{hook_id}/deliveries").json()
        assert len(listed) == 3 and all(d["status_code"] == 200 for d in listed)
        first = listed[-1]
        again = gh.post(f"/repos/octo-dev/docs/hooks/{hook_id}/deliveries/{first['id']}/attempts")
        assert again.status_code == 202
        redelivered = receiver.wait_for(4)[-1]
        sim.deliveries()
        assert redelivered.headers["x-github-delivery"] == first["guid"]
        assert redelivered.body == next(
            r.body for r in got if r.headers["x-github-delivery"] == first["guid"]
        )
        assert gh.get(f"/repos/octo-dev/docs/hooks/{hook_id}/deliveries").json()[0]["redelivery"] is True

        assert gh.delete(f"/repos/octo-dev/docs/hooks/{hook_id}").status_code == 204
        gh.post("/repos/octo-dev/docs/issues", json={"title": "after removal"})
        sim.deliveries()  # waits for queued deliveries: none may go to the removed hook
        assert len(receiver.received) == 4


def test_without_the_description_it_runs_unchecked_unless_required(tmp_path):
    hub_sim = str(Path(sys.executable).parent / "hub-sim")
    env = {**os.environ, "HUB_SPECS_DIR": str(tmp_path / "absent")}
    refused = subprocess.run(
        [hub_sim, "github", "--port", str(free_port()), "--require-spec"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert refused.returncode != 0 and "github-rest.json" in refused.stderr
    demo = ProviderSim(provider="github", clients=[CLIENT], require_spec=False, env=env)
    with demo:
        assert demo.info()["spec_checked"] is False
        assert "nothing is checked" in demo.log_path.read_text()
        assert api(demo, "ghp_notRegistered0000000").get("/user").status_code == 401
