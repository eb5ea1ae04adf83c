"""Outages, NUL characters and readiness at the edge of every service (hub_common.web)."""

import asyncio

import asyncpg
import httpx
import pytest
import redis.exceptions
from aiokafka.errors import KafkaConnectionError
from fastapi import APIRouter
from pydantic import BaseModel

from hub_common.settings import HubSettings
from hub_common.web import ReadinessCheck, create_app
from hub_common.web.health import kafka_check, redis_check
from hub_common.web.nul import escapes_nul
from hub_common.web.outages import dependency_outage

pytestmark = pytest.mark.unit


class Named(BaseModel):
    name: str


def make_app(checks: list[ReadinessCheck] | None = None):
    app = create_app(HubSettings(service_name="faults"), title="t", readiness=lambda: checks or [])
    router = APIRouter()
    stored: list[str] = []

    @router.post("/named")
    async def named(body: Named) -> dict:
        stored.append(body.name)
        return {"name": body.name}

    @router.get("/pg-down")
    async def pg_down() -> dict:
        raise asyncpg.exceptions.CannotConnectNowError("the database system is starting up")

    @router.get("/redis-down")
    async def redis_down() -> dict:
        raise redis.exceptions.ConnectionError("Error 111 connecting to 127.0.0.1:16379")

    @router.get("/kafka-down")
    async def kafka_down() -> dict:
        raise KafkaConnectionError("no broker")

    @router.get("/statement")
    async def statement() -> dict:
        raise asyncpg.exceptions.UniqueViolationError("duplicate key")

    app.include_router(router)
    return app, stored


async def test_dependency_outages_are_503_with_code_retry_after_and_request_id() -> None:
    app, _ = make_app()
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        for path, code in (
            ("/pg-down", "database_unavailable"),
            ("/redis-down", "redis_unavailable"),
            ("/kafka-down", "kafka_unavailable"),
        ):
            resp = await client.get(path)
            assert resp.status_code == 503, path
            error = resp.json()["error"]
            assert error["code"] == code
            assert resp.headers["retry-after"] == "2"
            assert error["request_id"] == resp.headers["x-request-id"]
        # A statement the database refused is a bug here, not an outage.
        assert (await client.get("/statement")).status_code == 500


def test_a_refused_connect_inside_asyncpg_is_a_postgres_outage() -> None:
    async def inside_asyncpg() -> None:
        await asyncpg.connect("postgresql://nobody@127.0.0.1:1/none", timeout=2)

    with pytest.raises(OSError) as caught:
        asyncio.run(inside_asyncpg())
    wrapped = RuntimeError("acquire failed")
    wrapped.__cause__ = caught.value
    outage = dependency_outage(wrapped)
    assert outage is not None and outage.dependency == "postgres"
    # A plain OSError that never went through a client library is not attributed to one.
    assert dependency_outage(ConnectionRefusedError(111, "refused")) is None


@pytest.mark.parametrize(
    ("body", "refused"),
    [
        (b'{"name": "a\\u0000b"}', True),
        (b'{"name": "\\u0000"}', True),
        (b'{"name": "a\\\\u0000b"}', False),  # an escaped backslash, then the text u0000
        (b'{"name": "a\\\\\\u0000b"}', True),  # an escaped backslash, then a NUL
        (b'{"name": "u0000"}', False),
    ],
)
async def test_nul_in_json_bodies_is_refused_with_422(body: bytes, refused: bool) -> None:
    app, stored = make_app()
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        resp = await client.post("/named", content=body, headers={"content-type": "application/json"})
    if refused:
        assert resp.status_code == 422
        assert resp.json()["error"]["code"] == "invalid_character"
        assert stored == []
    else:
        assert resp.status_code == 200


async def test_nul_split_across_body_chunks_is_refused() -> None:
    app, stored = make_app()

    async def chunks():
        yield b'{"name": "abc\\u00'
        yield b'00"}'

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        resp = await client.post("/named", content=chunks(), headers={"content-type": "application/json"})
    assert resp.status_code == 422 and stored == []


@pytest.mark.parametrize("target", ["/named?x=%00", "/na%00med"])
async def test_nul_in_the_path_or_query_is_refused(target: str) -> None:
    app, _ = make_app()
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        resp = await client.post(target, json={"name": "a"})
    assert resp.status_code == 422 and resp.json()["error"]["code"] == "invalid_character"


def test_escape_detection_counts_backslashes() -> None:
    assert escapes_nul(b"\\u0000")
    assert not escapes_nul(b"\\\\u0000")
    assert escapes_nul(b"\\\\\\u0000")
    assert escapes_nul(b"\\\\u0000 and \\u0000")


async def test_readiness_ignores_optional_dependencies_and_status_reports_them() -> None:
    class Down:
        async def ping(self) -> bool:
            raise ConnectionError("down")

    async def db_ok() -> bool:
        return True

    checks = [ReadinessCheck("postgres", db_ok), kafka_check(Down), redis_check(Down)]
    app, _ = make_app(checks)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        ready = await client.get("/readyz")
        assert ready.status_code == 200
        assert ready.json()["checks"] == {"postgres": "ok", "kafka": "failing", "redis": "failing"}
        status = (await client.get("/status")).json()
        assert status["status"] == "degraded" and status["ready"] is True
        assert status["dependencies"]["kafka"] == {"status": "failing", "required": False}
        metrics = (await client.get("/metrics")).text
        assert 'hub_dependency_up{dependency="kafka"} 0.0' in metrics

    async def db_down() -> bool:
        return False

    app, _ = make_app([ReadinessCheck("postgres", db_down)])
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        assert (await client.get("/readyz")).status_code == 503


def test_repeated_client_library_lines_are_collapsed():
    import logging

    from hub_common.logging import RepeatCollapsingFilter

    flt = RepeatCollapsingFilter(window_s=60.0)

    def record(name: str, msg: str, args: tuple, at: float) -> logging.LogRecord:
        r = logging.LogRecord(name, logging.ERROR, __file__, 1, msg, args, None)
        r.created = at
        return r

    template = "Unable connect to node with id %s: %s"
    passed = [
        flt.filter(record("aiokafka", template, (1, f"refused {i}"), 1000.0 + i * 0.1)) for i in range(200)
    ]
    assert passed.count(True) == 1 and passed[0]
    later = record("aiokafka", template, (1, "refused"), 1061.0)
    assert flt.filter(later) and later.repeats_suppressed == 199
    # Another template is its own state; the hub's own loggers are never collapsed.
    assert flt.filter(record("aiokafka", "Unable to update metadata from %s", ([1],), 1000.5))
    assert all(
        flt.filter(record("hub_common.kafka.consumer", "poll failed", (), 1000.0 + i)) for i in range(5)
    )
