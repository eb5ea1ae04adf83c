#!/usr/bin/env bash
# `make bench`: run every bench/*_bench.py against the local stack; each prints its table and
# writes bench/results/<name>.json. Numbers are ratios to baselines measured in the same run.
set -euo pipefail
cd "$(dirname "$0")/.."
UV=(uv)
command -v uv >/dev/null 2>&1 || UV=(python3 -m uv)
"${UV[@]}" run --frozen hubctl stack up
mkdir -p bench/results
status=0
for bench in bench/*_bench.py; do
  [ -e "$bench" ] || continue
  echo "== $bench"
  "${UV[@]}" run --frozen python "$bench" || status=1
done
exit $status
