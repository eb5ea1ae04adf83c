"""Anthropic's rate-limit headers: ``anthropic-ratelimit-{requests,tokens,input-tokens,
output-tokens}-{limit,remaining,reset}`` (resets as RFC 3339 timestamps) and ``retry-after``.

A 429 (rate limited) and a 529 (overloaded: Anthropic's API as a whole, not this key) are both
worth retrying later; the wait is ``retry-after`` when sent, else the spent budget's reset.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from hub_connector_sdk import retry_after

BUDGETS = ("requests", "tokens", "input-tokens", "output-tokens")
DEFAULT_WAIT_S = 1.0
OVERLOADED_WAIT_S = 5.0


@dataclass(frozen=True)
class Budget:
    name: str
    limit: int | None
    remaining: int | None
    reset_epoch: float | None


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def parse_timestamp(text: str) -> float | None:
    try:
        parsed = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).timestamp()


def parse_rate_limit(headers: Mapping[str, str]) -> dict[str, Budget]:
    lowered = {k.lower(): v for k, v in headers.items()}
    budgets: dict[str, Budget] = {}
    for name in BUDGETS:
        prefix = f"anthropic-ratelimit-{name}-"
        limit = _int(lowered.get(prefix + "limit"))
        remaining = _int(lowered.get(prefix + "remaining"))
        raw = lowered.get(prefix + "reset")
        reset = parse_timestamp(raw) if raw else None
        if limit is not None or remaining is not None or reset is not None:
            budgets[name] = Budget(name, limit, remaining, reset)
    return budgets


def wait_seconds(status: int, headers: Mapping[str, str], *, now: float | None = None) -> float:
    lowered = {k.lower(): v for k, v in headers.items()}
    advised = retry_after(lowered)
    if advised is not None:
        return advised
    if status == 529:
        return OVERLOADED_WAIT_S
    at = time.time() if now is None else now
    spent = [b.reset_epoch for b in parse_rate_limit(lowered).values() if b.remaining == 0 and b.reset_epoch]
    return max(0.0, max(spent) - at) if spent else DEFAULT_WAIT_S
