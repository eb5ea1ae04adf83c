import json
from pathlib import Path

import httpx
import pytest

from hub_connector_sdk import ProviderClient, ProviderError
from hub_connector_sdk.testkit import GatewayStub, OpenApiSpec, SpecViolation, StubRequest, UnexpectedRequest

pytestmark = pytest.mark.unit


async def test_routes_answer_with_json_handlers_and_status() -> None:
    stub = GatewayStub()
    stub.route("GET", "/pages/{page_id}", {"id": "p1"})
    stub.route("POST", "/pages/{page_id}/incidents", lambda req: (201, {"page": req.path_params["page_id"]}))
    stub.route("DELETE", "/pages/{page_id}/subscribers/{sid}", status=204)

    async with stub.client() as client:
        page = await client.get("pages/p1")
        created = await client.post("pages/p%201/incidents", json={})
        deleted = await client.delete("pages/p1/subscribers/s1")

    assert page.json() == {"id": "p1"}
    assert created.status_code == 201 and created.json() == {"page": "p 1"}  # placeholders are decoded
    assert deleted.status_code == 204 and deleted.content == b""


async def test_literal_routes_win_over_placeholders() -> None:
    stub = GatewayStub()
    stub.route("GET", "/incidents/{incident_id}", {"kind": "one"})
    stub.route("GET", "/incidents/unresolved", {"kind": "unresolved"})

    async with stub.client() as client:
        assert (await client.get("incidents/unresolved")).json() == {"kind": "unresolved"}
        assert (await client.get("incidents/i1")).json() == {"kind": "one"}


async def test_answers_queue_per_route_and_the_last_repeats() -> None:
    stub = GatewayStub()
    stub.route("GET", "/n", {"n": 1})
    stub.route("GET", "/n", {"n": 2})

    async with stub.client() as client:
        seen = [(await client.get("n")).json()["n"] for _ in range(3)]

    assert seen == [1, 2, 2]


async def test_calls_are_recorded_for_assertions() -> None:
    stub = GatewayStub().route(
        "POST", "/items", status=201, json={"ok": True}, headers={"x-ratelimit-remaining": "3"}
    )

    async with stub.client() as client:
        resp = await client.post("items", params={"dry": "true"}, json={"a": 1})

    assert resp.headers["x-ratelimit-remaining"] == "3"
    (call,) = stub.calls_to("POST", "/items")
    assert isinstance(call, StubRequest)
    assert (call.path, call.param("dry"), call.json) == ("/items", "true", {"a": 1})
    assert stub.calls_to("GET") == []


async def test_an_unrouted_request_lists_the_routes() -> None:
    stub = GatewayStub().route("GET", "/pages/{page_id}", {})

    async with stub.client() as client:
        with pytest.raises(UnexpectedRequest) as caught:
            await client.get("pages/p1/components")

    assert "no route for GET /pages/p1/components" in str(caught.value)
    assert "GET /pages/{page_id}" in str(caught.value)


async def test_a_connector_sending_credentials_is_caught() -> None:
    stub = GatewayStub().route("GET", "/me", {})

    async with stub.client() as client:
        with pytest.raises(UnexpectedRequest, match="connectors never hold credentials"):
            await client.get("me", headers={"Authorization": "Bearer oops"})


async def test_a_request_bypassing_the_proxy_path_is_caught() -> None:
    stub = GatewayStub(connection_id="c1")
    client = ProviderClient(gateway_url="http://gateway.test", connection_id="someone_else", transport=stub)

    async with client:
        with pytest.raises(UnexpectedRequest, match="does not go through the gateway"):
            await client.get("me")


async def test_gateway_errors_look_like_the_gateways() -> None:
    stub = GatewayStub().gateway_error("GET", "/me", status=429, code="rate_limited", message="slow down")

    async with stub.client() as client:
        with pytest.raises(ProviderError) as caught:
            await client.get("me")

    assert (caught.value.code, caught.value.message, caught.value.status_code) == (
        "rate_limited",
        "slow down",
        429,
    )


async def test_unrouted_requests_fall_back_to_a_cassette(tmp_path: Path) -> None:
    cassette = tmp_path / "c.json"
    cassette.write_text(
        json.dumps(
            {
                "version": 1,
                "interactions": [
                    {
                        "request": {"method": "GET", "path": "/recorded"},
                        "response": {"status": 200, "json": [1]},
                    }
                ],
            }
        )
    )
    stub = GatewayStub(cassette=cassette).route("GET", "/routed", {"from": "route"})

    async with stub.client() as client:
        assert (await client.get("routed")).json() == {"from": "route"}
        assert (await client.get("recorded")).json() == [1]


async def test_every_request_is_checked_against_a_spec() -> None:
    spec = OpenApiSpec(
        {
            "openapi": "3.0.3",
            "info": {"title": "Mini"},
            "paths": {
                "/items": {
                    "post": {
                        "requestBody": {
                            "required": True,
                            "content": {
                                "application/json": {
                                    "schema": {"type": "object", "required": ["name"]},
                                }
                            },
                        }
                    }
                }
            },
        }
    )
    stub = GatewayStub(spec=spec).route("POST", "/items", status=201)

    async with stub.client() as client:
        assert (await client.post("items", json={"name": "x"})).status_code == 201
        with pytest.raises(SpecViolation, match="body/name: 'name' is a required property"):
            await client.post("items", json={})


async def test_an_httpx_response_is_passed_through() -> None:
    stub = GatewayStub().route("GET", "/raw", lambda _: httpx.Response(418, text="teapot"))

    async with stub.client() as client:
        resp = await client.get("raw", raise_for_status=False)

    assert (resp.status_code, resp.content) == (418, b"teapot")
