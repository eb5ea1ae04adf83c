#!/usr/bin/env bash
# `make bench`: run every bench/*_bench.py against the local stack; each prints its table and
# writes bench/results/<name>.json. Numbers are ratios to baselines measured in the same run.
set -euo pipefail
cd "$(dirname "$0")/.."
UV=(uv)
command -v uv >/dev/null 2>&1 || UV=(python3 -m uv)
"${UV[@]}" run --frozen hubctl stack up
# Services left running by `make up` would consume the benches' events on the same two cores
# (the vault bench's puts dropped from ~1,000 to ~560 ops/s with them up): pause them, measure,
# and start them again at the end.
services_were_up=0
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
if [ "$services_were_up" = 1 ]; then
  echo "== starting the hub's services again"
  "${UV[@]}" run --frozen hubctl up >/dev/null || status=1
fi
exit $status
