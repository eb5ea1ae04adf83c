import json
from typing import Any

import httpx
import pytest

from hub_connector_sdk import ConnectorError, CredentialsRejected, ProviderClient, ProviderError, segment
from hub_connector_sdk.client import safe_path

pytestmark = pytest.mark.unit


def _client(handler: Any, **kw: Any) -> ProviderClient:
    return ProviderClient(
        gateway_url="http://gateway.test/",
        connection_id="conn_1",
        transport=httpx.MockTransport(handler),
        **kw,
    )


# -- path safety --
@pytest.mark.parametrize(
    "path",
    [
        "https://evil.test/x",
        "http://evil.test",
        "//evil.test/x",
        "evil.test:443//x",
        "x:run",
        "/javascript:alert(1)",
        "\\\\evil.test\\share",
    ],
)
def test_absolute_urls_and_schemes_are_refused(path: str) -> None:
    with pytest.raises(ConnectorError) as caught:
        safe_path(path)
    assert caught.value.code == "invalid_path"


@pytest.mark.parametrize(
    "path",
    [
        "../admin",
        "repos/../../admin",
        "a/./b",
        "a/%2e%2e/b",
        "a/%2E%2E/b",
        "a/.%2e/b",
        "a/..%2fadmin",
        "a/..%2Fadmin",
        "a/%252e%252e/b",
        "a/..%5cadmin",
        "a/..",
    ],
)
def test_traversal_is_refused_even_when_encoded(path: str) -> None:
    with pytest.raises(ConnectorError, match="path traversal"):
        safe_path(path)


@pytest.mark.parametrize(
    "path",
    [
        "repos/acme/app/issues",
        "/repos/acme/app/issues?state=open",
        "projects/group%2Fproject/issues",
        "chat.postMessage",
        "repos/acme/app/compare/main...feature",
        "v1/projects/p:run",
        "search?url=https://example.test",
        "files/.well-known",
    ],
)
def test_ordinary_paths_pass(path: str) -> None:
    assert safe_path(path) == path.lstrip("/")


def test_segment_encodes_user_input_as_one_segment() -> None:
    assert segment("group/project") == "group%2Fproject"
    assert segment("../x") == "..%2Fx"
    assert segment(42) == "42"
    with pytest.raises(ConnectorError):
        safe_path(f"repos/{segment('..')}/x")  # a bare '..' stays a dot segment: refused


async def test_a_refused_path_never_reaches_the_gateway() -> None:
    seen: list[httpx.Request] = []
    async with _client(lambda r: seen.append(r) or httpx.Response(200)) as client:
        with pytest.raises(ConnectorError):
            await client.get("https://evil.test/steal")
    assert seen == []


# -- the gateway path --
async def test_requests_go_to_the_connections_proxy_path() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(201, json={"id": 1})

    async with _client(handler, headers=lambda: {"X-Hub-Service": "connectors"}) as client:
        resp = await client.post("/repos/a/b/issues", json={"title": "t"}, idempotency_key="k1")

    assert resp.status_code == 201 and resp.json() == {"id": 1} and resp.ok
    (request,) = seen
    assert str(request.url) == "http://gateway.test/v1/proxy/conn_1/repos/a/b/issues"
    assert request.headers["x-hub-service"] == "connectors"
    assert request.headers["idempotency-key"] == "k1"
    assert json.loads(request.content) == {"title": "t"}


# -- error mapping --
async def _error_for(status: int, body: Any = None, *, text: str | None = None) -> ProviderError:
    def handler(_: httpx.Request) -> httpx.Response:
        if text is not None:
            return httpx.Response(status, text=text)
        return httpx.Response(status, json=body)

    async with _client(handler) as client:
        with pytest.raises(ProviderError) as caught:
            await client.get("thing")
    return caught.value


async def test_401_means_the_credentials_were_rejected() -> None:
    error = await _error_for(401, {"message": "Bad credentials"})

    assert isinstance(error, CredentialsRejected)
    assert (error.code, error.status_code, error.message) == ("credentials_rejected", 401, "Bad credentials")


async def test_an_openai_style_error_object_is_still_the_providers_401() -> None:
    body = {
        "error": {"message": "Incorrect API key", "type": "invalid_request_error", "code": "invalid_api_key"}
    }

    error = await _error_for(401, body)

    assert isinstance(error, CredentialsRejected)


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (403, "provider_forbidden"),
        (404, "provider_not_found"),
        (409, "provider_conflict"),
        (422, "provider_rejected"),
        (429, "provider_rate_limited"),
        (500, "provider_error"),
        (502, "provider_error"),
    ],
)
async def test_status_codes_map_to_error_codes(status: int, code: str) -> None:
    error = await _error_for(status, {"error": "nope"})

    assert not isinstance(error, CredentialsRejected)
    assert (error.code, error.status_code, error.message) == (code, status, "nope")


async def test_the_gateways_own_error_body_keeps_its_code() -> None:
    body = {"error": {"code": "rate_limited", "message": "connection over its limit", "details": {}}}

    error = await _error_for(429, body)

    assert (error.code, error.message, error.status_code) == (
        "rate_limited",
        "connection over its limit",
        429,
    )


async def test_a_gateway_401_is_not_mistaken_for_rejected_credentials() -> None:
    body = {"error": {"code": "unauthorized", "message": "service token expired", "details": {}}}

    error = await _error_for(401, body)

    assert not isinstance(error, CredentialsRejected)
    assert error.code == "unauthorized"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"message": "Validation Failed"}, "Validation Failed"),
        ({"error_description": "token expired"}, "token expired"),
        ({"errorMessages": ["Issue does not exist"]}, "Issue does not exist"),
        ({"error": ["Name can't be blank"]}, "Name can't be blank"),
        ({"unrelated": 1}, "provider answered 400"),
    ],
)
async def test_provider_messages_are_found_in_common_shapes(body: Any, message: str) -> None:
    assert (await _error_for(400, body)).message == message


async def test_a_non_json_error_body() -> None:
    error = await _error_for(503, text="<html>down</html>")

    assert (error.code, error.message) == ("provider_error", "provider answered 503")


async def test_raise_for_status_false_returns_the_answer() -> None:
    async with _client(lambda _: httpx.Response(404, json={"message": "no"})) as client:
        resp = await client.get("x", raise_for_status=False)
    assert resp.status_code == 404 and not resp.ok


async def test_timeouts_and_unreachable_gateway() -> None:
    def timeout(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    def refused(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    async with _client(timeout) as client:
        with pytest.raises(ProviderError) as slow:
            await client.get("x")
    async with _client(refused) as client:
        with pytest.raises(ProviderError) as down:
            await client.get("x")

    assert slow.value.code == "provider_timeout"
    assert down.value.code == "gateway_unreachable"
    assert "ConnectError" in down.value.message


async def test_graphql_errors_become_provider_errors() -> None:
    body = {"errors": [{"message": "Rate limited", "extensions": {"code": "RATELIMITED"}}]}
    async with _client(lambda _: httpx.Response(200, json=body)) as client:
        with pytest.raises(ProviderError) as caught:
            await client.graphql("graphql", "query { viewer { id } }")
    assert (caught.value.code, caught.value.message) == ("ratelimited", "Rate limited")

    async with _client(lambda _: httpx.Response(200, json={"data": {"viewer": {"id": "u1"}}})) as client:
        assert await client.graphql("graphql", "query { viewer { id } }") == {"viewer": {"id": "u1"}}
