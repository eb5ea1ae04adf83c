"""Start, stop and wait for the hub's services as local background processes.

Each service runs as ``hub-<name> serve`` with its log in ``.stack/logs/<name>.log`` and its pid
in ``.stack/run/<name>.pid``; ``up`` waits until ``/readyz`` answers 200.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from hubctl.ports import StackPorts


@dataclass(frozen=True)
class Service:
    name: str
    default_port: int
    public_paths: str

    @property
    def command(self) -> str:
        return f"hub-{self.name}"

    @property
    def port(self) -> int:
        """The default, unless ``HUB_<NAME>_PORT`` moves it (hubctl.ports)."""
        port: int = getattr(StackPorts.from_env(), self.name)
        return port

    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


# Start order: the vault first (everyone stores credentials there), the edge last.
SERVICES = (
    Service("vault", 8084, "internal only"),
    Service("oauth", 8082, "/v1/oauth/*"),
    Service("connectors", 8081, "/v1/connectors, /v1/connections, /v1/license, /v1/audit"),
    Service("webhooks", 8083, "/webhooks/* (inbound), /v1/webhooks/registrations, subscriptions, deliveries"),
    Service("gateway", 8080, "/v1/proxy/*, /v1/connections/{id}/rate-limit"),
)


class ServiceError(Exception):
    pass


def _pid_file(root: Path, svc: Service) -> Path:
    return root / ".stack" / "run" / f"{svc.name}.pid"


def _log_file(root: Path, svc: Service) -> Path:
    return root / ".stack" / "logs" / f"{svc.name}.log"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    return True


def running_pid(root: Path, svc: Service) -> int | None:
    try:
        pid = int(_pid_file(root, svc).read_text().strip())
    except (OSError, ValueError):
        return None
    return pid if _alive(pid) else None


def _ready(svc: Service) -> bool:
    try:
        with urllib.request.urlopen(f"{svc.url()}/readyz", timeout=2) as resp:  # noqa: S310
            return bool(resp.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def _executable(svc: Service) -> str:
    found = shutil.which(svc.command)
    if found is None:
        candidate = Path(sys.executable).parent / svc.command
        if candidate.exists():
            return str(candidate)
        raise ServiceError(f"{svc.command} not installed; run `uv sync` (make up does)")
    return found


def start(root: Path, svc: Service, env: dict[str, str] | None = None) -> int:
    pid = running_pid(root, svc)
    if pid is not None:
        return pid
    for d in ("logs", "run"):
        (root / ".stack" / d).mkdir(parents=True, exist_ok=True)
    log = _log_file(root, svc).open("ab")
    proc = subprocess.Popen(  # noqa: S603
        [_executable(svc), "serve", "--port", str(svc.port)],
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=root,
        env={**os.environ, **(env or {})},
        start_new_session=True,
    )
    _pid_file(root, svc).write_text(str(proc.pid))
    return proc.pid


def wait_ready(root: Path, svc: Service, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if _ready(svc):
            return
        if running_pid(root, svc) is None:
            raise ServiceError(f"{svc.name} exited during startup: {_tail(_log_file(root, svc))}")
        time.sleep(0.2)
    raise ServiceError(
        f"{svc.name} not ready on {svc.url()} within {timeout_s:.0f}s; "
        f"see {_log_file(root, svc).relative_to(root)}"
    )


def _tail(path: Path, lines: int = 3) -> str:
    try:
        text = path.read_text(errors="replace").strip().splitlines()
    except OSError:
        return "(no log)"
    return " | ".join(text[-lines:]) + f" (log: {path})"


def stop(root: Path, svc: Service, timeout_s: float = 15.0) -> bool:
    pid = running_pid(root, svc)
    _pid_file(root, svc).unlink(missing_ok=True)
    if pid is None:
        return False
    os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    if _alive(pid):
        os.killpg(pid, signal.SIGKILL)
    return True


def status(root: Path) -> dict[str, str]:
    out: dict[str, str] = {}
    for svc in SERVICES:
        pid = running_pid(root, svc)
        if pid is None:
            out[svc.name] = "stopped"
        else:
            out[svc.name] = f"{'ready' if _ready(svc) else 'starting'} (pid {pid}) on {svc.url()}"
    return out
