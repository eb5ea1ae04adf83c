# syntax=docker/dockerfile:1
# One image for every service, built from the repository root (`docker build .`); the command
# picks the process: `hub-<service> serve`, `hub-<service> migrate`, `hubctl topics`, ...
# Decisions: docs/adr/0032-deployment-images-compose-kubernetes.md.
ARG PYTHON_IMAGE=python:3.11.7-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ARG UV_VERSION=0.13.10
RUN pip install --no-cache-dir "uv==${UV_VERSION}"
ENV UV_FROZEN=1 UV_LINK_MODE=copy UV_COMPILE_BYTECODE=1 UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/app/.venv
WORKDIR /src
# Step 1, the third-party dependencies alone: the lockfile decides them, so this layer is
# rebuilt only when uv.lock or the root pyproject changes, never on a source edit.
COPY pyproject.toml uv.lock ./
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --no-dev --no-install-workspace
# Step 2, the workspace's own packages, installed as wheels (no editable links back to /src).
# The e2e package (tests and provider simulators) stays out of the image; uv still reads its
# pyproject as a workspace member.
COPY libs libs
COPY services services
COPY connectors connectors
COPY examples examples
COPY tests/e2e/pyproject.toml tests/e2e/pyproject.toml
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --no-dev --no-editable --no-install-package hub-e2e

FROM ${PYTHON_IMAGE}
RUN groupadd --system --gid 10001 hub \
 && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent hub
COPY --from=build /app/.venv /app/.venv
# Production behaviour (the default): user tokens from HUB_JWT_JWKS_URL, service keys required
# (docs/security.md). Every service listens on 8080 inside its container; the addresses of the
# others come from HUB_<SERVICE>_URL. Bytecode was compiled at build time: with a read-only root
# filesystem nothing may write next to the code, and the only writable place is /tmp (a volume:
# compose's tmpfs, Kubernetes' emptyDir), which is also the working directory.
ENV PATH="/app/.venv/bin:$PATH" PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    HUB_HOST=0.0.0.0 HUB_PORT=8080
WORKDIR /tmp
USER 10001:10001
EXPOSE 8080
# /healthz answers while the process serves (hub_common.web.health); the python standard
# library makes the request, since the slim image has no curl.
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('HUB_PORT', '8080'), timeout=2)"]
CMD ["hubctl", "--help"]
