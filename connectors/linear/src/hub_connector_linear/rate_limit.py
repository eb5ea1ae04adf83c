"""Linear's rate-limit headers and how long to wait when a limit is hit.

Linear budgets requests and query complexity per hour, per user or app (its "Rate limiting"
documentation): ``X-RateLimit-Requests-{Limit,Remaining,Reset}`` and
``X-RateLimit-Complexity-{Limit,Remaining,Reset}``, resets in epoch milliseconds, ``X-Complexity``
the cost of the query just run. A spent budget is answered with a GraphQL error whose
``extensions.code`` is ``RATELIMITED`` (HTTP 400), not with a 429.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass

from hub_connector_sdk import retry_after

DEFAULT_WAIT_S = 60.0  # no usable reset: try again in a minute


@dataclass(frozen=True)
class Budget:
    limit: int | None
    remaining: int | None
    reset_ms: int | None


@dataclass(frozen=True)
class RateLimit:
    requests: Budget
    complexity: Budget
    query_complexity: int | None  # X-Complexity: what the answered query cost

    def spent(self) -> list[Budget]:
        return [b for b in (self.requests, self.complexity) if b.remaining == 0]


def _int(headers: Mapping[str, str], name: str) -> int | None:
    raw = headers.get(name)
    try:
        return int(float(raw)) if raw is not None else None
    except ValueError:
        return None


def _budget(headers: Mapping[str, str], kind: str) -> Budget:
    return Budget(
        limit=_int(headers, f"x-ratelimit-{kind}-limit"),
        remaining=_int(headers, f"x-ratelimit-{kind}-remaining"),
        reset_ms=_int(headers, f"x-ratelimit-{kind}-reset"),
    )


def parse_rate_limit(headers: Mapping[str, str]) -> RateLimit:
    """The rate-limit headers of one answer (missing or unreadable values are None)."""
    lowered = {k.lower(): v for k, v in headers.items()}
    return RateLimit(
        requests=_budget(lowered, "requests"),
        complexity=_budget(lowered, "complexity"),
        query_complexity=_int(lowered, "x-complexity"),
    )


def wait_seconds(limit: RateLimit, headers: Mapping[str, str], *, now: float | None = None) -> float:
    """``Retry-After`` when sent, else until the latest reset of a spent budget, else (Linear said
    RATELIMITED with budget left: the query costs more than remains) until the latest reset of
    any budget, else a minute."""
    advised = retry_after({k.lower(): v for k, v in headers.items()})
    if advised is not None:
        return advised
    budgets = limit.spent() or [limit.requests, limit.complexity]
    resets = [b.reset_ms for b in budgets if b.reset_ms is not None]
    if not resets:
        return DEFAULT_WAIT_S
    clock = time.time() if now is None else now
    return max(0.0, max(resets) / 1000.0 - clock)
