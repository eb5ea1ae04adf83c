# One image for every service: `hub-<name> serve` picks the process.
FROM python:3.11-slim AS build
RUN pip install --no-cache-dir uv
WORKDIR /app
COPY pyproject.toml uv.lock ./
COPY libs libs
COPY services services
COPY tests/e2e tests/e2e
COPY connectors connectors
RUN uv sync --frozen --no-dev --no-editable

FROM python:3.11-slim
RUN useradd --system --uid 10001 hub
COPY --from=build /app/.venv /app/.venv
# Production behaviour (the default): user tokens from HUB_JWT_JWKS_URL, service keys required
# (docs/security.md). HUB_ENVIRONMENT=dev would refuse to start on 0.0.0.0.
ENV PATH="/app/.venv/bin:$PATH" HUB_HOST=0.0.0.0
USER hub
EXPOSE 8080 8081 8082 8083 8084
CMD ["hubctl", "--help"]
