"""The Linear simulator (``hub-sim linear``) as a real process: Linear's OAuth quirks (comma-separated
scopes, ``read`` always granted), the GraphQL endpoint (documents validated against
linear-schema.graphql before they run; a personal API key without ``Bearer``), rate-limit headers
and ``RATELIMITED``, and webhooks signed as Linear signs them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from hub_connector_linear import LinearConnector, parse_rate_limit
from hub_connector_sdk import verify_webhook
from hub_connector_sdk.testkit import parse_webhook, spec_file
from hub_e2e.receiver import WebhookReceiver
from hub_e2e.simulators.linear import sim_uuid
from hub_e2e.simulators.runner import ProviderSim

pytestmark = [pytest.mark.component, pytest.mark.timeout(300)]  # the simulator alone (docs/testing.md)
CALLBACK = "http://127.0.0.1:9/v1/oauth/callback"  # never contacted: the tests read the redirect
CLIENT = {
    "client_id": "lin-sim-client",
    "client_secret": "lin-sim-secret-0123456789",
    "redirect_uris": [CALLBACK],
}
API_KEY = "lin_api_simulatedPersonalApiKey00000000001"
TEAM = sim_uuid("team", "ENG")


@pytest.fixture(scope="module")
def sim() -> Iterator[ProviderSim]:
    if spec_file("linear-schema.graphql") is None:
        pytest.skip("linear-schema.graphql not available (HUB_SPECS_DIR)")
    with ProviderSim(provider="linear", clients=[CLIENT], pats={API_KEY: "lin-dev"}) as running:
        yield running


def graphql(
    sim: ProviderSim, query: str, variables: dict | None = None, *, auth: str = API_KEY
) -> httpx.Response:
    return httpx.post(
        f"{sim.url}/graphql",
        json={"query": query, "variables": variables or {}},
        headers={"Authorization": auth},
        timeout=30,
    )


def authorize(sim: ProviderSim, scope: str, actor: str = "app") -> httpx.Response:
    return httpx.get(
        f"{sim.url}/oauth/authorize",
        params={
            "client_id": CLIENT["client_id"],
            "redirect_uri": CALLBACK,
            "scope": scope,
            "state": "s1",
            "response_type": "code",
            "actor": actor,
        },
    )


def test_hub_sim_describes_itself(sim):
    info = sim.info()
    assert info["provider"] == "linear" and info["spec_checked"] is True
    assert info["token_endpoint"].endswith("/oauth/token")
    assert info["webhook_events"] == {"Issue": ["create", "update"], "Comment": ["create"]}


def test_oauth_takes_comma_separated_scopes_grants_read_and_rotates_refresh_tokens(sim):
    asked = authorize(sim, "write,admin")
    assert asked.status_code == 302, asked.text
    code = parse_qs(urlsplit(asked.headers["location"]).query)["code"][0]
    token = httpx.post(
        f"{sim.url}/oauth/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": CALLBACK,
            "client_id": CLIENT["client_id"],
            "client_secret": CLIENT["client_secret"],
        },
    )
    assert token.status_code == 200, token.text
    body = token.json()
    assert body["access_token"].startswith("lin_oauth_") and body["refresh_token"].startswith("lin_refresh_")
    assert set(body["scope"].split(" ")) == {"read", "write", "admin"}
    viewer = graphql(sim, "query { viewer { id name } }", auth=f"Bearer {body['access_token']}")
    assert viewer.status_code == 200 and viewer.json()["data"]["viewer"]["name"] == "Sim User"
    # Refresh tokens rotate (new apps since late 2025): the old one is spent once used.
    refresh = {"client_id": CLIENT["client_id"], "client_secret": CLIENT["client_secret"]}
    renewed = httpx.post(
        f"{sim.url}/oauth/token",
        data={**refresh, "grant_type": "refresh_token", "refresh_token": body["refresh_token"]},
    )
    assert renewed.status_code == 200, renewed.text
    assert renewed.json()["refresh_token"] not in (None, body["refresh_token"])
    replayed = httpx.post(
        f"{sim.url}/oauth/token",
        data={**refresh, "grant_type": "refresh_token", "refresh_token": body["refresh_token"]},
    )
    assert replayed.status_code == 400 and replayed.json()["error"] == "invalid_grant"
    robot = authorize(sim, "read", actor="robot")  # Linear's actor is user or app
    assert "error=invalid_request" in robot.headers.get("location", ""), robot.headers
    spaced = authorize(sim, "read write")  # space-separated is not Linear's format
    assert "error=invalid_scope" in spaced.headers.get("location", ""), spaced.headers


def test_credentials_linear_refuses(sim):
    nobody = graphql(sim, "query { viewer { id } }", auth="lin_api_unknownKey0000000000000000")
    assert nobody.status_code == 401
    assert nobody.json()["errors"][0]["extensions"]["code"] == "AUTHENTICATION_ERROR"
    # A personal API key goes without "Bearer"; with it, it is taken for an (unknown) OAuth token.
    assert graphql(sim, "query { viewer { id } }", auth=f"Bearer {API_KEY}").status_code == 401


def test_documents_are_validated_against_the_schema_before_they_run(sim):
    bad = graphql(sim, "query { viewer { nickname } }")
    assert bad.status_code == 400
    error = bad.json()["errors"][0]
    assert error["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED" and "nickname" in error["message"]
    wrong_type = graphql(
        sim,
        "mutation($input: IssueCreateInput!) { issueCreate(input: $input) { success } }",
        {"input": {"teamId": TEAM, "title": "x", "priority": "urgent"}},
    )
    assert wrong_type.status_code == 400 and "priority" in json.dumps(wrong_type.json())


def test_a_mutation_and_a_query_with_rate_limit_headers(sim):
    created = graphql(
        sim,
        "mutation($input: IssueCreateInput!) { issueCreate(input: $input) { issue { id identifier } } }",
        {"input": {"teamId": TEAM, "title": "From the simulator test"}},
    )
    assert created.status_code == 200, created.text
    issue = created.json()["data"]["issueCreate"]["issue"]
    assert issue["identifier"].startswith("ENG-")
    limits = parse_rate_limit(created.headers)
    assert limits.requests.limit == 1500 and limits.requests.remaining is not None
    assert limits.complexity.limit == 250_000 and limits.requests.reset_ms and limits.query_complexity
    missing = graphql(sim, "query($id: String!) { issue(id: $id) { id } }", {"id": "ENG-99999"})
    assert missing.status_code == 200 and missing.json()["data"] is None
    assert missing.json()["errors"][0]["message"] == "Entity not found: Issue"


def test_a_spent_budget_is_ratelimited(sim):
    httpx.post(f"{sim.url}/_sim/linear/rate-limit", json={"requests": 1}).raise_for_status()
    try:
        assert graphql(sim, "query { viewer { id } }").status_code == 200
        limited = graphql(sim, "query { viewer { id } }")
        assert limited.status_code == 400
        assert limited.json()["errors"][0]["extensions"]["code"] == "RATELIMITED"
        assert limited.headers["X-RateLimit-Requests-Remaining"] == "0"
    finally:
        httpx.post(f"{sim.url}/_sim/linear/rate-limit", json={"requests": 1500}).raise_for_status()


def test_sim_webhooks_are_signed_as_linear_signs_them(sim):
    secret = "lin_wh_simulatorTestSecret"
    with WebhookReceiver() as receiver:
        sent = sim.send_webhook("Issue", receiver.url, action="update", secret=secret, state="In Progress")
        assert sent["status_code"] == 200, sent
        (got,) = receiver.wait_for(1)
    verify_webhook("linear", secret, got.headers, got.body)  # raises unless signed and fresh
    assert got.headers["linear-event"] == "Issue" and got.headers["linear-delivery"] == sent["guid"]
    fired = {f.trigger_id: f for f in parse_webhook(LinearConnector, got.body, headers=got.headers)}
    assert set(fired) == {"issue_updated", "status_changed"}
    assert fired["status_changed"].payload["status"]["to_state_name"] == "In Progress"
