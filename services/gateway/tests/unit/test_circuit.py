"""domain/circuit.py: the per-origin circuit breaker and its bounded board."""

from __future__ import annotations

import pytest

from hub_gateway.domain.circuit import CLOSED, HALF_OPEN, OPEN, Circuit, CircuitBoard

pytestmark = pytest.mark.unit


def test_circuit_breaker_lifecycle():
    c = Circuit(failure_threshold=3, open_s=10)
    assert c.allow(0)
    c.failure(0)
    c.failure(0)
    c.success()
    assert c.state == CLOSED and c.failures == 0
    for _ in range(3):
        opened = c.failure(1)
    assert opened and c.state == OPEN and not c.allow(5) and c.retry_after(5) == 6
    assert c.allow(11) and c.state == HALF_OPEN
    assert not c.allow(11)  # one trial at a time
    c.failure(12)
    assert c.state == OPEN and not c.allow(13)
    assert c.allow(22)
    c.success()
    assert c.state == CLOSED and c.allow(22)


def test_a_trial_without_a_verdict_does_not_keep_the_circuit_shut():
    c = Circuit(failure_threshold=1, open_s=10)
    c.failure(0)
    assert c.allow(10) and c.on_trial
    c.abandon(10)  # e.g. the caller went away while sending its body
    assert c.allow(10)  # the next call may try
    assert not c.allow(15)  # ... one at a time
    assert c.allow(20)  # a trial not heard of for open_s is presumed lost: a new one starts
    c.abandon(10)  # the lost trial ending late frees nothing: the newer one still runs
    assert not c.allow(21)
    c.success()
    assert c.state == CLOSED and not c.on_trial
    c.abandon(20)  # harmless outside a trial
    assert c.state == CLOSED and c.allow(22)


def test_circuit_board_is_bounded():
    board = CircuitBoard(3, 10, max_hosts=10)
    for i in range(25):
        board.get(f"h{i}")
    assert len(board.states()) <= 10
