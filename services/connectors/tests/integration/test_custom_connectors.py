"""Custom (plugin) connectors over HTTP: Enterprise only, isolated from the event loop, bounded in
time, every call audited by an event, failures contained as error results."""

import asyncio
import uuid

import pytest

from hub_common.testing import expect_events

pytestmark = pytest.mark.component  # neighbouring services stood in (docs/testing.md)


async def create_rogue(api, headers, **extra):
    body = {
        "connector_id": "rogue",
        "name": f"rogue-{uuid.uuid4().hex[:6]}",
        "credentials": {"token": "t-1"},
        **extra,
    }
    return await api.post("/v1/connections", json=body, headers=headers)


async def test_custom_connectors_need_enterprise(api, auth, tenant):
    for tier in ("core", "writerpro", "teams"):
        resp = await create_rogue(api, auth(tenant, tier))
        assert resp.status_code == 403, resp.text
        error = resp.json()["error"]
        assert error["code"] == "feature_not_in_tier"
        assert error["details"] == {
            "current_tier": tier,
            "required_tier": "enterprise",
            "feature": "custom_connectors",
        }
    listed = (await api.get("/v1/connectors", headers=auth(tenant, "teams"))).json()["connectors"]
    rogue = next(c for c in listed if c["id"] == "rogue")
    assert (
        rogue["origin"] == "custom" and rogue["available"] is False and rogue["required_tier"] == "enterprise"
    )

    # A tenant that created one as Enterprise and then downgraded cannot run it any more.
    cid = (await create_rogue(api, auth(tenant, "enterprise"))).json()["id"]
    downgraded = auth(tenant, "teams")
    resp = await api.post(f"/v1/connections/{cid}/actions/fast", json={}, headers=downgraded)
    assert resp.status_code == 403 and resp.json()["error"]["code"] == "feature_not_in_tier"
    assert (await api.post(f"/v1/connections/{cid}/health", headers=downgraded)).status_code == 403
    assert (await api.delete(f"/v1/connections/{cid}", headers=downgraded)).status_code == 200


async def test_a_blocking_plugin_does_not_stop_other_requests_and_times_out(
    api, auth, tenant, kafka_bootstrap
):
    headers = auth(tenant, "enterprise")
    created = await create_rogue(api, headers)
    assert created.status_code == 201 and created.json()["status"] == "active", created.text
    cid = created.json()["id"]

    async with expect_events(
        kafka_bootstrap, "integration.action-executed", match=lambda d: d["connection_id"] == cid
    ) as seen:
        blocked = asyncio.create_task(
            api.post(
                f"/v1/connections/{cid}/actions/block", json={"parameters": {"seconds": 4}}, headers=headers
            )
        )
        answered = 0  # counted while the plugin sleeps on its thread (until the action timeout)
        while not blocked.done():
            assert (await api.get("/v1/license", headers=headers)).status_code == 200
            answered += 1
            await asyncio.sleep(0.05)
        resp = await blocked
    assert answered >= 5  # other requests were answered while the plugin blocked
    result = resp.json()
    assert resp.status_code == 200 and result["success"] is False and result["error_code"] == "action_timeout"
    event = seen[0].data
    assert event["action_id"] == "block" and event["result"]["error_code"] == "action_timeout"


async def test_plugin_failures_are_error_results(api, auth, tenant):
    headers = auth(tenant, "enterprise")
    cid = (await create_rogue(api, headers)).json()["id"]
    expectations = {
        "explode": ("connector_crashed", "RuntimeError: boom"),
        "exit": ("connector_crashed", "SystemExit"),
        "escape": ("host_not_allowed", "through the gateway"),
        "absolute": ("invalid_path", "relative"),
        "hang": ("action_timeout", "1s"),
    }
    for action, (code, text) in expectations.items():
        params = {"seconds": 30} if action == "hang" else {}
        resp = await api.post(
            f"/v1/connections/{cid}/actions/{action}", json={"parameters": params}, headers=headers
        )
        assert resp.status_code == 200, resp.text
        result = resp.json()
        assert result["success"] is False and result["error_code"] == code, (action, result)
        assert text in result["error_message"]
    ok = await api.post(f"/v1/connections/{cid}/actions/fast", json={}, headers=headers)
    assert ok.json() == {**ok.json(), "success": True, "data": {"ok": True}}


async def test_base_url_overrides_stay_on_declared_public_hosts(api, auth, tenant):
    headers = auth(tenant, "teams")

    async def echo_with(base_url):
        return await api.post(
            "/v1/connections",
            json={
                "connector_id": "echoapi",
                "name": f"e-{uuid.uuid4().hex[:6]}",
                "credentials": {"api_key": "good-key"},
                "config": {"base_url": base_url},
            },
            headers=headers,
        )

    ok = await echo_with("https://eu.echo.test/v2")
    assert ok.status_code == 201 and ok.json()["base_url"] == "https://eu.echo.test/v2"
    refused = (
        "https://evil.test",
        "http://127.0.0.1:8084",
        "https://api.echo.test.evil.test",
        "file:///etc/passwd",
        "https://internal.echo.test",  # declared, but the SSRF check finds no public address
    )
    for url in refused:
        resp = await echo_with(url)
        assert resp.status_code == 422 and resp.json()["error"]["code"] == "host_not_allowed", url


async def test_connector_catalogue(api, auth, tenant):
    headers = auth(tenant, "enterprise")
    body = (await api.get("/v1/connectors", headers=headers)).json()
    assert [c["id"] for c in body["connectors"]] == ["echoapi", "oauththing", "pagerlike", "rogue"]
    assert body["load_errors"] is None
    echo = (await api.get("/v1/connectors/echoapi", headers=headers)).json()
    assert echo["origin"] == "builtin" and echo["available"] is True and echo["required_tier"] == "core"
    actions = {a["id"]: a for a in echo["actions"]}
    assert actions["echo"]["parameters_schema"]["required"] == ["message"]
    assert echo["auth"]["method"] == "api_key" and echo["api"]["allowed_hosts"] == [
        "api.echo.test",
        "*.echo.test",
    ]
    missing = await api.get("/v1/connectors/nope", headers=headers)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "connector_not_found"
    with_errors = (await api.get("/v1/connectors?include_errors=true", headers=headers)).json()
    assert with_errors["load_errors"] == []
