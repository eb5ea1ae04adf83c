"""docker-compose.yml validates against the compose specification's schema and starts the hub as
the local stack does; the Dockerfile keeps its build shape (docs/adr/0032)."""

from __future__ import annotations

import copy
import os
import re
import shlex
import shutil
import subprocess
from functools import cache
from typing import Any

import pytest
import yaml
from deploy_checks import HUB_SERVICES, REPO, compose_violations

from hub_common.settings import HubSettings
from hub_connectors.config import ConnectorsSettings
from hub_gateway.config import GatewaySettings
from hub_oauth.config import OAuthSettings
from hub_vault.config import VaultSettings
from hub_webhooks.config import WebhooksSettings
from hubctl.main import build_parser

pytestmark = pytest.mark.component

SETTINGS = (VaultSettings, OAuthSettings, ConnectorsSettings, GatewaySettings, WebhooksSettings)
KNOWN_ENV = {f"HUB_{field.upper()}" for cls in SETTINGS for field in cls.model_fields}
HUB_CONTAINERS = (*HUB_SERVICES, "connectors-worker")


@cache
def _compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    return loaded


def compose() -> dict[str, Any]:
    return copy.deepcopy(_compose())


def test_compose_file_validates_against_the_compose_spec():
    assert compose_violations(compose()) == []


def test_a_misspelt_compose_key_fails_validation():
    broken = compose()
    broken["services"]["gateway"]["depends_onn"] = broken["services"]["gateway"].pop("depends_on")
    assert any("depends_onn" in v for v in compose_violations(broken))
    broken = compose()
    broken["services"]["vault"]["depends_on"]["migrate"]["condition"] = "service_done"
    assert compose_violations(broken)


def test_every_service_waits_for_migrations_topics_and_its_dependencies():
    services = compose()["services"]
    for name in HUB_CONTAINERS:
        service = services[name]
        depends = service["depends_on"]
        assert depends["migrate"]["condition"] == "service_completed_successfully", name
        assert depends["topics"]["condition"] == "service_completed_successfully", name
        assert depends["redis"]["condition"] == "service_healthy", name
        if name != "vault":
            assert depends["vault"]["condition"] == "service_healthy", name
        assert service["read_only"] is True and service["cap_drop"] == ["ALL"], name
        assert any(t.startswith("/tmp") for t in service["tmpfs"]), name
        assert "healthcheck" not in service, f"{name}: the image's HEALTHCHECK (GET /healthz) applies"
    for datastore in ("postgres", "kafka", "redis"):
        assert services[datastore]["healthcheck"]["test"], datastore
    assert services["otel-collector"]["profiles"] == ["otel"]


def test_every_command_exists_and_every_variable_is_a_setting():
    services = compose()["services"]
    for name, service in services.items():
        command = service.get("command")
        if not command or "build" not in service:  # the datastores' own images
            continue
        if command[0] == "hubctl":
            build_parser().parse_args(command[1:])
        else:
            assert command[0].removeprefix("hub-") in HUB_SERVICES and command[1] == "serve", name
        env = service.get("environment", {})
        assert {n for n in env if n.startswith("HUB_")} - KNOWN_ENV == set(), name
    # The same addresses as the local stack's settings, pointed at the containers.
    env = services["gateway"]["environment"]
    for field in ("postgres_dsn", "kafka_bootstrap", "redis_url", *(f"{s}_url" for s in HUB_SERVICES)):
        assert f"HUB_{field.upper()}" in env and field in HubSettings.model_fields
    assert services["connectors"]["environment"]["HUB_CONNECTORS_BACKGROUND"] == "false"
    assert services["connectors-worker"]["environment"]["HUB_CONNECTORS_BACKGROUND"] == "true"
    assert services["vault"]["environment"]["HUB_VAULT_KEYRING_FILE"].startswith("/run/secrets/")


