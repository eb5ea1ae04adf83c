"""Two checkouts on one machine: HUB_*_PORT moves the local stack and the services, defaults stay
as they were, and ``make bench`` leaves the machine as it found it."""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

import pytest

from hub_common.settings import DEFAULT_KAFKA_BOOTSTRAP, DEFAULT_POSTGRES_DSN, DEFAULT_REDIS_URL, HubSettings
from hubctl import main as hubctl_main
from hubctl import services
from hubctl.ports import PortError, StackPorts, apply_stack_env
from hubctl.stack import StackPaths, find_repo_root
from hubctl.stack.kafka_config import render_server_properties
from hubctl.stack.postgres import PgLayout, render_conf
from hubctl.stack.redis import command as redis_command

pytestmark = pytest.mark.unit

ROOT = find_repo_root(Path(__file__).parent)
MOVED = {
    "HUB_POSTGRES_PORT": "25432",
    "HUB_KAFKA_PORT": "29092",
    "HUB_KAFKA_CONTROLLER_PORT": "29093",
    "HUB_REDIS_PORT": "26379",
    "HUB_VAULT_PORT": "9084",
    "HUB_OAUTH_PORT": "9082",
    "HUB_CONNECTORS_PORT": "9081",
    "HUB_WEBHOOKS_PORT": "9083",
    "HUB_GATEWAY_PORT": "9080",
}


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in list(os.environ):
        if key.startswith("HUB_"):
            monkeypatch.delenv(key)


def test_unset_ports_keep_every_default_address(clean_env: None) -> None:
    env = StackPorts.from_env().stack_env()
    defaults = HubSettings()
    assert env["HUB_POSTGRES_DSN"] == DEFAULT_POSTGRES_DSN
    assert env["HUB_KAFKA_BOOTSTRAP"] == DEFAULT_KAFKA_BOOTSTRAP
    assert env["HUB_REDIS_URL"] == DEFAULT_REDIS_URL
    for name in ("vault", "oauth", "connectors", "gateway", "webhooks"):
        assert env[f"HUB_{name.upper()}_URL"] == getattr(defaults, f"{name}_url")
    assert [s.port for s in services.SERVICES] == [8084, 8082, 8081, 8083, 8080]


def test_moved_ports_move_the_stack_the_services_and_their_addresses(
    clean_env: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for key, value in MOVED.items():
        monkeypatch.setenv(key, value)
    environ = dict(os.environ)
    apply_stack_env(environ)
    assert environ["HUB_POSTGRES_DSN"] == "postgresql://hub:hub@127.0.0.1:25432/hub"
    assert environ["HUB_KAFKA_BOOTSTRAP"] == "127.0.0.1:29092"
    assert environ["HUB_REDIS_URL"] == "redis://127.0.0.1:26379/0"
    assert environ["HUB_VAULT_URL"] == "http://127.0.0.1:9084"
    assert environ["HUB_OAUTH_PUBLIC_URL"] == "http://127.0.0.1:9082"
    assert {s.name: s.url() for s in services.SERVICES}["gateway"] == "http://127.0.0.1:9080"
    assert "port = 25432" in render_conf(PgLayout(tmp_path))
    template = (ROOT / "deploy/local/kafka/server.properties.template").read_text()
    props = render_server_properties(template, data_dir=tmp_path)
    assert "127.0.0.1:29092" in props and "127.0.0.1:29093" in props and "19092" not in props
    cmd = redis_command("redis-server", StackPaths(tmp_path))
    assert cmd[cmd.index("--port") + 1] == "26379"


def test_an_address_set_explicitly_is_kept(clean_env: None) -> None:
    environ = {"HUB_POSTGRES_PORT": "25432", "HUB_POSTGRES_DSN": "postgresql://me@db.example/hub"}
    apply_stack_env(environ)
    assert environ["HUB_POSTGRES_DSN"] == "postgresql://me@db.example/hub"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"HUB_REDIS_PORT": "redis"}, "HUB_REDIS_PORT='redis': a port is a number"),
        ({"HUB_REDIS_PORT": "80"}, "from 1024 to 65535"),
        ({"HUB_GATEWAY_PORT": "15432"}, "HUB_GATEWAY_PORT and HUB_POSTGRES_PORT are both 15432"),
    ],
)
def test_bad_ports_are_refused_with_the_variable_named(env: dict[str, str], message: str) -> None:
    with pytest.raises(PortError, match=message):
        StackPorts.from_env(env)


def test_hubctl_env_prints_the_addresses_for_a_shell(
    clean_env: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("HUB_REDIS_PORT", "26379")
    with pytest.raises(SystemExit) as done:
        hubctl_main.main(["env"])
    assert done.value.code == 0
    lines = capsys.readouterr().out.splitlines()
    assert "export HUB_REDIS_URL=redis://127.0.0.1:26379/0" in lines
    assert "export HUB_POSTGRES_DSN=postgresql://hub:hub@127.0.0.1:15432/hub" in lines


# --- scripts/bench.sh with a recording stand-in for uv ------------------------------------------

FAKE_UV = """#!/usr/bin/env bash
echo "$*" >> "$FAKE_UV_LOG"
case "$*" in
  "run --frozen hubctl stack status") [ "${FAKE_STACK_RUNNING:-0}" = 1 ] || exit 3 ;;
  "run --frozen hubctl status")
    if [ "${FAKE_SERVICES_UP:-0}" = 1 ]; then echo "vault       ready (pid 1) on x"; fi ;;
esac
exit 0
"""


def run_bench(tmp_path: Path, **env: str) -> list[str]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    uv = bin_dir / "uv"
    uv.write_text(FAKE_UV)
    uv.chmod(uv.stat().st_mode | stat.S_IEXEC)
    log = tmp_path / "uv.log"
    result = subprocess.run(
        ["bash", str(ROOT / "scripts" / "bench.sh")],
        env={
            "PATH": f"{bin_dir}:{os.environ['PATH']}",
            "FAKE_UV_LOG": str(log),
            "HOME": str(tmp_path),
            **env,
        },
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return log.read_text().splitlines()


def test_bench_stops_the_stack_it_started(tmp_path: Path) -> None:
    calls = run_bench(tmp_path)
    assert calls[0] == "run --frozen hubctl stack status"
    assert "run --frozen hubctl stack up" in calls
    assert any(c.startswith("run --frozen python bench/") for c in calls)
    assert calls[-1] == "run --frozen hubctl stack down"


def test_bench_leaves_a_running_stack_and_restarts_paused_services(tmp_path: Path) -> None:
    calls = run_bench(tmp_path, FAKE_STACK_RUNNING="1", FAKE_SERVICES_UP="1")
    assert "run --frozen hubctl stack down" not in calls
    assert "run --frozen hubctl down --services-only" in calls
    assert calls[-1] == "run --frozen hubctl up"


def test_bench_keeps_a_stack_it_started_when_asked(tmp_path: Path) -> None:
    calls = run_bench(tmp_path, HUB_KEEP_STACK="1")
    assert "run --frozen hubctl stack down" not in calls
