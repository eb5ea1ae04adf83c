"""GitHub's rate-limit headers (``x-ratelimit-limit``, ``-remaining``, ``-used``, ``-reset`` in epoch
seconds, ``-resource``) and how long to wait when a limit is hit.

GitHub answers a spent primary limit with 403 or 429 and ``x-ratelimit-remaining: 0``; a
secondary limit with 403 or 429, a message saying so, and sometimes ``retry-after`` ("otherwise
wait at least one minute", GitHub's REST documentation on rate limits).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass

from hub_connector_sdk import retry_after

SECONDARY_WAIT_S = 60.0


@dataclass(frozen=True)
class RateLimit:
    limit: int | None
    remaining: int | None
    used: int | None
    reset_epoch: int | None
    resource: str | None


def _int(headers: Mapping[str, str], name: str) -> int | None:
    raw = headers.get(name)
    try:
        return int(raw) if raw is not None else None
    except ValueError:
        return None


def parse_rate_limit(headers: Mapping[str, str]) -> RateLimit:
    """The ``x-ratelimit-*`` headers of one answer (missing or unreadable values are None)."""
    lowered = {k.lower(): v for k, v in headers.items()}
    return RateLimit(
        limit=_int(lowered, "x-ratelimit-limit"),
        remaining=_int(lowered, "x-ratelimit-remaining"),
        used=_int(lowered, "x-ratelimit-used"),
        reset_epoch=_int(lowered, "x-ratelimit-reset"),
        resource=lowered.get("x-ratelimit-resource"),
    )


def is_rate_limited(status: int, headers: Mapping[str, str], message: str) -> bool:
    if status not in (403, 429):
        return False
    if parse_rate_limit(headers).remaining == 0 or status == 429:
        return True
    return "rate limit" in message.lower()


def wait_seconds(limit: RateLimit, headers: Mapping[str, str], *, now: float | None = None) -> float:
    """``Retry-After`` when sent, else until the window resets, else GitHub's advised minute."""
    lowered = {k.lower(): v for k, v in headers.items()}
    advised = retry_after(lowered)
    if advised is not None:
        return advised
    if limit.remaining == 0 and limit.reset_epoch is not None:
        return max(0.0, limit.reset_epoch - (time.time() if now is None else now))
    return SECONDARY_WAIT_S