def _instructions() -> list[tuple[str, str]]:
    text = (REPO / "Dockerfile").read_text()
    joined = re.sub(r"\\\n\s*", " ", text)
    out = []
    for line in joined.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def test_dockerfile_installs_dependencies_before_the_source_and_runs_unprivileged():
    steps = _instructions()
    syncs = [i for i, (word, rest) in enumerate(steps) if word == "RUN" and "uv sync" in rest]
    assert len(syncs) == 2
    first, second = (steps[i][1] for i in syncs)
    assert "--no-install-workspace" in first and "--no-dev" in first
    assert "--no-editable" in second and "--no-dev" in second
    copies_before = [rest for word, rest in steps[: syncs[0]] if word == "COPY"]
    assert copies_before == ["pyproject.toml uv.lock ./"], "only the lockfile may come before step 1"
    copies_between = [rest.split()[0] for word, rest in steps[syncs[0] : syncs[1]] if word == "COPY"]
    assert {"libs", "services", "connectors"} <= set(copies_between)
    for word, rest in steps:
        if word == "COPY" and not rest.startswith("--from"):
            for source in shlex.split(rest)[:-1]:
                assert (REPO / source).exists(), f"COPY {source}: not in the repository"
    final_stage = steps[max(i for i, (w, _) in enumerate(steps) if w == "FROM") :]
    users = [rest for word, rest in final_stage if word == "USER"]
    assert users and users[-1].split(":")[0].isdigit() and int(users[-1].split(":")[0]) > 0
    health = [rest for word, rest in final_stage if word == "HEALTHCHECK"]
    assert health and "/healthz" in health[0]
    env = " ".join(rest for word, rest in final_stage if word == "ENV")
    assert "PYTHONDONTWRITEBYTECODE=1" in env and "HUB_PORT=8080" in env


def _build_stage() -> list[tuple[str, str]]:
    steps = _instructions()
    froms = [i for i, (word, _) in enumerate(steps) if word == "FROM"]
    return steps[froms[0] : froms[1]]


def test_the_dockerfile_build_stage_replays_with_the_files_it_copies(tmp_path):
    """The build stage's COPY and ``uv sync`` lines, run here with ``--dry-run``: the first sync
    resolves from the lockfile alone and installs no workspace package; the second installs
    every service and the CLI, and not the e2e package."""
    env = {**os.environ}
    for key in [k for k in env if k.startswith("UV_") or k == "VIRTUAL_ENV"]:
        del env[key]
    workdir = tmp_path
    plans = []
    for word, rest in _build_stage():
        if word == "ENV":
            for assignment in shlex.split(rest):
                name, _, value = assignment.partition("=")
                env[name] = value.replace("/app/", f"{tmp_path}/app/")
        elif word == "WORKDIR":
            workdir = tmp_path / rest.lstrip("/")
            workdir.mkdir(parents=True, exist_ok=True)
        elif word == "COPY":
            *sources, target = shlex.split(rest)
            for source in sources:
                destination = workdir / (target if target != "./" else source)
                if (REPO / source).is_dir():
                    shutil.copytree(REPO / source, destination, ignore=shutil.ignore_patterns("__pycache__"))
                else:
                    destination.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy(REPO / source, destination)
        elif word == "RUN" and "uv sync" in rest:
            # The uv running these tests (`uv run` names itself in UV), else the one on PATH.
            uv = os.environ.get("UV") or shutil.which("uv") or "uv"
            command = [uv, *shlex.split(rest[rest.index("uv sync") :])[1:]]
            proc = subprocess.run(
                [*command, "--dry-run"], cwd=workdir, env=env, capture_output=True, text=True, timeout=300
            )
            assert proc.returncode == 0, proc.stderr
            plans.append(set(re.findall(r"^ \+ ([a-z0-9-]+)", proc.stderr + proc.stdout, re.MULTILINE)))
    dependencies, workspace = plans
    assert dependencies and not {p for p in dependencies if p.startswith("hub")}
    assert {f"hub-{s}" for s in HUB_SERVICES} | {"hubctl", "hub-common"} <= workspace
    assert "hub-e2e" not in workspace
