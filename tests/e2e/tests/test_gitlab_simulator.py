"""The GitLab simulator (``hub-sim gitlab``) as a real process: GitLab's OAuth quirks (Doorkeeper's
``created_at``, 2 h tokens, a refresh that kills the old pair, ``invalid_token`` on an expired
token), ``PRIVATE-TOKEN``, requests held to gitlab-v4.json, ``RateLimit-*`` headers and 429
``Retry later``, keyset pagination, GitLab's error bodies, and hooks signed both ways
(``X-Gitlab-Token`` and the signing token's ``webhook-signature``)."""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from hub_connector_sdk import verify_webhook
from hub_connector_sdk.testkit import spec_file
from hub_e2e.receiver import WebhookReceiver
from hub_e2e.simulators.runner import ProviderSim

pytestmark = pytest.mark.component  # the simulator alone: no hub service (docs/testing.md)
CALLBACK = "http://127.0.0.1:9/v1/oauth/callback"  # never contacted: the tests read the redirect
CLIENT = {
    "client_id": "sim-gitlab-app",
    "client_secret": "sim-gitlab-secret-0123456789",
    "redirect_uris": [CALLBACK],
}
PAT = "glpat-simulatedAccessToken000001"
SIGNING_TOKEN = "whsec_" + base64.b64encode(bytes(range(32))).decode()


@pytest.fixture(scope="module")
def sim() -> Iterator[ProviderSim]:
    if spec_file("gitlab-v4.json") is None:
        pytest.skip("gitlab-v4.json not available (HUB_SPECS_DIR)")
    with ProviderSim(provider="gitlab", clients=[CLIENT], pats={PAT: "dev-lead"}) as running:
        yield running


def api(sim: ProviderSim, **headers: str) -> httpx.Client:
    return httpx.Client(base_url=f"{sim.url}/api/v4", headers=headers or {"PRIVATE-TOKEN": PAT}, timeout=10)


def token_pair(sim: ProviderSim) -> dict:
    authorize = httpx.get(
        f"{sim.url}/oauth/authorize",
        params={
            "client_id": CLIENT["client_id"],
            "redirect_uri": CALLBACK,
            "scope": "api read_user",
            "state": "s1",
            "response_type": "code",
        },
    )
    assert authorize.status_code == 302, authorize.text
    code = parse_qs(urlsplit(authorize.headers["location"]).query)["code"][0]
    answer = httpx.post(
        f"{sim.url}/oauth/token",
        data={
            "grant_type": "authorization_code",
            "client_id": CLIENT["client_id"],
            "client_secret": CLIENT["client_secret"],
            "code": code,
            "redirect_uri": CALLBACK,
        },
    )
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_hub_sim_prints_its_api_base_and_oauth_endpoints(sim):
    banner = sim.log_path.read_text()
    assert f"hub-sim gitlab: http://127.0.0.1:{sim.port}" in banner
    assert f"API base URL:           http://127.0.0.1:{sim.port}/api/v4" in banner
    assert f"token endpoint:         http://127.0.0.1:{sim.port}/oauth/token" in banner
    assert "checked against gitlab-v4.json" in banner
    assert sim.info()["api_base_urls"] == [f"{sim.url}/api/v4"]


def test_oauth_tokens_expire_in_two_hours_and_a_refresh_kills_the_old_pair(sim):
    pair = token_pair(sim)
    assert pair["expires_in"] == 7200 and pair["refresh_token"] and isinstance(pair["created_at"], int)
    bearer = {"Authorization": f"Bearer {pair['access_token']}"}
    assert api(sim, **bearer).get("/user").json()["username"] == "sim-user"
    refreshed = httpx.post(
        f"{sim.url}/oauth/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": pair["refresh_token"],
            "client_id": CLIENT["client_id"],
            "client_secret": CLIENT["client_secret"],
        },
    )
    assert refreshed.status_code == 200, refreshed.text
    assert refreshed.json()["refresh_token"] != pair["refresh_token"]
    old = api(sim, **bearer).get("/user")
    assert old.status_code == 401 and old.json() == {"message": "401 Unauthorized"}
    current = refreshed.json()["access_token"]
    sim.expire(token=current)
    expired = api(sim, Authorization=f"Bearer {current}").get("/user")
    assert expired.status_code == 401 and expired.json()["error"] == "invalid_token"
    assert "token refresh" in expired.json()["error_description"]
    again = httpx.post(
        f"{sim.url}/oauth/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": pair["refresh_token"],
            "client_id": CLIENT["client_id"],
            "client_secret": CLIENT["client_secret"],
        },
    )
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"  # the race GitLab users hit


