#!/usr/bin/env bash
# `make bench`: run every bench/*_bench.py against the local stack; each prints its table and
# writes bench/results/<name>.json. Numbers are ratios to baselines measured in the same run.
# The machine is left as it was found: a stack this script started is stopped again, services
# it paused are started again (HUB_KEEP_STACK=1 keeps a stack it started). HUB_*_PORT moves the
# stack (see `hubctl env`), so a second checkout can run beside the first.
set -euo pipefail
cd "$(dirname "$0")/.."
UV=(uv)
command -v uv >/dev/null 2>&1 || UV=(python3 -m uv)

started_stack=0
if ! "${UV[@]}" run --frozen hubctl stack status >/dev/null 2>&1; then
  started_stack=1
fi
services_were_up=0
cleanup() {
  local code=$?
  if [ "$services_were_up" = 1 ]; then
    echo "== starting the hub's services again"
    "${UV[@]}" run --frozen hubctl up >/dev/null || code=1
  fi
  if [ "$started_stack" = 1 ] && [ -z "${HUB_KEEP_STACK:-}" ]; then
    echo "== stopping the stack this run started"
    "${UV[@]}" run --frozen hubctl stack down || code=1
  fi
  exit "$code"
}
trap cleanup EXIT
"${UV[@]}" run --frozen hubctl stack up
eval "$("${UV[@]}" run --frozen hubctl env)"
# Services left running by `make up` would consume the benches' events on the same two cores
# (the vault bench's puts dropped from ~1,000 to ~560 ops/s with them up): pause them, measure,
# and start them again at the end.
if "${UV[@]}" run --frozen hubctl status | grep -E '^(vault|oauth|connectors|webhooks|gateway) +(ready|starting)' >/dev/null; then
  services_were_up=1
  echo "== pausing the hub's services while the benchmarks run (make up's; restarted afterwards)"
  "${UV[@]}" run --frozen hubctl down --services-only
fi
mkdir -p bench/results
status=0
# The lightest first: the gateway run floods Kafka with request events, which would otherwise
# still be draining while the vault and oauth runs measure tail latency.
ordered=(bench/vault_bench.py bench/oauth_bench.py bench/gateway_bench.py)
for bench in "${ordered[@]}" bench/*_bench.py; do
  [ -e "$bench" ] || continue
  case " ${done_list:-} " in *" $bench "*) continue ;; esac
  done_list="${done_list:-} $bench"
  echo "== $bench"
  "${UV[@]}" run --frozen python "$bench" || status=1
done
exit $status
