"""Redis on 127.0.0.1:16379 from Debian's package: daemonized, no persistence."""

from __future__ import annotations

import shutil
import socket
import time
from pathlib import Path

from hubctl.ports import StackPorts
from hubctl.stack.common import (
    HOST,
    StackError,
    StackPaths,
    cancelled,
    cmdline,
    describe,
    ensure_port_free,
    pid_alive,
    read_pid,
    run,
    show,
    terminate,
    with_tail,
)
from hubctl.stack.packages import ensure_debian_packages, redis_server

NAME = "redis"
START_TIMEOUT_S = 15


def redis_port() -> int:
    """16379 unless HUB_REDIS_PORT says otherwise."""
    return StackPorts.from_env().redis


def command(server: str, paths: StackPaths) -> list[str]:
    return [
        server,
        "--port",
        str(redis_port()),
        "--bind",
        HOST,
        "--daemonize",
        "yes",
        "--pidfile",
        str(paths.pidfile(NAME)),
        "--logfile",
        str(paths.log(NAME)),
        "--dir",
        str(paths.redis),
        "--save",
        "",
        "--appendonly",
        "no",
    ]


def running_pid(paths: StackPaths) -> int | None:
    pid = read_pid(paths.pidfile(NAME))
    if pid is not None and pid_alive(pid) and "redis-server" in cmdline(pid):
        return pid
    return None


def ping() -> bool:
    """A raw RESP PING: no client library needed, and no pool left behind."""
    try:
        with socket.create_connection((HOST, redis_port()), timeout=1) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(64).startswith(b"+PONG")
    except OSError:
        return False


def _wait_ready(paths: StackPaths, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not ping():
        if cancelled.is_set():
            raise StackError("redis: interrupted")
        if time.monotonic() >= deadline:
            log = paths.log(NAME)
            raise StackError(
                with_tail(
                    f"redis did not answer PING on {HOST}:{redis_port()} within {timeout:.0f}s; "
                    f"see {show(log)}",
                    log,
                )
            )
        time.sleep(0.05)


def up(paths: StackPaths) -> str:
    ensure_debian_packages(paths)
    pid = running_pid(paths)
    if pid is not None:
        _wait_ready(paths, START_TIMEOUT_S)
        return f"already running (pid {pid}) on {HOST}:{redis_port()}"
    paths.pidfile(NAME).unlink(missing_ok=True)
    ensure_port_free(NAME, redis_port())
    server = redis_server()
    if server is None:
        raise StackError("redis-server not installed: apt-get install -y redis-server")
    paths.redis.mkdir(parents=True, exist_ok=True)
    # --daemonize: redis forks and writes its own pid file; the parent returns at once.
    run(command(server, paths), what="redis-server", log=paths.log(NAME))
    _wait_ready(paths, START_TIMEOUT_S)
    return f"ready on {HOST}:{redis_port()}"


def down(paths: StackPaths) -> str:
    pid = running_pid(paths)
    paths_pid = paths.pidfile(NAME)
    if pid is None:
        paths_pid.unlink(missing_ok=True)
        return "not running"
    killed = terminate(pid, group=False, timeout=10)
    paths_pid.unlink(missing_ok=True)
    return "killed (no exit within 10s)" if killed else "stopped"


def purge(paths: StackPaths) -> list[Path]:
    shutil.rmtree(paths.redis, ignore_errors=True)
    return [paths.redis]


def status(paths: StackPaths) -> str:
    return describe(running_pid(paths), redis_port())
