"""When the next attempt of a push happens (docs/adr/0020).

The default is Svix's schedule: after the first attempt, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h and
10 h. Each delay gets up to ±``jitter`` of itself at random, so subscribers that came back do not
receive every queued retry in the same second. A ``Retry-After`` the subscriber sent (seconds or
an HTTP date) is honoured when it asks for longer than the schedule, up to ``max_retry_after_s``.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

SVIX_SCHEDULE_S: tuple[float, ...] = (0, 5, 300, 1800, 7200, 18000, 36000, 36000)


@dataclass(frozen=True)
class RetrySchedule:
    delays_s: tuple[float, ...] = SVIX_SCHEDULE_S
    jitter: float = 0.2
    max_retry_after_s: float = 36000

    @property
    def max_attempts(self) -> int:
        return len(self.delays_s)

    def next_delay(self, attempts_made: int, retry_after_s: float | None = None) -> float | None:
        """Seconds until attempt ``attempts_made + 1``; None once the schedule is exhausted."""
        if attempts_made >= len(self.delays_s):
            return None
        base = self.delays_s[attempts_made]
        delay = base * (1 + random.uniform(-self.jitter, self.jitter))  # noqa: S311 - jitter only
        if retry_after_s is not None:
            delay = max(delay, min(retry_after_s, self.max_retry_after_s))
        return max(0.0, delay)


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """``Retry-After`` as seconds (delta-seconds or an HTTP date); None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def parse_schedule(text: str) -> tuple[float, ...]:
    """``"0,5,300"`` → delays in seconds (configuration)."""
    delays = tuple(float(part) for part in text.split(",") if part.strip())
    if not delays or any(d < 0 for d in delays):
        raise ValueError("a retry schedule is a comma-separated list of non-negative seconds")
    return delays
