"""Prometheus series of the proxy (no label ever carries a path, a query or a header value)."""

from __future__ import annotations

from prometheus_client import Histogram

PROXY_SECONDS = Histogram(
    "hub_gateway_request_duration_seconds",
    "Proxied calls, gateway time included, by connector and status",
    ["connector", "status"],
    buckets=(0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
_children: dict[tuple[str, int], Histogram] = {}


def observe(connector: str, status: int, seconds: float) -> None:
    key = (connector, status)
    child = _children.get(key)
    if child is None:
        child = _children[key] = PROXY_SECONDS.labels(connector, str(status))
    child.observe(seconds)
