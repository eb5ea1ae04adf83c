"""Whole-system tiers are rerun once and listed; every other tier fails on its first failure."""

from __future__ import annotations

import pytest

from hub_common.testing.tiers import rerun_lines

pytest_plugins = ["pytester"]
pytestmark = pytest.mark.unit

# A test that fails on its first run and passes on its second (a file counts the runs).
ONCE = """
import pathlib, pytest
pytestmark = pytest.mark.{tier}

def test_flaky(tmp_path_factory):
    marker = pathlib.Path(r"{marker}")
    first = not marker.exists()
    marker.write_text("ran")
    assert not first, "first run fails"
"""


@pytest.mark.parametrize(
    ("tier", "reruns", "passes"),
    [("e2e", 1, True), ("browser", 1, True), ("unit", 0, False), ("integration", 0, False)],
)
def test_only_whole_system_tiers_are_rerun_once(
    pytester: pytest.Pytester, tier: str, reruns: int, passes: bool
):
    pytester.makepyfile(test_once=ONCE.format(tier=tier, marker=pytester.path / "ran-once"))
    result = pytester.runpytest("-p", "no:cacheprovider", "-p", "no:randomly")
    outcomes = result.parseoutcomes()
    assert outcomes.get("rerun", 0) == reruns
    assert outcomes.get("passed", 0) == (1 if passes else 0)
    assert outcomes.get("failed", 0) == (0 if passes else 1)
    if reruns:
        result.stdout.fnmatch_lines(["*failed once, rerun*", "*test_once.py::test_flaky: *first run fails*"])


def test_a_test_failing_twice_fails_the_run(pytester: pytest.Pytester):
    pytester.makepyfile(
        test_twice="import pytest\npytestmark = pytest.mark.e2e\ndef test_x():\n    assert False\n"
    )
    outcomes = pytester.runpytest("-p", "no:cacheprovider").parseoutcomes()
    assert outcomes.get("rerun") == 1 and outcomes.get("failed") == 1


def test_rerun_lines_name_the_test_and_the_first_error_line():
    class Report:
        nodeid = "tests/e2e/test_x.py::test_y"
        longreprtext = (
            "    assert x\nE   AssertionError: two deliveries not met\nE   assert 1 < 0\nt.py:3: Error"
        )

    assert rerun_lines([Report()]) == [  # type: ignore[list-item]
        "tests/e2e/test_x.py::test_y: AssertionError: two deliveries not met"
    ]
