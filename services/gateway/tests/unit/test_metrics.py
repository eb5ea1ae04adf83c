"""The latency histogram counted in batches reads exactly as if every call were observed."""

from __future__ import annotations

import asyncio

import pytest
from prometheus_client import REGISTRY, CollectorRegistry, Histogram

from hub_gateway.api import metrics

pytestmark = pytest.mark.unit
SECONDS = [0.0001, 0.0005, 0.00050001, 0.001, 0.003, 0.0099, 0.01, 0.2, 2.5, 29.9, 30, 31, 500]


def sample(registry: CollectorRegistry, name: str, labels: dict[str, str]) -> float | None:
    return registry.get_sample_value(name, labels)


def test_a_flush_equals_observing_each_call():
    reference_registry = CollectorRegistry()
    reference = Histogram(
        "ref_seconds",
        "reference",
        ["connector", "status"],
        buckets=metrics.BUCKETS,
        registry=reference_registry,
    )
    labels = {"connector": "pinned-test", "status": "200"}
    for s in SECONDS:
        metrics.observe("pinned-test", 200, s)
        reference.labels("pinned-test", "200").observe(s)
    name = "hub_gateway_request_duration_seconds"
    before = sample(REGISTRY, f"{name}_count", labels) or 0.0
    metrics.flush()
    assert sample(REGISTRY, f"{name}_count", labels) == before + len(SECONDS)
    for bound in [*metrics.BUCKETS, float("inf")]:
        le = {**labels, "le": str(float(bound)) if bound != float("inf") else "+Inf"}
        got = sample(REGISTRY, f"{name}_bucket", le)
        want = sample(reference_registry, "ref_seconds_bucket", le)
        assert got == want, le
    assert sample(REGISTRY, f"{name}_sum", labels) == pytest.approx(sum(SECONDS))
    metrics.flush()  # nothing new: nothing moves
    assert sample(REGISTRY, f"{name}_count", labels) == before + len(SECONDS)


async def test_the_background_flush_runs_and_flushes_on_the_way_out():
    labels = {"connector": "flush-task", "status": "503"}
    task = asyncio.create_task(metrics.flush_every(0.01))
    metrics.observe("flush-task", 503, 0.002)
    for _ in range(100):
        if sample(REGISTRY, "hub_gateway_request_duration_seconds_count", labels):
            break
        await asyncio.sleep(0.01)
    assert sample(REGISTRY, "hub_gateway_request_duration_seconds_count", labels) == 1
    metrics.observe("flush-task", 503, 0.002)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert sample(REGISTRY, "hub_gateway_request_duration_seconds_count", labels) == 2
