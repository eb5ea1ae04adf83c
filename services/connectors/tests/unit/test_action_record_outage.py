"""An action's record waits out a database outage (docs/adr/0033): the provider has already run
the action, so answering 503 would tell the caller it failed and lose its event; a retry of the
request would then run it twice."""

import contextlib
import uuid
from typing import Any

import asyncpg
import pytest

from hub_common.web.auth import Tier
from hub_connector_sdk import ActionResult
from hub_connectors.domain.connection import Connection
from hub_connectors.domain.states import ConnectionStatus
from hub_connectors.services import actions as actions_module
from hub_connectors.services.actions import ActionService, _Ready
from hub_connectors.services.caller import Caller

pytestmark = pytest.mark.unit
CALLER = Caller("t1", "alice", Tier.TEAMS)


class FlakyDatabase:
    """Fails the next transactions with the given errors, then works."""

    def __init__(self, failures: list[BaseException]) -> None:
        self.failures = failures
        self.committed = 0

    @contextlib.asynccontextmanager
    async def transaction(self):
        if self.failures:
            raise self.failures.pop(0)
        yield object()
        self.committed += 1


class CountingRuntime:
    def __init__(self) -> None:
        self.calls = 0

    async def execute(self, *_: Any, **__: Any) -> ActionResult:
        self.calls += 1
        return ActionResult.ok({"created": 1})


@pytest.fixture
def recorded(monkeypatch) -> dict[str, list[Any]]:
    seen: dict[str, list[Any]] = {"events": [], "results": []}

    async def publish(conn, event, **_: Any) -> str:
        seen["events"].append(event)
        return str(uuid.uuid4())

    async def complete(conn, tenant_id, key, result) -> None:
        seen["results"].append((key, result))

    monkeypatch.setattr(actions_module, "publish", publish)
    monkeypatch.setattr(actions_module.action_idempotency, "complete", complete)
    return seen


def _ready() -> _Ready:
    connection = Connection(
        id=uuid.uuid4(),
        tenant_id="t1",
        user_id="alice",
        connector_id="echoapi",
        connector_version="1.0.0",
        category="communication",
        custom=False,
        auth_method="api_key",
        name="echo",
        status=ConnectionStatus.ACTIVE,
        base_url="https://api.echo.test",
    )
    return _Ready(connection, object())  # type: ignore[arg-type]


def _service(db: FlakyDatabase, runtime: CountingRuntime, patience_s: float = 30.0) -> ActionService:
    return ActionService(db, None, runtime, record_patience_s=patience_s)  # type: ignore[arg-type]


async def test_the_record_waits_out_a_restarting_database(recorded):
    db = FlakyDatabase([ConnectionRefusedError(), asyncpg.AdminShutdownError("terminating connection")])
    runtime = CountingRuntime()
    result = await _service(db, runtime)._run(CALLER, _ready(), "echo", {}, idempotency_key="k1")
    assert result.success is True
    assert runtime.calls == 1 and db.committed == 1
    assert len(recorded["events"]) == 1 and [k for k, _ in recorded["results"]] == ["k1"]


async def test_an_outage_longer_than_the_patience_is_still_an_error(recorded):
    db = FlakyDatabase([ConnectionRefusedError() for _ in range(50)])
    runtime = CountingRuntime()
    with pytest.raises(ConnectionRefusedError):
        await _service(db, runtime, patience_s=0.5)._run(CALLER, _ready(), "echo", {})
    assert runtime.calls == 1 and db.committed == 0  # the action is never run again


async def test_other_errors_are_not_retried(recorded):
    db = FlakyDatabase([ValueError("a bug")])
    with pytest.raises(ValueError):
        await _service(db, CountingRuntime())._run(CALLER, _ready(), "echo", {})
    assert db.committed == 0
