"""Prometheus series of the proxy (no label ever carries a path, a query or a header value).

Every call is one latency observation. prometheus_client's ``observe`` takes a lock per value
and, with several workers (multiprocess mode), writes two memory-mapped values: ~1 us per call
with one worker, ~2.2 us with several. Calls are counted into plain lists here instead and
moved into the histogram by :func:`flush`: every ``FLUSH_INTERVAL_S`` (:func:`flush_every`, a
background task) and right before this process answers a scrape (app.py), so a scrape is never
behind its own process and at most a second behind the other workers.
"""

from __future__ import annotations

import asyncio
import bisect

from prometheus_client import Histogram

BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
FLUSH_INTERVAL_S = 1.0
PROXY_SECONDS = Histogram(
    "hub_gateway_request_duration_seconds",
    "Proxied calls, gateway time included, by connector and status",
    ["connector", "status"],
    buckets=BUCKETS,
)
# (connector, status) → [sum of seconds, count per bucket (the last one is +Inf)]
_pending: dict[tuple[str, int], list[float]] = {}


def observe(connector: str, status: int, seconds: float) -> None:
    counts = _pending.get((connector, status))
    if counts is None:
        counts = _pending[(connector, status)] = [0.0] * (len(BUCKETS) + 2)
    counts[0] += seconds
    # The first bucket whose bound is >= seconds, as Histogram.observe picks it.
    counts[bisect.bisect_left(BUCKETS, seconds) + 1] += 1


def flush() -> None:
    """Move what was counted since the last flush into the Prometheus histogram."""
    global _pending
    pending, _pending = _pending, {}
    for (connector, status), counts in pending.items():
        child = PROXY_SECONDS.labels(connector, str(status))
        # Histogram.observe's own two steps (sum, then the bucket), n observations at a time;
        # pinned against observe() by tests/unit/test_metrics.py.
        child._sum.inc(counts[0])
        for bucket, n in zip(child._buckets, counts[1:], strict=True):
            if n:
                bucket.inc(n)


async def flush_every(interval_s: float = FLUSH_INTERVAL_S) -> None:
    try:
        while True:
            await asyncio.sleep(interval_s)
            flush()
    finally:
        flush()
