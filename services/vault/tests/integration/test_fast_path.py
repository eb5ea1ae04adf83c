"""The raw-ASGI credential path answers exactly as the FastAPI routes it stands in front of.

A canonical connection id (``str(uuid)``) is served by the fast path; the same id spelled as 32
hex digits is not (it only matches the FastAPI route), so each pair below asks both paths the
same question and compares the answers.
"""

import uuid

import httpx
import pytest

from hub_common.testing.tracing import trace_id_for, traced

pytestmark = pytest.mark.integration

ROUTE = "/v1/tenants/{tenant_id}/connections/{connection_id}/credentials/{key}"


def _both(tenant: str, connection: uuid.UUID, key: str) -> tuple[str, str]:
    base = f"/v1/tenants/{tenant}/connections/"
    return f"{base}{connection}/credentials/{key}", f"{base}{connection.hex}/credentials/{key}"


def _without_request_id(response: httpx.Response) -> dict:
    body = response.json()
    if "error" in body:
        assert body["error"].pop("request_id") == response.headers["x-request-id"]
    return body


async def test_read_and_write_answers_match_the_fastapi_routes(shared_vault, tenant):
    connection = uuid.uuid4()
    fast, reference = _both(tenant, connection, "access_token")
    async with shared_vault.http("oauth") as oauth:
        created = await oauth.put(fast, json={"value": "gho_fast_1"})
        assert created.status_code == 201
        replaced = await oauth.put(reference, json={"value": "gho_fast_2", "expected_version": 1})
        assert replaced.status_code == 200
        by_fast, by_reference = await oauth.get(fast), await oauth.get(reference)
        assert by_fast.status_code == by_reference.status_code == 200
        assert by_fast.json() == by_reference.json()
        assert by_fast.json()["value"] == "gho_fast_2" and by_fast.json()["version"] == 2
        assert by_fast.headers["content-type"] == by_reference.headers["content-type"]
        again = await oauth.put(fast, json={"value": "gho_fast_3", "expected_version": 2})
        assert again.status_code == 200
        meta = again.json()
        assert set(meta) == set(created.json()) and meta["version"] == 3
        assert meta["connection_id"] == str(connection) and "value" not in meta


@pytest.mark.parametrize(
    "service, method, key, body",
    [
        ("oauth", "GET", "access_token", None),  # not found
        ("gateway", "PUT", "access_token", {"value": "x"}),  # policy denied
        ("webhooks", "GET", "access_token", None),  # policy denied
        ("oauth", "PUT", "refresh_token", {"value": "r", "expected_version": 4}),  # conflict
    ],
)
async def test_errors_match_the_fastapi_routes(shared_vault, tenant, service, method, key, body):
    fast, reference = _both(tenant, uuid.uuid4(), key)
    async with shared_vault.http(service) as client:
        answers = [await client.request(method, url, json=body) for url in (fast, reference)]
    assert answers[0].status_code == answers[1].status_code >= 400
    assert _without_request_id(answers[0]) == _without_request_id(answers[1])


async def test_missing_and_bad_tokens_are_401_on_both(shared_vault):
    fast, reference = _both("t1", uuid.uuid4(), "api_key")
    for authorization in (None, "Bearer not-a-token", "Basic abc"):
        headers = {"authorization": authorization} if authorization else {}
        async with httpx.AsyncClient(base_url=shared_vault.url, headers=headers) as anonymous:
            answers = [await anonymous.get(url) for url in (fast, reference)]
        assert answers[0].status_code == answers[1].status_code == 401
        assert _without_request_id(answers[0]) == _without_request_id(answers[1])
        assert answers[0].headers.get("www-authenticate") == answers[1].headers.get("www-authenticate")


@pytest.mark.parametrize(
    "content, content_type",
    [
        (b'{"value": "x", "extra": 1}', "application/json"),
        (b'{"value": true}', "application/json"),
        (b'{"value": "x", "expected_version": true}', "application/json"),
        (b'{"value": "x", "expected_version": -1}', "application/json"),
        (b"[1, 2]", "application/json"),
        (b"{not json", "application/json"),
        (b'{"value": "x"}', "text/plain"),
    ],
)
async def test_bodies_it_does_not_serve_get_the_routes_answer(shared_vault, tenant, content, content_type):
    connection = uuid.uuid4()
    fast, reference = _both(tenant, connection, "api_key")
    async with shared_vault.http("oauth") as oauth:
        headers = {"content-type": content_type}
        answers = [await oauth.put(url, content=content, headers=headers) for url in (fast, reference)]
        assert answers[0].status_code == answers[1].status_code
        assert _without_request_id(answers[0]) == _without_request_id(answers[1])
        assert (await oauth.get(fast)).status_code in (200, 404)


async def test_request_id_metrics_and_chunked_bodies(shared_vault, tenant):
    fast, _ = _both(tenant, uuid.uuid4(), "api_key")
    async with shared_vault.http("oauth") as oauth:
        echoed = await oauth.put(fast, json={"value": "k1"}, headers=traced("req-fast-1"))
        assert echoed.headers["x-request-id"] == trace_id_for("req-fast-1")
        unsafe = await oauth.get(fast, headers={"x-request-id": "bad id\twith space"})
        assert unsafe.headers["x-request-id"] != "bad id\twith space"
        assert len(unsafe.headers["x-request-id"]) == 32

        async def chunks():
            yield b'{"value": '
            yield b'"chunked-value"}'

        chunked = await oauth.put(fast, content=chunks(), headers={"content-type": "application/json"})
        assert chunked.status_code == 200
        assert (await oauth.get(fast)).json()["value"] == "chunked-value"
        metrics = (await oauth.get("/metrics")).text
    served = [
        line
        for line in metrics.splitlines()
        if line.startswith("hub_http_request_duration_seconds_count{") and ROUTE in line
    ]
    assert any('method="PUT"' in line and 'status="201"' in line for line in served)
    assert any('method="GET"' in line and 'status="200"' in line for line in served)


@pytest.mark.parametrize("order", ["junk-first", "valid-first"])
async def test_a_repeated_authorization_is_read_the_same_way_by_both_paths(shared_vault, tenant, order):
    connection = uuid.uuid4()
    fast, routed = _both(tenant, connection, "access_token")
    valid = shared_vault.headers("oauth")["Authorization"]
    pair = [("authorization", "Bearer junk"), ("authorization", valid)]
    headers = pair if order == "junk-first" else pair[::-1]
    async with shared_vault.http("oauth") as oauth:
        assert (await oauth.put(fast, json={"value": "v"})).status_code == 201
    async with httpx.AsyncClient(base_url=shared_vault.url, timeout=10) as raw:
        answers = [(await raw.get(path, headers=headers)) for path in (fast, routed)]
    assert answers[0].status_code == answers[1].status_code
    assert _without_request_id(answers[0]) == _without_request_id(answers[1])
