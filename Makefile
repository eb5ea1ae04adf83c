# Integration Hub — the single entry point. `make up` and `make test` do all the set-up.
SHELL := /bin/bash
.DEFAULT_GOAL := help
UV := $(shell command -v uv 2>/dev/null || echo python3 -m uv)
export UV_LINK_MODE ?= copy

.PHONY: help bootstrap up down status test test-unit test-integration bench lint fmt token asyncapi

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-18s %s\n", $$1, $$2}'

bootstrap: ## install uv and the workspace (idempotent, seconds when present)
	@scripts/bootstrap.sh

up: bootstrap ## start Postgres, Kafka, Redis and every service; print the URLs
	@$(UV) run --frozen hubctl up

down: ## stop the services and the stack (data is kept)
	@$(UV) run --frozen hubctl down

status: ## what runs where
	@$(UV) run --frozen hubctl status

test: bootstrap ## the whole suite against the real stack (starts what it needs)
	@scripts/test.sh

test-unit: bootstrap ## only the unit tests (no stack)
	@$(UV) run --frozen pytest -m unit -q

bench: bootstrap ## the benchmarks: a table on stdout, JSON in bench/results/
	@scripts/bench.sh

lint: bootstrap ## ruff + mypy (strict for libs/) + import-linter layers (docs/adr/0027)
	@$(UV) run --frozen ruff check .
	@$(UV) run --frozen ruff format --check .
	@$(UV) run --frozen mypy libs/common/src libs/hubctl/src libs/connector-sdk/src examples/statuspage/src connectors/github/src connectors/openai/src connectors/anthropic/src connectors/notion/src connectors/slack/src connectors/gitlab/src connectors/linear/src connectors/atlassian/src
	@$(UV) run --frozen mypy $(wildcard services/*/src) tests/e2e/src
	@$(UV) run --frozen lint-imports

fmt: ## format the code
	@$(UV) run --frozen ruff format .
	@$(UV) run --frozen ruff check --fix .

asyncapi: bootstrap ## regenerate docs/asyncapi.json from the event models
	@$(UV) run --frozen hubctl asyncapi -o docs/asyncapi.json
