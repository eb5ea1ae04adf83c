"""Print coverage per package from the combined data of a `make test` run.

`coverage report` lists files; the scope's targets are per package (the vault, the gateway,
...), so this sums statements and misses per top-level package under each ``src/``.
Usage: ``uv run --frozen python scripts/coverage_table.py`` after ``coverage combine``.
"""

from __future__ import annotations

import sys
from collections import defaultdict
from pathlib import PurePath

import coverage


def package_of(path: str) -> str:
    parts = PurePath(path).parts
    if "src" in parts and parts.index("src") + 1 < len(parts):
        return parts[parts.index("src") + 1]
    return "(other)"


def main() -> int:
    cov = coverage.Coverage()
    cov.load()
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for path in cov.get_data().measured_files():
        try:
            _, statements, _, missing, _ = cov.analysis2(path)
        except coverage.CoverageException:
            continue  # a file that is gone or not Python
        total = totals[package_of(path)]
        total[0] += len(statements)
        total[1] += len(missing)
    if not totals:
        print("no coverage data", file=sys.stderr)
        return 1
    width = max(len(name) for name in totals)
    print(f"{'package':<{width}}  {'stmts':>7}  {'miss':>6}  {'cover':>6}")
    grand = [0, 0]
    for name in sorted(totals):
        stmts, miss = totals[name]
        grand[0] += stmts
        grand[1] += miss
        print(f"{name:<{width}}  {stmts:>7}  {miss:>6}  {100 * (stmts - miss) / max(stmts, 1):>5.1f}%")
    stmts, miss = grand
    print(f"{'TOTAL':<{width}}  {stmts:>7}  {miss:>6}  {100 * (stmts - miss) / max(stmts, 1):>5.1f}%")
    return 0


if __name__ == "__main__":
    sys.exit(main())
