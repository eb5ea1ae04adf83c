"""Test tiers: every test carries exactly one, checked at collection; the summary counts them.

``unit``: pure logic, in-memory fakes. ``component``: one service in process against the real
Postgres, Kafka and Redis, with stand-ins for its neighbouring services. ``integration``: real
infrastructure and real neighbours (or stand-ins a contract test checks against the real
service). ``e2e``: every service as a real process. ``browser``: the UI in headless Chromium.
A test with no tier, or two, stops the run before anything executes: "integration" must keep
meaning what it says.
"""

from __future__ import annotations

from collections import Counter

import pytest

TIERS = ("unit", "component", "integration", "e2e", "browser")
# Whole-system tiers run real processes on a shared 2-core machine: one failure is rerun once
# (pytest-rerunfailures) and listed in the summary; failing twice fails the run. The other tiers
# are never rerun: a failure there is a defect, full stop.
RERUN_TIERS = ("e2e", "browser")


def tier_of(item: pytest.Item) -> list[str]:
    return [t for t in TIERS if item.get_closest_marker(t) is not None]


def check_tiers(items: list[pytest.Item]) -> None:
    wrong = [f"{item.nodeid}: {tier_of(item) or 'no tier'}" for item in items if len(tier_of(item)) != 1]
    if wrong:
        shown = "\n  ".join(wrong[:20])
        more = f"\n  ... and {len(wrong) - 20} more" if len(wrong) > 20 else ""
        raise pytest.UsageError(
            f"every test needs exactly one tier marker ({', '.join(TIERS)}):\n  {shown}{more}"
        )


def summary_lines(reports: list[pytest.TestReport], items: dict[str, str]) -> list[str]:
    """One line per tier: passed / failed / skipped of the tests that ran."""
    outcomes: dict[str, Counter[str]] = {t: Counter() for t in TIERS}
    for report in reports:
        tier = items.get(report.nodeid)
        if tier is None:
            continue
        if report.when == "call" or (report.when == "setup" and report.outcome != "passed"):
            outcomes[tier][report.outcome] += 1
    return [
        f"{tier:<12} {sum(c.values()):>5} ran: "
        f"{c['passed']} passed, {c['failed']} failed, {c['skipped']} skipped"
        for tier, c in outcomes.items()
        if c
    ]


def rerun_lines(reports: list[pytest.TestReport]) -> list[str]:
    """The tests that failed once and were rerun, with the first error line of why."""
    lines = []
    for report in reports:
        text = (report.longreprtext or "").strip().splitlines()
        errors = [line[1:].strip() for line in text if line.startswith("E ")]
        why = errors[0] if errors else (text[-1] if text else "failed")
        lines.append(f"{report.nodeid}: {why}")
    return lines
