"""GitLab's rate-limit headers and how long to wait when a limit is hit.

GitLab sends ``RateLimit-Limit``, ``RateLimit-Observed`` (requests counted in the window),
``RateLimit-Remaining``, ``RateLimit-Reset`` (epoch seconds) and ``RateLimit-ResetTime`` (an
HTTP date) — without the ``x-`` prefix — and refuses with 429, ``Retry-After`` and the plain
text ``Retry later`` once a limit is spent (GitLab's "Rate limits" documentation).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime

from hub_connector_sdk import retry_after

DEFAULT_WAIT_S = 60.0  # GitLab's throttles use one-minute windows by default


@dataclass(frozen=True)
class RateLimit:
    limit: int | None
    observed: int | None
    remaining: int | None
    reset_epoch: int | None


def _int(headers: Mapping[str, str], name: str) -> int | None:
    raw = headers.get(name)
    try:
        return int(raw) if raw is not None else None
    except ValueError:
        return None


def _reset(headers: Mapping[str, str]) -> int | None:
    epoch = _int(headers, "ratelimit-reset")
    if epoch is not None:
        return epoch
    text = headers.get("ratelimit-resettime")
    if not text:
        return None
    try:
        return int(parsedate_to_datetime(text).timestamp())
    except (TypeError, ValueError, IndexError):
        return None


def parse_rate_limit(headers: Mapping[str, str]) -> RateLimit:
    """The ``RateLimit-*`` headers of one answer (missing or unreadable values are None;
    ``remaining`` is derived from limit and observed when GitLab leaves it out)."""
    lowered = {k.lower(): v for k, v in headers.items()}
    limit, observed = _int(lowered, "ratelimit-limit"), _int(lowered, "ratelimit-observed")
    remaining = _int(lowered, "ratelimit-remaining")
    if remaining is None and limit is not None and observed is not None:
        remaining = max(limit - observed, 0)
    return RateLimit(limit, observed, remaining, _reset(lowered))


def is_rate_limited(status: int, headers: Mapping[str, str]) -> bool:
    return status == 429 or (status == 403 and parse_rate_limit(headers).remaining == 0)


def wait_seconds(limit: RateLimit, headers: Mapping[str, str], *, now: float | None = None) -> float:
    """``Retry-After`` when sent, else until the window resets, else GitLab's one minute."""
    advised = retry_after({k.lower(): v for k, v in headers.items()})
    if advised is not None:
        return advised
    if limit.reset_epoch is not None:
        return max(0.0, limit.reset_epoch - (time.time() if now is None else now))
    return DEFAULT_WAIT_S
