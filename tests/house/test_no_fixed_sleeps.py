"""No test waits with a bare fixed sleep (docs/testing.md "Rules the suite keeps").

A fixed sleep that waits for something to propagate is too short on a loaded machine and too
long everywhere else; one that "proves" something did not happen proves only that it had not
happened yet. Tests poll for the awaited condition (``hub_common.testing.eventually``) or wait
for a sentinel (``consumed``, an event sent after the one that must change nothing).

Flagged: an ``await asyncio.sleep(x)`` or ``time.sleep(x)`` statement directly in a ``test_*``
function (not in a nested helper, which may play a slow provider), outside any ``while``/``for``
loop (a loop is a poll), with ``x`` other than the literal 0 (a yield to the event loop).
The few that wait for time itself are listed below, each with why.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
TREES = ("services", "libs", "connectors", "tests", "examples")
SLEEPERS = {"asyncio", "time"}

# (path, test function) -> why a fixed sleep is right there. Keep it short.
ALLOWED: dict[tuple[str, str], str] = {
    (
        "services/gateway/tests/integration/test_failures.py",
        "test_a_trial_call_whose_caller_leaves_does_not_keep_the_circuit_open",
    ): "waits out the circuit's open period (a timer), and gives the gateway a moment to see the "
    "caller leave: any call made to poll would itself be the half-open circuit's one trial",
    (
        "services/gateway/tests/integration/test_invalidation.py",
        "test_a_disconnect_while_the_body_is_arriving_stops_the_call",
    ): "shapes the race (the credential resolved before the body arrives); the loop after it "
    "polls for the disconnect, and a shorter wait only tests the easier order",
    (
        "tests/e2e/tests/test_faults_e2e.py",
        "test_a_kafka_outage_keeps_every_service_ready_and_writes_succeeding",
    ): "the outage itself is the subject: the services are observed *during* a broker outage "
    "of a given length, and their log growth over that window is what is checked",
    (
        "tests/e2e/tests/test_gitlab_e2e.py",
        "test_content_export_and_its_resumption_after_a_restart",
    ): "waits out GitLab's one-second timestamp precision: the passing of time is the condition",
    (
        "tests/e2e/tests/test_oauth_simulator.py",
        "test_codes_expire",
    ): "waits out the code's TTL: an exchange made to poll would spend the single-use code",
    (
        "tests/e2e/tests/test_webhooks_fault_e2e.py",
        "test_nothing_acknowledged_is_lost_under_kills_and_an_outage",
    ): "the storm runs over many partitions, so no one sentinel orders them all: stragglers get "
    "a settle window before the duplicate counts (after every acknowledged event has arrived)",
}


def _is_sleep(call: ast.Call) -> bool:
    func = call.func
    return (
        isinstance(func, ast.Attribute)
        and func.attr == "sleep"
        and isinstance(func.value, ast.Name)
        and func.value.id in SLEEPERS
    )


def _waits_zero(call: ast.Call) -> bool:
    return bool(call.args) and isinstance(call.args[0], ast.Constant) and call.args[0].value == 0


def bare_sleeps(source: str) -> list[tuple[int, str]]:
    """``(line, test function)`` of each bare fixed sleep statement in a test function."""
    found: list[tuple[int, str]] = []

    def visit(node: ast.AST, test: str | None, in_loop: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                visit(child, child.name if child.name.startswith("test_") else None, False)
                continue
            if isinstance(child, ast.Lambda | ast.ClassDef):
                visit(child, None, False)
                continue
            if test is not None and not in_loop and isinstance(child, ast.Expr):
                call = child.value.value if isinstance(child.value, ast.Await) else child.value
                if isinstance(call, ast.Call) and _is_sleep(call) and not _waits_zero(call):
                    found.append((child.lineno, test))
            visit(child, test, in_loop or isinstance(child, ast.While | ast.For | ast.AsyncFor))

    visit(ast.parse(source), None, False)
    return found


def _test_modules() -> list[Path]:
    return [
        path
        for tree in TREES
        for path in sorted((ROOT / tree).rglob("test_*.py"))
        if not {".venv", "node_modules"} & set(path.parts)
    ]


def test_no_test_function_waits_with_a_bare_fixed_sleep() -> None:
    offenders = []
    used = set()
    for path in _test_modules():
        rel = path.relative_to(ROOT).as_posix()
        for line, test in bare_sleeps(path.read_text()):
            if (rel, test) in ALLOWED:
                used.add((rel, test))
            else:
                offenders.append(f"{rel}:{line} in {test}")
    assert offenders == [], (
        "fixed sleeps in tests: poll for the condition (hub_common.testing.eventually) or wait for "
        "a sentinel (docs/testing.md); " + "; ".join(offenders)
    )
    assert set(ALLOWED) - used == set(), "allow-list entries that no longer sleep: remove them"


def test_the_check_tells_a_poll_from_a_fixed_wait() -> None:
    source = """
async def test_waits():
    await asyncio.sleep(0.3)
    time.sleep(1)
    await asyncio.sleep(0)
    while not done():
        await asyncio.sleep(0.05)
    for _ in range(10):
        time.sleep(0.1)
    task = asyncio.create_task(asyncio.sleep(60))

    async def slow_provider():
        await asyncio.sleep(2)

async def helper():
    await asyncio.sleep(1)
"""
    assert bare_sleeps(source) == [(3, "test_waits"), (4, "test_waits")]
