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

export HUB_POSTGRES_DSN="${HUB_POSTGRES_DSN:-postgresql://hub:hub@127.0.0.1:15432/hub}"
export HUB_KAFKA_BOOTSTRAP="${HUB_KAFKA_BOOTSTRAP:-127.0.0.1:19092}"
export HUB_REDIS_URL="${HUB_REDIS_URL:-redis://127.0.0.1:16379/0}"
"${UV[@]}" run --frozen pytest "$@"
