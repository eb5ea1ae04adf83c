"""Credential injection per auth method, from the real vault, as the provider receives it."""

from __future__ import annotations

import base64

import pytest

pytestmark = pytest.mark.component  # neighbouring services stood in (docs/testing.md)


async def test_api_key_in_header_with_prefix_and_caller_authorization_never_forwarded(hub, tenant):
    cid = await hub.connect(
        tenant,
        secrets={"api_key": "sk-ant-secret-key-0001"},
        api_key={"location": "header", "name": "x-api-key", "prefix": ""},
    )
    resp = await hub.http.get(
        hub.proxy(hub.a, cid, "v1/models?limit=2"),
        headers={**hub.user_headers(tenant), "X-Api-Key": "caller-tries-its-own"},
    )
    assert resp.status_code == 200, resp.text
    seen = hub.sim.seen("/v1/models")[-1]
    assert seen.raw_path == "/v1/models?limit=2"
    assert seen.header("x-api-key") == "sk-ant-secret-key-0001"
    assert [n for n, _ in seen.headers if n.lower() == "x-api-key"] == ["x-api-key"]
    assert seen.header("authorization") is None


async def test_api_key_in_query_replaces_a_callers_value(hub, tenant):
    cid = await hub.connect(
        tenant,
        secrets={"api_key": "k/with+chars"},
        api_key={"location": "query", "name": "key", "prefix": ""},
    )
    resp = await hub.http.get(
        hub.proxy(hub.a, cid, "search?q=x&key=forged"), headers=hub.user_headers(tenant)
    )
    assert resp.status_code == 200, resp.text
    seen = hub.sim.seen("/search")[-1]
    assert seen.raw_path == "/search?q=x&key=k%2Fwith%2Bchars"


async def test_oauth_bearer(hub, tenant):
    cid = await hub.connect(
        tenant, method="oauth2", secrets={"access_token": "gho_oauthtoken000000000000000001"}
    )
    resp = await hub.http.get(hub.proxy(hub.b, cid, "user"), headers=hub.service_headers(tenant))
    assert resp.status_code == 200, resp.text
    assert hub.sim.seen("/user")[-1].header("authorization") == "Bearer gho_oauthtoken000000000000000001"


async def test_basic(hub, tenant):
    cid = await hub.connect(
        tenant,
        method="basic",
        secrets={"basic_username": "me@example.com", "basic_password": "ATATT-pass:word"},
    )
    resp = await hub.http.get(hub.proxy(hub.a, cid, "rest/api/3/myself"), headers=hub.user_headers(tenant))
    assert resp.status_code == 200, resp.text
    expected = base64.b64encode(b"me@example.com:ATATT-pass:word").decode()
    assert hub.sim.seen("/rest/api/3/myself")[-1].header("authorization") == f"Basic {expected}"


async def test_bearer(hub, tenant):
    cid = await hub.connect(tenant, method="bearer", secrets={"bearer_token": "plain-bearer-token-1"})
    resp = await hub.http.post(
        hub.proxy(hub.a, cid, "things"), json={"a": 1}, headers=hub.user_headers(tenant)
    )
    assert resp.status_code == 200, resp.text
    seen = hub.sim.seen("/things")[-1]
    assert seen.header("authorization") == "Bearer plain-bearer-token-1"
    assert seen.body == b'{"a":1}' or seen.body == b'{"a": 1}'


async def test_custom_field_api_key_and_provider_default_headers(hub, tenant):
    cid = await hub.connect(
        tenant,
        secrets={"api_key": "ntn_notiontoken"},
        fields=[{"key": "token", "label": "Token"}],
        api_key={"location": "header", "name": "Authorization", "prefix": "Bearer "},
        default_headers={"Notion-Version": "2022-06-28", "Accept": "application/json"},
    )
    resp = await hub.http.get(
        hub.proxy(hub.a, cid, "v1/users/me"),
        headers={**hub.user_headers(tenant), "Accept": "application/vnd.custom+json"},
    )
    assert resp.status_code == 200, resp.text
    seen = hub.sim.seen("/v1/users/me")[-1]
    assert seen.header("authorization") == "Bearer ntn_notiontoken"
    assert seen.header("notion-version") == "2022-06-28"
    assert seen.header("accept") == "application/vnd.custom+json"  # the caller's choice wins


async def test_github_style_defaults_and_template_base_url(hub, tenant):
    cid = await hub.connect(
        tenant,
        method="oauth2",
        secrets={"access_token": "ghu_tokentokentokentokentoken0001"},
        base_url="https://api.atlassian.com",
        base_url_template=hub.sim.url + "/ex/jira/{cloud_id}",
        config={"cloud_id": "c-123"},
        allowed_hosts=[f"127.0.0.1:{hub.sim.port}"],
        default_headers={"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28"},
    )
    resp = await hub.http.get(hub.proxy(hub.a, cid, "rest/api/3/issue/X-1"), headers=hub.user_headers(tenant))
    assert resp.status_code == 200, resp.text
    seen = hub.sim.seen("/ex/jira/c-123/rest/api/3/issue/X-1")[-1]
    assert seen.header("accept") == "application/vnd.github+json"
    assert seen.header("x-github-api-version") == "2022-11-28"


async def test_missing_credential_is_a_clear_error(hub, tenant):
    cid = await hub.connect(tenant, method="bearer")
    resp = await hub.http.get(hub.proxy(hub.a, cid, "x"), headers=hub.user_headers(tenant))
    assert resp.status_code == 409
    assert resp.json()["error"]["code"] == "credentials_missing"
