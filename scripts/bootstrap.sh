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

# kustomize, for the deployment tests (tests/deploy render deploy/k8s): built from its Go module
# into .tools/bin once (about two minutes on two cores; seconds when the version is there). A
# machine without Go falls back to kubectl's built-in kustomize, if it has kubectl.
KUSTOMIZE_VERSION=v5.7.1
KUSTOMIZE=.tools/bin/kustomize
if ! { [ -x "$KUSTOMIZE" ] && [ "$("$KUSTOMIZE" version 2>/dev/null)" = "$KUSTOMIZE_VERSION" ]; }; then
  if command -v go >/dev/null 2>&1; then
    echo "bootstrap: building kustomize $KUSTOMIZE_VERSION into .tools/bin (Go module proxy)" >&2
    GOBIN="$PWD/.tools/bin" GOTOOLCHAIN=local go install "sigs.k8s.io/kustomize/kustomize/v5@$KUSTOMIZE_VERSION"
  elif ! kubectl kustomize --help >/dev/null 2>&1; then
    echo "bootstrap: warning: no Go and no kubectl: the deployment tests cannot render deploy/k8s" >&2
  fi
fi
