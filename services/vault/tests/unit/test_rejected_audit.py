"""RejectedCallAudit as an ASGI wrapper: what it holds, records, forwards or replaces."""

import asyncio
import contextlib
import uuid

import pytest

from hub_common.errors import Unauthorized
from hub_common.testing import eventually
from hub_vault.api import rejected_audit
from hub_vault.api.rejected_audit import RejectedCallAudit

pytestmark = pytest.mark.unit

CID = uuid.uuid4()
PATH = f"/v1/tenants/t1/connections/{CID}/credentials/access_token"


class FakeConn:
    def __init__(self, fail: bool) -> None:
        self.fail = fail
        self.rows: list[tuple] = []

    async def execute(self, _sql, *args):
        if self.fail:
            raise OSError("database gone")
        self.rows.append(args)


class FakeDatabase:
    def __init__(self, fail: bool = False) -> None:
        self.conn = FakeConn(fail)

    @contextlib.asynccontextmanager
    async def transaction(self):
        yield self.conn


def app_sending(*messages):
    async def app(scope, receive, send):
        for message in messages:
            await send(message)

    return app


def refuse(_authorization):
    raise Unauthorized("invalid service token", code="invalid_token")


async def call(app, db, path=PATH, method="GET"):
    sent = []

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "method": method, "path": path, "headers": [(b"authorization", b"Bearer x")]}
    await RejectedCallAudit(app, lambda: db, refuse)(scope, None, send)
    return sent


START_401 = {"type": "http.response.start", "status": 401, "headers": [(b"x-request-id", b"r1")]}
BODY_401 = b'{"error":{"code":"invalid_token","message":"m","details":{}}}'


async def test_a_refusal_is_recorded_then_forwarded_unchanged():
    db = FakeDatabase()
    sent = await call(app_sending(START_401, {"type": "http.response.body", "body": BODY_401}), db)
    assert [m.get("status") for m in sent] == [401, None] and sent[1]["body"] == BODY_401
    (row,) = db.conn.rows
    request_id, caller, operation, tenant, connection, key, outcome = row[:7]
    assert (request_id, caller, operation, outcome) == (
        "r1",
        "unauthenticated",
        "credential.read",
        "unauthenticated",
    )
    assert (tenant, connection, key) == ("t1", CID, "access_token")
    assert "Bearer" not in str(row)


async def test_an_answer_that_passes_is_not_touched():
    db = FakeDatabase(fail=True)
    start = {"type": "http.response.start", "status": 200, "headers": []}
    body = {"type": "http.response.body", "body": b"{}"}
    assert await call(app_sending(start, body), db) == [start, body]
    assert db.conn.rows == []


async def test_an_unrecordable_refusal_becomes_503_and_nothing_else_goes_out():
    big = b"x" * (70 * 1024)  # past the hold limit: released before the app is done
    app = app_sending(
        START_401,
        {"type": "http.response.body", "body": big, "more_body": True},
        {"type": "http.response.body", "body": b"tail", "more_body": True},
        {"type": "http.response.body", "body": b""},
    )
    sent = await call(app, FakeDatabase(fail=True))
    assert [m["type"] for m in sent] == ["http.response.start", "http.response.body"]
    assert sent[0]["status"] == 503 and b"audit_unavailable" in sent[1]["body"]


async def test_a_start_without_a_body_is_still_recorded_and_sent():
    db = FakeDatabase()
    sent = await call(app_sending(START_401), db)
    assert sent == [START_401] and len(db.conn.rows) == 1


async def test_a_malformed_id_is_not_recorded_as_one():
    db = FakeDatabase()
    one = "\u0661"  # ARABIC-INDIC DIGIT ONE: UUID() reads it as 1
    odd = "-".join(one * n for n in (8, 4, 4, 4, 12))
    path = f"/v1/tenants/t1/connections/{odd}/credentials/access_token"
    await call(app_sending(START_401, {"type": "http.response.body", "body": BODY_401}), db, path=path)
    (row,) = db.conn.rows
    assert row[3] == "t1" and row[4] is None


class StalledDatabase(FakeDatabase):
    """Every audit transaction waits until released: a pool slowed down by a flood."""

    def __init__(self) -> None:
        super().__init__()
        self.release = asyncio.Event()
        self.open = 0
        self.most_open = 0

    @contextlib.asynccontextmanager
    async def transaction(self):
        self.open += 1
        self.most_open = max(self.most_open, self.open)
        try:
            await self.release.wait()
            yield self.conn
        finally:
            self.open -= 1


async def test_a_flood_of_refusals_holds_only_a_few_connections(monkeypatch):
    monkeypatch.setattr(rejected_audit, "REFUSAL_SLOT_WAIT_S", 0.05)
    db = StalledDatabase()
    refusal = app_sending(START_401, {"type": "http.response.body", "body": BODY_401})
    audit = RejectedCallAudit(refusal, lambda: db, refuse)
    answers: list[list[dict]] = []

    async def one_call():
        sent: list[dict] = []

        async def send(message):
            sent.append(message)

        scope = {"type": "http", "method": "GET", "path": PATH, "headers": []}
        await audit(scope, None, send)
        answers.append(sent)

    calls = [asyncio.create_task(one_call()) for _ in range(10)]
    slots = rejected_audit.REFUSAL_AUDIT_SLOTS
    await eventually(lambda: len(answers) == 10 - slots, what="the calls without a slot giving up")
    db.release.set()
    await asyncio.gather(*calls)
    statuses = sorted(sent[0]["status"] for sent in answers)
    assert db.most_open == slots
    assert statuses == [401] * slots + [503] * (10 - slots)
    assert len(db.conn.rows) == slots
