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
"${UV[@]}" run --frozen pytest "$@"
