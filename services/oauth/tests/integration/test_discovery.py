"""RFC 8414 discovery: the metadata's endpoints get the same SSRF check as the issuer."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from hub_oauth.adapters.provider_http import ProviderOAuthClient

from .test_flows import authorize, setup_connection, start

pytestmark = pytest.mark.component  # neighbouring services stood in (docs/testing.md)

ISSUER = "http://127.0.0.1:9"  # allow-listed by the suite's settings; never dialled
INTERNAL = "https://169.254.169.254/latest/meta-data"  # not public, not allow-listed


def _metadata(**changes: str) -> dict[str, str]:
    return {
        "issuer": ISSUER,
        "authorization_endpoint": f"{ISSUER}/authorize",
        "token_endpoint": f"{ISSUER}/token",
        "revocation_endpoint": f"{ISSUER}/revoke",
        **changes,
    }


def _provider(metadata: dict[str, str]) -> ProviderOAuthClient:
    def answer(request: httpx.Request) -> httpx.Response:
        assert str(request.url) == f"{ISSUER}/.well-known/oauth-authorization-server"
        return httpx.Response(200, json=metadata)

    return ProviderOAuthClient(attempts=1, transport=httpx.MockTransport(answer))


async def test_a_flow_through_discovery(oauth, directory, simulator, tenant, user_headers):
    cid = await setup_connection(oauth, directory, simulator, tenant, user_headers, issuer=simulator.url)
    flow = await start(oauth, user_headers, cid)
    assert flow["authorization_url"].startswith(f"{simulator.url}/authorize?")
    done = await oauth.get("/v1/oauth/callback", params=await authorize(flow["authorization_url"]))
    assert done.status_code == 200, done.text


async def test_a_present_iss_is_checked_even_when_the_provider_does_not_promise_one(
    oauth_runner, settings, directory, oauth_dsn, simulator, tenant, user_headers
):
    # Metadata without RFC 9207's flag: iss is not required, and none is stored for the flow...
    metadata = _metadata(authorization_response_iss_parameter_supported=False)
    async with oauth_runner(settings, directory, oauth_dsn, _provider(metadata)) as oauth:
        cid = await setup_connection(oauth, directory, simulator, tenant, user_headers, issuer=ISSUER)
        flow = await start(oauth, user_headers, cid)
        state = parse_qs(urlsplit(flow["authorization_url"]).query)["state"][0]
        # ... but one that names another issuer is a mix-up: refused, and the code is never sent
        # (the provider here answers nothing but its metadata).
        mixed = await oauth.get(
            "/v1/oauth/callback", params={"code": "c", "state": state, "iss": "https://evil.example"}
        )
    assert mixed.status_code == 400, mixed.text
    assert mixed.json()["error"]["code"] == "issuer_mismatch"


@pytest.mark.parametrize("field", ["authorization_endpoint", "token_endpoint", "revocation_endpoint"])
async def test_an_internal_endpoint_in_the_metadata_is_refused(
    oauth_runner, settings, directory, oauth_dsn, simulator, tenant, user_headers, field
):
    async with oauth_runner(
        settings, directory, oauth_dsn, _provider(_metadata(**{field: INTERNAL}))
    ) as oauth:
        cid = await setup_connection(oauth, directory, simulator, tenant, user_headers, issuer=ISSUER)
        resp = await oauth.post("/v1/oauth/flows", headers=user_headers, json={"connection_id": str(cid)})
    assert resp.status_code == 400, resp.text
    error = resp.json()["error"]
    assert error["code"] == "discovery_endpoint_not_allowed"
    assert error["details"] == {"endpoint": field, "host": "169.254.169.254"}


async def test_allowed_metadata_endpoints_are_used(
    oauth_runner, settings, directory, oauth_dsn, simulator, tenant, user_headers
):
    async with oauth_runner(settings, directory, oauth_dsn, _provider(_metadata())) as oauth:
        cid = await setup_connection(oauth, directory, simulator, tenant, user_headers, issuer=ISSUER)
        flow = await start(oauth, user_headers, cid)
    assert flow["authorization_url"].startswith(f"{ISSUER}/authorize?")


async def test_an_endpoint_that_does_not_resolve_is_a_502_to_retry_not_a_refusal(
    oauth_runner, settings, directory, oauth_dsn, simulator, tenant, user_headers
):
    unresolvable = "https://no-such-host.invalid/token"  # .invalid never resolves (RFC 6761)
    async with oauth_runner(
        settings, directory, oauth_dsn, _provider(_metadata(token_endpoint=unresolvable))
    ) as oauth:
        cid = await setup_connection(oauth, directory, simulator, tenant, user_headers, issuer=ISSUER)
        resp = await oauth.post("/v1/oauth/flows", headers=user_headers, json={"connection_id": str(cid)})
    assert resp.status_code == 502, resp.text
    error = resp.json()["error"]
    assert error["code"] == "discovery_failed" and error["details"] == {"endpoint": "token_endpoint"}


async def test_the_api_exchange_checks_iss_as_the_callback_does(
    oauth, directory, simulator, tenant, user_headers
):
    simulator.update_settings(iss_parameter=True)  # the metadata now promises iss (RFC 9207)
    try:
        cid = await setup_connection(oauth, directory, simulator, tenant, user_headers, issuer=simulator.url)
        # An API client that drops iss from the authorization response: a mix-up is not ruled out.
        flow = await start(oauth, user_headers, cid, browser=False)
        answer = await authorize(flow["authorization_url"])
        assert answer["iss"] == simulator.url
        refused = await oauth.post(
            f"/v1/oauth/flows/{flow['flow_id']}/exchange", headers=user_headers, json={"code": answer["code"]}
        )
        assert refused.status_code == 400 and refused.json()["error"]["code"] == "issuer_mismatch"
        # One that passes it on connects.
        flow = await start(oauth, user_headers, cid, browser=False)
        answer = await authorize(flow["authorization_url"])
        done = await oauth.post(
            f"/v1/oauth/flows/{flow['flow_id']}/exchange",
            headers=user_headers,
            json={"code": answer["code"], "iss": answer["iss"]},
        )
        assert done.status_code == 200, done.text
        assert done.json()["connection_id"] == str(cid) and done.json()["status"] == "active"
        # The flow is spent: the same code cannot be exchanged twice.
        again = await oauth.post(
            f"/v1/oauth/flows/{flow['flow_id']}/exchange",
            headers=user_headers,
            json={"code": answer["code"], "iss": answer["iss"]},
        )
        assert again.status_code in (400, 404, 409, 410), again.text
    finally:
        simulator.update_settings(iss_parameter=False)
