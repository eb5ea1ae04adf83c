#!/usr/bin/env bash
# `make test`: bring up the local stack if it is not running, run the whole suite against it,
# and stop afterwards exactly what this script started.
set -euo pipefail
cd "$(dirname "$0")/.."
UV=(uv)
command -v uv >/dev/null 2>&1 || UV=(python3 -m uv)

started_stack=0
if ! "${UV[@]}" run --frozen hubctl stack status >/dev/null 2>&1; then
  started_stack=1
fi
cleanup() {
  if [ "$started_stack" = 1 ] && [ -z "${HUB_KEEP_STACK:-}" ]; then
    "${UV[@]}" run --frozen hubctl stack down || true
  fi
}
trap cleanup EXIT
"${UV[@]}" run --frozen hubctl stack up

# The stack's addresses (HUB_*_PORT moves them; an address set explicitly is kept).
eval "$("${UV[@]}" run --frozen hubctl env)"

# Coverage across every process the suite starts (pyproject [tool.coverage.run]: the service
# processes inherit COVERAGE_PROCESS_CONFIG). HUB_COVERAGE=0 runs pytest alone.
# (No exec: the EXIT trap above still has to stop what this script started.)
status=0
if [ "${HUB_COVERAGE:-1}" = 0 ]; then
  "${UV[@]}" run --frozen pytest "$@" || status=$?
  exit "$status"
fi
rm -rf .coverage-data && mkdir -p .coverage-data
"${UV[@]}" run --frozen coverage run -m pytest "$@" || status=$?
if "${UV[@]}" run --frozen coverage combine -q; then
  "${UV[@]}" run --frozen python scripts/coverage_table.py || true
fi
exit "$status"
