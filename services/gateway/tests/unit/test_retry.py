"""The pure retry decision (domain/retry.py): one table per question, no infrastructure."""

from __future__ import annotations

import pytest

from hub_gateway.domain.retry import (
    REFRESH,
    RETURN,
    Retry,
    RetryPolicy,
    Verdict,
    circuit_verdict,
    decide,
    decide_on_failure,
    is_idempotent,
)

pytestmark = pytest.mark.unit
POLICY = RetryPolicy(max_retries=2, max_retry_after_s=2.0, backoff_s=0.1)

# status, Retry-After (s), replayable body, retries so far, may refresh → decision
ANSWERS = [
    (200, None, True, 0, True, RETURN),
    (201, 1.0, True, 0, True, RETURN),  # a Retry-After on a success means nothing
    (404, None, True, 0, True, RETURN),
    # 401: one refresh, only for an OAuth token not refreshed yet and a body that can go again
    (401, None, True, 0, True, REFRESH),
    (401, None, True, 2, True, REFRESH),  # a refresh is not a retry: the budget does not bind
    (401, None, False, 0, True, RETURN),
    (401, None, True, 0, False, RETURN),
    (401, 1.0, True, 0, False, RETURN),
    # 429/503/529 with a short Retry-After: wait it out and send again
    (429, 1.5, True, 0, False, Retry(1.5)),
    (503, 0.0, True, 1, False, Retry(0.0)),
    (529, 2.0, True, 0, False, Retry(2.0)),  # exactly the allowance
    (429, 2.01, True, 0, False, RETURN),  # longer: the caller decides
    (429, None, True, 0, False, RETURN),  # no Retry-After: nothing says when
    (429, 1.0, False, 0, False, RETURN),  # a streamed body cannot be sent again
    (429, 1.0, True, 2, False, RETURN),  # the budget is spent
    (502, 1.0, True, 0, False, RETURN),
    (504, None, True, 0, False, RETURN),
    (403, 1.0, True, 0, False, RETURN),  # a secondary limit blocks later calls, not this one
]


@pytest.mark.parametrize(
    ("status", "retry_after", "replayable", "retries", "can_refresh", "expected"), ANSWERS
)
def test_after_an_answer(status, retry_after, replayable, retries, can_refresh, expected):
    decision = decide(
        status, retry_after, replayable=replayable, retries=retries, can_refresh=can_refresh, policy=POLICY
    )
    assert decision == expected


# connection failed, idempotent, replayable, retries so far, jitter → decision
FAILURES = [
    (True, True, True, 0, 0.5, Retry(0.1)),  # backoff * 1 * (0.5 + 0.5)
    (True, True, True, 1, 0.0, Retry(0.1)),  # backoff * 2 * 0.5
    (True, True, True, 1, 0.99, Retry(pytest.approx(0.2 * 1.49))),
    (True, True, True, 2, 0.5, RETURN),  # the budget is spent
    (True, False, True, 0, 0.5, RETURN),  # a POST without Idempotency-Key may have been acted on
    (True, True, False, 0, 0.5, RETURN),  # a streamed body is gone
    (False, True, True, 0, 0.5, RETURN),  # a read timeout or a malformed answer: never
]


@pytest.mark.parametrize(("failed", "idempotent", "replayable", "retries", "jitter", "expected"), FAILURES)
def test_after_a_failure(failed, idempotent, replayable, retries, jitter, expected):
    decision = decide_on_failure(
        failed, idempotent=idempotent, replayable=replayable, retries=retries, policy=POLICY, jitter=jitter
    )
    assert decision == expected


@pytest.mark.parametrize(
    ("status", "retry_after", "verdict"),
    [
        (200, None, Verdict.SUCCESS),
        (404, None, Verdict.SUCCESS),
        (429, None, Verdict.SUCCESS),  # throttling is no outage
        (500, None, Verdict.SUCCESS),  # an application error, answered promptly
        (502, None, Verdict.FAILURE),
        (504, 1.0, Verdict.FAILURE),
        (503, None, Verdict.FAILURE),
        (529, None, Verdict.FAILURE),
        (503, 1.0, Verdict.NONE),  # overloaded and saying when: no verdict either way
        (529, 30.0, Verdict.NONE),
    ],
)
def test_what_the_circuit_hears(status, retry_after, verdict):
    assert circuit_verdict(status, retry_after) is verdict


@pytest.mark.parametrize(
    ("method", "key", "idempotent"),
    [
        ("GET", False, True),
        ("PUT", False, True),
        ("DELETE", False, True),
        ("POST", False, False),
        ("POST", True, True),
        ("PATCH", False, False),
    ],
)
def test_idempotent_calls(method, key, idempotent):
    assert is_idempotent(method, key) is idempotent


def test_the_hot_paths_status_sets_hold_every_status_the_functions_treat_specially():
    """The proxy asks decide() only about DECIDED_STATUSES and circuit_verdict() only about
    CIRCUIT_STATUSES; every other status must get RETURN and SUCCESS from them anyway."""
    from hub_gateway.domain.retry import CIRCUIT_STATUSES, DECIDED_STATUSES, SUCCESS

    for status in range(100, 600):
        for retry_after in (None, 0.0, 1.0):
            if status not in DECIDED_STATUSES:
                for replayable in (True, False):
                    d = decide(
                        status, retry_after, replayable=replayable, retries=0, can_refresh=True, policy=POLICY
                    )
                    assert d is RETURN, status
            if status not in CIRCUIT_STATUSES:
                assert circuit_verdict(status, retry_after) is SUCCESS, status
