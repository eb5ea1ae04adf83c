"""The Atlassian simulator (``hub-sim atlassian``) as a real process: Atlassian 3LO quirks
(audience and prompt=consent required, JSON token requests, offline_access for a refresh token,
rotating refresh tokens, accessible-resources), Jira and Confluence answers checked against
their descriptions by the simulator itself, nextPageToken and ``_links.next`` paging, dynamic
webhooks only for apps with JWT-signed deliveries, and Confluence admin webhooks with
``X-Hub-Signature``."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
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
    "client_id": "sim-jira-app",
    "client_secret": "sim-jira-secret-0123456789",
    "redirect_uris": [CALLBACK],
}
API_TOKEN, EMAIL = "ATATT3xSimulatedToken", "bot@example.test"
CLOUD = "11111111-2222-4333-8444-555555555555"


@pytest.fixture(scope="module")
def sim() -> Iterator[ProviderSim]:
    if spec_file("jira-platform-v3.json") is None or spec_file("confluence-v2.json") is None:
        pytest.skip("jira-platform-v3.json / confluence-v2.json not available (HUB_SPECS_DIR)")
    with ProviderSim(provider="atlassian", clients=[CLIENT], pats={API_TOKEN: EMAIL}) as running:
        yield running


def grant(
    sim: ProviderSim, scope: str = "read:jira-work write:jira-work manage:jira-webhook offline_access"
) -> dict:
    params = {
        "client_id": CLIENT["client_id"],
        "redirect_uri": CALLBACK,
        "scope": scope,
        "state": "s1",
        "response_type": "code",
        "audience": "api.atlassian.com",
        "prompt": "consent",
    }
    authorize = httpx.get(f"{sim.url}/authorize", params=params)
    assert authorize.status_code == 302, authorize.text
    code = parse_qs(urlsplit(authorize.headers["location"]).query)["code"][0]
    token = httpx.post(
        f"{sim.url}/oauth/token",
        json={
            "grant_type": "authorization_code",
            "client_id": CLIENT["client_id"],
            "client_secret": CLIENT["client_secret"],
            "code": code,
            "redirect_uri": CALLBACK,
        },
    )
    assert token.status_code == 200, token.text
    return token.json()


def client(sim: ProviderSim, token: str) -> httpx.Client:
    return httpx.Client(base_url=sim.url, headers={"Authorization": f"Bearer {token}"}, timeout=10)


def test_authorize_without_audience_is_refused_and_refresh_tokens_rotate(sim):
    bad = httpx.get(
        f"{sim.url}/authorize",
        params={
            "client_id": CLIENT["client_id"],
            "redirect_uri": CALLBACK,
            "scope": "read:jira-work",
            "response_type": "code",
            "state": "s1",
        },
    )
    assert bad.status_code in (302, 400) and "audience" in (bad.headers.get("location", "") + bad.text)
    first = grant(sim)
    refreshed = httpx.post(
        f"{sim.url}/oauth/token",
        json={
            "grant_type": "refresh_token",
            "client_id": CLIENT["client_id"],
            "client_secret": CLIENT["client_secret"],
            "refresh_token": first["refresh_token"],
        },
    )
    assert refreshed.status_code == 200 and refreshed.json()["refresh_token"] != first["refresh_token"]
    again = httpx.post(
        f"{sim.url}/oauth/token",
        json={
            "grant_type": "refresh_token",
            "client_id": CLIENT["client_id"],
            "client_secret": CLIENT["client_secret"],
            "refresh_token": first["refresh_token"],
        },
    )
    assert again.status_code == 403 and again.json()["error"] == "invalid_grant"  # the rotated one is spent


def test_jira_through_the_cloud_id_with_spec_checks_and_paging(sim):
    token = grant(sim)["access_token"]
    with client(sim, token) as api:
        (site,) = api.get("/oauth/token/accessible-resources").json()
        assert site["id"] == CLOUD and "read:jira-work" in site["scopes"]
        base = f"/ex/jira/{CLOUD}/rest/api/3"
        assert api.get("/rest/api/3/myself").status_code == 401  # OAuth works only through /ex/jira
        assert api.get("/ex/jira/00000000-0000-4000-8000-000000000000/rest/api/3/myself").status_code == 404
        refused = api.post(f"{base}/issue", json={"fields": {"summary": "x"}})
        assert refused.status_code == 400 and refused.json()["errors"]["project"]  # Jira's error shape
        invalid = api.get(f"{base}/search/jql", params={"jql": "project = SIMP", "maxResults": "many"})
        assert invalid.status_code == 400 and "maxResults" in invalid.json()["errorMessages"][0]
        doc = {"type": "doc", "version": 1, "content": []}
        for n in range(3):
            made = api.post(
                f"{base}/issue",
                json={
                    "fields": {
                        "project": {"key": "SIMP"},
                        "summary": f"n{n}",
                        "issuetype": {"name": "Task"},
                        "description": doc,
                    }
                },
            )
            assert made.status_code == 201, made.text
        assert made.headers["X-RateLimit-Limit"] and made.headers["X-RateLimit-Reset"].endswith("Z")
        first = api.get(f"{base}/search/jql", params={"jql": "project = SIMP", "maxResults": 2}).json()
        assert len(first["issues"]) == 2 and first["isLast"] is False
        rest = api.get(
            f"{base}/search/jql",
            params={"jql": "project = SIMP", "maxResults": 2, "nextPageToken": first["nextPageToken"]},
        ).json()
        assert len(rest["issues"]) == 1 and rest["isLast"] is True and "nextPageToken" not in rest


def test_dynamic_webhooks_are_for_apps_and_deliveries_carry_a_jwt(sim):
    basic = base64.b64encode(f"{EMAIL}:{API_TOKEN}".encode()).decode()
    body = {
        "url": "http://127.0.0.1:9/x",
        "webhooks": [{"events": ["jira:issue_created"], "jqlFilter": "project = HOOK"}],
    }
    as_user = httpx.post(
        f"{sim.url}/rest/api/3/webhook", json=body, headers={"Authorization": f"Basic {basic}"}
    )
    assert as_user.status_code == 403
    token = grant(sim)["access_token"]
    with WebhookReceiver() as receiver, client(sim, token) as api:
        base = f"/ex/jira/{CLOUD}/rest/api/3"
        made = api.post(f"{base}/webhook", json={**body, "url": receiver.url}).json()
        hook_id = made["webhookRegistrationResult"][0]["createdWebhookId"]
        expiry = api.put(f"{base}/webhook/refresh", json={"webhookIds": [hook_id]}).json()["expirationDate"]
        assert expiry > 0
        api.post(f"{base}/issue", json={"fields": {"project": {"key": "OTHER"}, "summary": "filtered out"}})
        api.post(f"{base}/issue", json={"fields": {"project": {"key": "HOOK"}, "summary": "delivered"}})
        (got,) = receiver.wait_for(1)
        assert api.request("DELETE", f"{base}/webhook", json={"webhookIds": [hook_id]}).status_code == 202
    payload = json.loads(got.body)
    assert (
        payload["webhookEvent"] == "jira:issue_created"
        and payload["issue"]["fields"]["summary"] == "delivered"
    )
    assert payload["matchedWebhookIds"] == [hook_id]
    verified = verify_webhook("atlassian-jwt", CLIENT["client_secret"], got.headers, got.body)
    assert verified.delivery_id == got.headers["x-atlassian-webhook-identifier"]


def test_confluence_pages_spaces_comments_and_admin_webhooks(sim):
    token = grant(sim, "read:page:confluence write:page:confluence read:space:confluence offline_access")[
        "access_token"
    ]
    with WebhookReceiver() as receiver, client(sim, token) as api:
        hook = httpx.post(
            f"{sim.url}/_sim/atlassian/confluence-webhooks",
            json={"url": receiver.url, "secret": "typed-by-admin", "events": ["page_updated"]},
        )
        assert hook.status_code == 201
        v2 = f"/ex/confluence/{CLOUD}/wiki/api/v2"
        spaces = api.get(f"{v2}/spaces", params={"limit": 2}).json()
        assert len(spaces["results"]) == 2 and "cursor=" in spaces["_links"]["next"]
        assert len(api.get(spaces["_links"]["next"].replace("/wiki/api/v2", v2)).json()["results"]) == 1
        refused = api.post(f"{v2}/pages", json={"title": "no space"})
        assert (
            refused.status_code == 400 and refused.json()["errors"][0]["status"] == 400
        )  # Confluence's shape
        adf = json.dumps(
            {
                "type": "doc",
                "version": 1,
                "content": [{"type": "paragraph", "content": [{"type": "text", "text": "Hello"}]}],
            }
        )
        page = api.post(
            f"{v2}/pages",
            json={
                "spaceId": "98305",
                "title": "Sim",
                "body": {"representation": "atlas_doc_format", "value": adf},
            },
        ).json()
        got = api.get(f"{v2}/pages/{page['id']}", params={"body-format": "storage"}).json()
        assert got["body"]["storage"]["value"] == "<p>Hello</p>" and got["version"]["number"] == 1
        stale = {
            "id": page["id"],
            "status": "current",
            "title": "Sim",
            "version": {"number": 1},
            "body": {"representation": "atlas_doc_format", "value": adf},
        }
        assert api.put(f"{v2}/pages/{page['id']}", json=stale).status_code == 409
        assert (
            api.put(f"{v2}/pages/{page['id']}", json={**stale, "version": {"number": 2}}).status_code == 200
        )
        (delivery,) = receiver.wait_for(1)
    expected = "sha256=" + hmac.new(b"typed-by-admin", delivery.body, hashlib.sha256).hexdigest()
    assert delivery.headers["x-hub-signature"] == expected
    event = json.loads(delivery.body)
    assert event["event"] == "page_updated" and event["page"]["version"] == 2