def test_private_token_issues_notes_and_gitlabs_error_bodies(sim):
    with api(sim) as gl:
        created = gl.post("/projects/dev-lead%2Fsandbox/issues", json={"title": "Bug", "labels": "bug,p1"})
        assert created.status_code == 201, created.text
        issue = created.json()
        assert (
            issue["labels"] == ["bug", "p1"]
            and issue["state"] == "opened"
            and issue["author"]["username"] == "dev-lead"
        )
        by_id = gl.put(
            f"/projects/{issue['project_id']}/issues/{issue['iid']}", json={"state_event": "close"}
        )
        assert by_id.json()["state"] == "closed" and by_id.json()["closed_by"]["username"] == "dev-lead"
        empty = gl.put(f"/projects/{issue['project_id']}/issues/{issue['iid']}", json={})
        assert empty.status_code == 400 and "at least one parameter must be provided" in empty.json()["error"]
        assert gl.post("/projects/dev-lead%2Fsandbox/issues", json={}).json() == {"error": "title is missing"}
        note = gl.post(f"/projects/dev-lead%2Fsandbox/issues/{issue['iid']}/notes", json={"body": "hi"})
        assert note.status_code == 201 and note.json()["noteable_type"] == "Issue"
        hidden = gl.post("/projects/someone%2Felse/issues", json={"title": "x"})
        assert hidden.status_code == 404 and hidden.json() == {"message": "404 Project Not Found"}
        bad = gl.post("/projects/dev-lead%2Fsandbox/merge_requests", json={"title": "No branches"})
        assert bad.status_code == 400 and "source_branch" in bad.json()["error"]  # held to gitlab-v4.json
    assert (
        httpx.get(f"{sim.url}/api/v4/user", headers={"PRIVATE-TOKEN": "glpat-wrong-000000000000"}).status_code
        == 401
    )


def test_keyset_and_offset_pagination(sim):
    with api(sim) as gl:
        keyset = gl.get("/projects", params={"pagination": "keyset", "order_by": "id", "per_page": 2})
        assert (
            len(keyset.json()) == 2
            and 'rel="next"' in keyset.headers["link"]
            and "id_after=" in keyset.headers["link"]
        )
        rest = gl.get(keyset.headers["link"].split(">")[0].lstrip("<").split("/api/v4", 1)[1])
        assert {p["path"] for p in keyset.json() + rest.json()} == {"sandbox", "website", "docs"}
        offset = gl.get("/projects", params={"per_page": 2})
        assert offset.headers["x-next-page"] == "2" and offset.headers["x-total"] == "3"


def test_rate_limit_headers_then_429_retry_later(sim):
    httpx.post(f"{sim.url}/_sim/gitlab/rate_limit", json={"limit": 3}).raise_for_status()  # new windows
    try:
        with api(sim) as gl:
            answers = [gl.get("/user") for _ in range(4)]
        assert [a.status_code for a in answers] == [200, 200, 200, 429]
        first, refused = answers[0], answers[3]
        assert first.headers["ratelimit-limit"] == "3" and first.headers["ratelimit-remaining"] == "2"
        assert (
            first.headers["ratelimit-observed"] == "1" and int(first.headers["ratelimit-reset"]) > time.time()
        )
        assert first.headers["ratelimit-resettime"].endswith("GMT")
        assert refused.text == "Retry later\n" and int(refused.headers["retry-after"]) >= 1
    finally:
        httpx.post(f"{sim.url}/_sim/gitlab/rate_limit", json={"limit": 2000}).raise_for_status()


def test_hooks_are_signed_with_the_token_and_the_signing_token(sim):
    with WebhookReceiver() as receiver, api(sim) as gl:
        hook = gl.post(
            "/projects/dev-lead%2Fwebsite/hooks",
            json={
                "url": receiver.url,
                "token": "plain-secret",
                "signing_token": SIGNING_TOKEN,
                "issues_events": True,
                "push_events": False,
            },
        )
        assert hook.status_code == 201, hook.text
        assert hook.json()["signing_token_present"] is True and "token" not in hook.json()
        gl.post("/projects/dev-lead%2Fwebsite/issues", json={"title": "Hooked"}).raise_for_status()
        (delivery,) = receiver.wait_for(1)
        assert gl.delete(f"/projects/dev-lead%2Fwebsite/hooks/{hook.json()['id']}").status_code == 204
    headers = delivery.headers
    assert headers["x-gitlab-event"] == "Issue Hook" and headers["webhook-id"] == headers["idempotency-key"]
    verify_webhook("gitlab-token", "plain-secret", headers, delivery.body)
    verify_webhook("gitlab-signing", SIGNING_TOKEN, headers, delivery.body)
    with api(sim) as gl:
        bad = gl.post(
            "/projects/dev-lead%2Fwebsite/hooks", json={"url": "https://x.test", "signing_token": "nope"}
        )
    assert bad.status_code == 422 and "signing_token" in bad.json()["message"]
