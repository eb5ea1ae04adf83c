"""``serve`` runs the app on the spec's server with the CLI's host, port and workers."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import granian
import pytest
import uvicorn
from granian.constants import Interfaces
from granian.log import LogLevels

from hub_common.service import ServiceSpec, run_cli
from hub_common.serving import granian_log_level
from hub_common.settings import HubSettings

pytestmark = pytest.mark.unit


class Recorder:
    """Stands in for the server class: records how it was built and that it was served."""

    calls: list[dict[str, Any]] = []

    def __init__(self, target: str, **options: Any) -> None:
        Recorder.calls.append({"target": target, **options})

    def serve(self) -> None:
        Recorder.calls[-1]["served"] = True


def spec(server: str) -> ServiceSpec:
    return ServiceSpec(
        name="demo",
        settings_factory=HubSettings,
        app_factory="demo.app:create_app",
        schema="demo",
        needs=(),
        server=server,  # type: ignore[arg-type]
    )


@pytest.fixture(autouse=True)
def _fresh_recorder(monkeypatch):
    Recorder.calls = []
    # Set first so the end of the test restores the variable's absence (serve sets it).
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", "")
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR")


def test_granian_gets_the_factory_address_and_workers(monkeypatch):
    monkeypatch.setattr(granian, "Granian", Recorder)
    monkeypatch.setattr(uvicorn, "run", lambda *a, **k: pytest.fail("uvicorn was not asked for"))
    assert run_cli(spec("granian"), ["serve", "--host", "127.0.0.2", "--port", "8123", "--workers", "2"]) == 0
    [call] = Recorder.calls
    assert call["target"] == "demo.app:create_app" and call["factory"] is True
    assert (call["address"], call["port"], call["workers"]) == ("127.0.0.2", 8123, 2)
    assert call["interface"] is Interfaces.ASGI and call["log_access"] is False
    assert call["respawn_failed_workers"] is True and call["served"] is True


def test_uvicorn_is_the_default_and_one_worker_uses_the_settings_port(monkeypatch):
    seen: list[tuple[tuple[Any, ...], dict[str, Any]]] = []
    monkeypatch.setattr(uvicorn, "run", lambda *a, **k: seen.append((a, k)))
    monkeypatch.setattr(granian, "Granian", lambda *a, **k: pytest.fail("granian was not asked for"))
    monkeypatch.setenv("HUB_PORT", "8321")
    assert run_cli(spec("uvicorn"), ["serve"]) == 0
    [(args, options)] = seen
    assert args == ("demo.app:create_app",) and options["port"] == 8321 and options["workers"] == 1
    assert options["access_log"] is False and options["factory"] is True


def test_several_workers_share_one_metrics_directory(monkeypatch):
    monkeypatch.setattr(granian, "Granian", Recorder)
    run_cli(spec("granian"), ["serve", "--workers", "3"])
    shared = Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])
    assert shared.is_dir() and shared.name.startswith("hub-demo-metrics-")
    shared.rmdir()


def test_a_bad_setting_is_one_line_and_status_2(monkeypatch, capsys):
    monkeypatch.setattr(granian, "Granian", lambda *a, **k: pytest.fail("served with a bad setting"))
    monkeypatch.setenv("HUB_PORT", "not-a-port")
    assert run_cli(spec("granian"), ["serve"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("hub-demo: error: invalid setting HUB_PORT") and err.count("\n") == 1


def test_log_levels_map_to_granian_names():
    assert granian_log_level("WARNING") is LogLevels.warning
    assert granian_log_level("debug") is LogLevels.debug
    assert granian_log_level("VERBOSE") is LogLevels.info
