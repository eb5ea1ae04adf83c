"""GCRA (generic cell rate algorithm) token bucket: the arithmetic of the Redis script, in Python.

State is one number per bucket, the theoretical arrival time (TAT, µs). Taking ``n`` tokens is
allowed while ``TAT + n*T - now ≤ burst*T`` (T = µs per token). Used by the local fallback when
Redis is unreachable and by the unit tests that pin down the Lua script's behaviour.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Grant:
    granted: int
    remaining: int  # tokens left after this grant
    retry_after_us: int  # when nothing was granted: wait this long for one token
    reset_us: int  # until the bucket is full again


def take(tat_us: int, now_us: int, interval_us: int, burst: int, wanted: int) -> tuple[int, Grant]:
    """Take up to ``wanted`` tokens (0: just look); returns (new TAT, grant)."""
    tat = max(tat_us, now_us)
    available = (burst * interval_us - (tat - now_us)) // interval_us
    granted = max(0, min(wanted, available))
    retry = max(1, tat - now_us - (burst - 1) * interval_us) if available < 1 else 0
    new_tat = tat + granted * interval_us
    return (new_tat if granted else tat_us), Grant(
        granted, max(0, available - granted), retry, new_tat - now_us
    )


def refund(tat_us: int, now_us: int, interval_us: int, unused: int) -> int:
    """Give back tokens taken but not used (never earlier than now: no credit is created)."""
    return max(now_us, tat_us - unused * interval_us)
