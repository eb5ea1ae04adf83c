import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from hub_connector_sdk import ProviderClient
from hub_connector_sdk.testkit import (
    REDACTED,
    CassetteMismatch,
    DirectProviderTransport,
    RecordReplayTransport,
)

pytestmark = pytest.mark.unit
API_KEY = "sp-live-9f8e7d6c5b4a"


def _provider(seen: list[httpx.Request]) -> httpx.MockTransport:
    """A fake provider that echoes what it was sent (including the credential, as some do)."""

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        body = json.loads(request.content) if request.content else None
        return httpx.Response(
            201 if request.method == "POST" else 200,
            json={
                "path": request.url.path,
                "sent": body,
                "auth_echo": request.headers.get("authorization"),
                "access_token": "tok_abcdef",
            },
            headers={
                "set-cookie": "session=abc",
                "x-ratelimit-remaining": "59",
                "x-request-id": "r1",
                "content-type": "application/json",
            },
        )

    return httpx.MockTransport(handle)


def _direct(seen: list[httpx.Request]) -> DirectProviderTransport:
    return DirectProviderTransport(
        "https://api.provider.test/v1",
        auth_headers={"Authorization": f"OAuth {API_KEY}"},
        transport=_provider(seen),
    )


def _client(transport: httpx.AsyncBaseTransport, connection_id: str = "conn_rec") -> ProviderClient:
    return ProviderClient(gateway_url="http://gateway.test", connection_id=connection_id, transport=transport)


async def _record(path: Path, seen: list[httpx.Request]) -> None:
    transport = RecordReplayTransport(path, mode="record", real=_direct(seen), secrets=[API_KEY])
    async with _client(transport) as client:
        created = await client.post(
            "pages/p1/incidents",
            params={"api_key": API_KEY, "limit": 5},
            json={"name": "API down", "password": "pw"},
        )
        assert created.status_code == 201
        assert created.json()["auth_echo"] == f"OAuth {API_KEY}"  # the test itself sees the real answer
        await client.get("pages/p1")


async def test_record_forwards_to_the_provider_and_writes_a_cassette(tmp_path: Path) -> None:
    seen: list[httpx.Request] = []
    cassette = tmp_path / "cassettes" / "incident.json"

    await _record(cassette, seen)

    assert [str(r.url) for r in seen] == [
        f"https://api.provider.test/v1/pages/p1/incidents?api_key={API_KEY}&limit=5",
        "https://api.provider.test/v1/pages/p1",
    ]
    assert seen[0].headers["authorization"] == f"OAuth {API_KEY}"
    document = json.loads(cassette.read_text())
    assert document["version"] == 1
    first = document["interactions"][0]
    assert first["request"] == {
        "method": "POST",
        "path": "/pages/p1/incidents",
        "query": {"api_key": REDACTED, "limit": "5"},
        "json": {"name": "API down", "password": REDACTED},
    }
    assert first["response"]["status"] == 201
    assert first["response"]["headers"] == {"x-ratelimit-remaining": "59", "content-type": "application/json"}


async def test_no_secret_reaches_the_cassette(tmp_path: Path) -> None:
    cassette = tmp_path / "c.json"

    await _record(cassette, [])

    text = cassette.read_text()
    assert API_KEY not in text
    assert "tok_abcdef" not in text
    assert "session=abc" not in text and "set-cookie" not in text
    assert "authorization" not in text.lower().replace('"auth_echo"', "")
    echoed = json.loads(text)["interactions"][0]["response"]["json"]
    assert echoed["auth_echo"] == f"OAuth {REDACTED}"
    assert echoed["access_token"] == REDACTED


async def test_replay_answers_from_the_cassette_for_any_connection(tmp_path: Path) -> None:
    cassette = tmp_path / "c.json"
    await _record(cassette, [])

    transport = RecordReplayTransport(cassette)
    async with _client(transport, connection_id="another_connection") as client:
        created = await client.post(
            "pages/p1/incidents",
            params={"api_key": "whatever", "limit": 5},
            json={"name": "API down", "password": "x"},
        )
        page = await client.get("pages/p1")

    assert transport.mode == "replay"
    assert created.status_code == 201 and created.json()["sent"] == {"name": "API down", "password": REDACTED}
    assert page.status_code == 200 and page.headers["x-ratelimit-remaining"] == "59"
    assert transport.unplayed() == []


def _cassette(path: Path, *interactions: tuple[dict[str, Any], dict[str, Any]]) -> Path:
    path.write_text(
        json.dumps({"version": 1, "interactions": [{"request": q, "response": r} for q, r in interactions]})
    )
    return path


