"""Exactly one tier per test, checked at collection; the summary counts each tier's outcomes."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from hub_common.testing.tiers import check_tiers, summary_lines

pytestmark = pytest.mark.unit


@dataclass
class Item:
    nodeid: str
    markers: tuple[str, ...] = ()

    def get_closest_marker(self, name: str) -> object | None:
        return name if name in self.markers else None


@dataclass
class Report:
    nodeid: str
    when: str
    outcome: str
    extra: dict[str, str] = field(default_factory=dict)


def test_one_tier_each_passes():
    check_tiers([Item("a::t1", ("unit",)), Item("b::t2", ("e2e",)), Item("c::t3", ("component", "slow"))])


@pytest.mark.parametrize("markers", [(), ("unit", "integration"), ("slow",)])
def test_none_or_two_stop_the_run_and_name_the_test(markers):
    with pytest.raises(pytest.UsageError) as stopped:
        check_tiers([Item("ok::t", ("unit",)), Item("pkg/test_x.py::test_bad", markers)])
    assert "pkg/test_x.py::test_bad" in str(stopped.value) and "ok::t" not in str(stopped.value)


def test_the_summary_counts_calls_and_failed_setups_per_tier():
    tiers = {"u1": "unit", "u2": "unit", "i1": "integration", "i2": "integration"}
    reports = [
        Report("u1", "setup", "passed"),
        Report("u1", "call", "passed"),
        Report("u2", "call", "failed"),
        Report("i1", "setup", "failed"),  # a fixture that broke: counted once, as failed
        Report("i2", "setup", "skipped"),
    ]
    lines = summary_lines(reports, tiers)  # type: ignore[arg-type]
    assert lines == [
        "unit             2 ran: 1 passed, 1 failed, 0 skipped",
        "integration      2 ran: 0 passed, 1 failed, 1 skipped",
    ]
