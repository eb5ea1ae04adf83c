"""What to do after one attempt at a provider call: retry, refresh the credential, or hand the
outcome back. Pure: the proxy service (``services/proxy.py``) does what this decides.

Rules (docs/adr/0006-gateway-upstream-client.md, 0028-one-way-per-concern.md):

* a connection failure (refused, reset, closed, connect timeout: nothing reached the provider
  or it did not act) is retried only for an idempotent call (method, or ``Idempotency-Key``)
  with a replayable (buffered) body, after a jittered linear backoff;
* a 401 on an OAuth connection with a token, not yet refreshed in this call and with a
  replayable body, asks for one refresh and tries again (not counted as a retry);
* a 429/503/529 with a ``Retry-After`` no longer than ``max_retry_after_s`` is retried after
  waiting it (the provider did not act on the request); a longer wait goes back to the caller;
* anything else, a read timeout included (the provider may have acted), is returned.

Retries of both kinds share one budget, ``max_retries`` per call.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
BUSY = frozenset({503, 529})  # the provider is overloaded (529: Anthropic, Notion)
RETRY_AFTER_STATUSES = frozenset({429, 503, 529})
# The statuses :func:`decide` can answer with anything but RETURN, and those :func:`circuit_verdict`
# can answer with anything but SUCCESS: the hot path asks only about these (tests/unit/
# test_retry.py checks both sets against the functions over every status).
DECIDED_STATUSES = frozenset({401}) | RETRY_AFTER_STATUSES
CIRCUIT_STATUSES = frozenset({502, 504}) | BUSY


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    max_retries: int = 2
    max_retry_after_s: float = 2.0
    backoff_s: float = 0.1


@dataclass(frozen=True, slots=True)
class Retry:
    """Send the call again after ``wait_s`` seconds (counts against ``max_retries``)."""

    wait_s: float


class Refresh:
    """Refresh the OAuth credential once and send the call again."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "REFRESH"


class Return:
    """Hand this answer (or failure) back to the caller."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "RETURN"


REFRESH = Refresh()
RETURN = Return()
Decision = Retry | Refresh | Return


def decide(
    status: int,
    retry_after_s: float | None,
    *,
    replayable: bool,
    retries: int,
    can_refresh: bool,
    policy: RetryPolicy,
) -> Decision:
    """After an answer. ``retries``: retries this call made so far; ``can_refresh``: an OAuth
    connection whose token may be refreshed and that this call has not refreshed yet."""
    if status < 401:  # most answers: decided before anything else is looked at
        return RETURN
    if status == 401:
        return REFRESH if can_refresh and replayable else RETURN
    if (
        status in RETRY_AFTER_STATUSES
        and retry_after_s is not None
        and retry_after_s <= policy.max_retry_after_s
        and replayable
        and retries < policy.max_retries
    ):
        return Retry(retry_after_s)
    return RETURN


def decide_on_failure(
    connection_failed: bool,
    *,
    idempotent: bool,
    replayable: bool,
    retries: int,
    policy: RetryPolicy,
    jitter: float,
) -> Retry | Return:
    """After a failure with no answer. ``connection_failed``: refused, reset, closed or a
    connect timeout (never a read timeout or a malformed answer); ``jitter`` in [0, 1)."""
    if connection_failed and idempotent and replayable and retries < policy.max_retries:
        return Retry(policy.backoff_s * (retries + 1) * (0.5 + jitter))
    return RETURN


class Verdict(enum.Enum):
    """What one answer tells the provider's circuit breaker."""

    FAILURE = "failure"
    SUCCESS = "success"
    NONE = "none"  # throttling (503/529 with Retry-After): neither


# Module-level names: an enum member read through its class costs a lookup on every call.
FAILURE, SUCCESS, NO_VERDICT = Verdict.FAILURE, Verdict.SUCCESS, Verdict.NONE


def circuit_verdict(status: int, retry_after_s: float | None) -> Verdict:
    """A 502/504, or a 503/529 without ``Retry-After``, is the endpoint failing; a 503/529 with
    one is throttling (no verdict); anything else, a 500 included (answered promptly), is a success."""
    if status < 502:
        return SUCCESS
    if status in (502, 504) or (status in BUSY and retry_after_s is None):
        return FAILURE
    if status in BUSY:
        return NO_VERDICT
    return SUCCESS


def is_idempotent(method: str, has_idempotency_key: bool) -> bool:
    return has_idempotency_key or method in IDEMPOTENT_METHODS