async def test_an_unmatched_request_shows_the_closest_recording(tmp_path: Path) -> None:
    cassette = _cassette(
        tmp_path / "c.json",
        (
            {
                "method": "POST",
                "path": "/pages/p1/incidents",
                "query": {},
                "json": {"incident": {"name": "A"}},
            },
            {"status": 201, "json": {"id": "i1"}},
        ),
        ({"method": "GET", "path": "/pages/p1", "query": {}}, {"status": 200, "json": {}}),
    )

    async with _client(RecordReplayTransport(cassette)) as client:
        with pytest.raises(CassetteMismatch) as caught:
            await client.post("pages/p1/incidents", json={"incident": {"name": "B"}})

    message = str(caught.value)
    assert "has no recording for this request" in message
    assert "POST /pages/p1/incidents" in message
    assert "closest recorded (interaction #0)" in message
    assert 'body/json/incident/name: recorded "A", sent "B"' in message
    assert "HUB_CASSETTE_MODE=record" in message


async def test_repeated_requests_replay_in_order_then_repeat_the_last(tmp_path: Path) -> None:
    poll = {"method": "GET", "path": "/incidents", "query": {"page": "1"}}
    cassette = _cassette(
        tmp_path / "c.json",
        (poll, {"status": 200, "json": [{"id": 1}]}),
        (poll, {"status": 200, "json": [{"id": 2}, {"id": 1}]}),
    )

    async with _client(RecordReplayTransport(cassette)) as client:
        answers = [(await client.get("incidents", params={"page": 1})).json() for _ in range(3)]

    assert answers == [[{"id": 1}], [{"id": 2}, {"id": 1}], [{"id": 2}, {"id": 1}]]


async def test_allow_repeats_false_fails_the_extra_call(tmp_path: Path) -> None:
    cassette = _cassette(tmp_path / "c.json", ({"method": "GET", "path": "/x"}, {"status": 204}))

    async with _client(RecordReplayTransport(cassette, allow_repeats=False)) as client:
        await client.get("x")
        with pytest.raises(CassetteMismatch, match="fewer times than it was requested"):
            await client.get("x")


async def test_ignored_fields_do_not_take_part_in_matching(tmp_path: Path) -> None:
    cassette = _cassette(
        tmp_path / "c.json",
        (
            {"method": "POST", "path": "/x", "query": {"ts": "1"}, "json": {"a": 1, "nonce": "n1"}},
            {"status": 200},
        ),
    )

    async with _client(RecordReplayTransport(cassette, ignore_fields=["nonce", "ts"])) as client:
        resp = await client.post("x", params={"ts": 99}, json={"a": 1, "nonce": "n2"})

    assert resp.status_code == 200


async def test_unplayed_lists_calls_the_connector_stopped_making(tmp_path: Path) -> None:
    cassette = _cassette(
        tmp_path / "c.json",
        ({"method": "GET", "path": "/a"}, {"status": 200}),
        ({"method": "GET", "path": "/b"}, {"status": 200}),
    )
    transport = RecordReplayTransport(cassette)

    async with _client(transport) as client:
        await client.get("a")

    assert [i.request.path for i in transport.unplayed()] == ["/b"]


async def test_form_and_text_bodies_round_trip(tmp_path: Path) -> None:
    cassette = _cassette(
        tmp_path / "c.json",
        (
            {"method": "POST", "path": "/chat.postMessage", "form": {"channel": ["C1"], "text": ["hi"]}},
            {"status": 200, "text": "ok"},
        ),
    )

    async with _client(RecordReplayTransport(cassette)) as client:
        resp = await client.post("chat.postMessage", data={"channel": "C1", "text": "hi"})

    assert resp.content == b"ok"


def test_a_missing_cassette_in_replay_mode_says_how_to_record(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="record it first"):
        RecordReplayTransport(tmp_path / "nope.json")


def test_record_mode_needs_a_real_transport(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="needs `real`"):
        RecordReplayTransport(tmp_path / "c.json", mode="record")


def test_auto_mode_records_only_when_the_cassette_is_missing(tmp_path: Path) -> None:
    real = httpx.MockTransport(lambda _: httpx.Response(200))
    assert RecordReplayTransport(tmp_path / "new.json", mode="auto", real=real).mode == "record"
    existing = _cassette(tmp_path / "old.json")
    assert RecordReplayTransport(existing, mode="auto", real=real).mode == "replay"


def test_the_environment_chooses_the_default_mode(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = httpx.MockTransport(lambda _: httpx.Response(200))
    monkeypatch.setenv("HUB_CASSETTE_MODE", "record")
    assert RecordReplayTransport(tmp_path / "c.json", real=real).mode == "record"
    monkeypatch.setenv("HUB_CASSETTE_MODE", "sometimes")
    with pytest.raises(ValueError, match="cassette mode"):
        RecordReplayTransport(tmp_path / "c.json", real=real)
