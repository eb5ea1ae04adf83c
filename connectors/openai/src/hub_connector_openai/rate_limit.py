"""OpenAI's rate-limit headers: ``x-ratelimit-{limit,remaining,reset}-{requests,tokens}``, the
resets given as Go-style durations (``6m0s``, ``12ms``, ``1h2m3.5s``).

A 429 says which budget ran out only through these headers (or ``Retry-After``, when sent); the
wait is until the spent budget resets (the longest, when both are spent), else the shortest reset.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from hub_connector_sdk import retry_after

_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|us|µs|ns|h|m|s)")
_WHOLE = re.compile(r"^(?:\d+(?:\.\d+)?(?:ms|us|µs|ns|h|m|s))+$")
_UNIT_S = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 1e-3, "us": 1e-6, "µs": 1e-6, "ns": 1e-9}
DEFAULT_WAIT_S = 1.0
BUDGETS = ("requests", "tokens")


def parse_duration(text: str) -> float | None:
    """``6m0s`` → 360.0, ``12ms`` → 0.012; None for anything else."""
    text = text.strip().lower()
    if not _WHOLE.match(text):
        return None
    return sum(float(n) * _UNIT_S[u] for n, u in _PART.findall(text))


@dataclass(frozen=True)
class Budget:
    name: str  # "requests" | "tokens"
    limit: int | None
    remaining: int | None
    reset_s: float | None  # seconds from the answer until it is full again


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def parse_rate_limit(headers: Mapping[str, str]) -> dict[str, Budget]:
    lowered = {k.lower(): v for k, v in headers.items()}
    budgets: dict[str, Budget] = {}
    for name in BUDGETS:
        limit = _int(lowered.get(f"x-ratelimit-limit-{name}"))
        remaining = _int(lowered.get(f"x-ratelimit-remaining-{name}"))
        raw_reset = lowered.get(f"x-ratelimit-reset-{name}")
        reset = parse_duration(raw_reset) if raw_reset else None
        if limit is not None or remaining is not None or reset is not None:
            budgets[name] = Budget(name, limit, remaining, reset)
    return budgets


def wait_seconds(headers: Mapping[str, str]) -> float:
    """How long to wait after a 429: ``Retry-After``, else the spent budget's reset."""
    lowered = {k.lower(): v for k, v in headers.items()}
    advised = retry_after(lowered)
    if advised is not None:
        return advised
    budgets = parse_rate_limit(lowered).values()
    spent = [b.reset_s for b in budgets if b.remaining == 0 and b.reset_s is not None]
    if spent:
        return max(spent)
    resets = [b.reset_s for b in budgets if b.reset_s is not None]
    return min(resets) if resets else DEFAULT_WAIT_S
