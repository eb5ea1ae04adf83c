#!/usr/bin/env bash
# Installs what the workspace needs: uv (from PyPI) and the locked Python environment.
# Idempotent and quick when everything is present. The stack's own packages (Postgres, Redis,
# Kafka jars) are installed by `hubctl stack up`.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v uv >/dev/null 2>&1 && ! python3 -m uv --version >/dev/null 2>&1; then
  echo "bootstrap: installing uv from PyPI" >&2
  python3 -m pip install --quiet --disable-pip-version-check uv
fi
UV=(uv)
command -v uv >/dev/null 2>&1 || UV=(python3 -m uv)
"${UV[@]}" sync --frozen --quiet
