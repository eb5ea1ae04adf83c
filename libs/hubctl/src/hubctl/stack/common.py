"""Shared helpers of the local stack: layout under ``.stack/``, progress, processes, ports."""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import tomllib
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

HOST = "127.0.0.1"
_FRAME = re.compile(r"^\s+(at |\.\.\. \d+ more)")

# Set when the user presses Ctrl-C so that worker threads stop waiting promptly.
cancelled = threading.Event()

_say_lock = threading.Lock()


class StackError(Exception):
    """A failure explained in one line (plus, at most, a few log lines); printed without a trace."""


@dataclass(frozen=True)
class StackPaths:
    """Where the stack keeps its files: everything under ``<root>/.stack``."""

    root: Path

    @property
    def stack(self) -> Path:
        return self.root / ".stack"

    @property
    def logs(self) -> Path:
        return self.stack / "logs"

    @property
    def run(self) -> Path:
        return self.stack / "run"

    @property
    def kafka(self) -> Path:
        return self.stack / "kafka"

    @property
    def kafka_libs(self) -> Path:
        return self.kafka / "libs"

    @property
    def kafka_data(self) -> Path:
        return self.kafka / "data"

    @property
    def redis(self) -> Path:
        return self.stack / "redis"

    @property
    def deploy(self) -> Path:
        return self.root / "deploy" / "local" / "kafka"

    def log(self, name: str) -> Path:
        return self.logs / f"{name}.log"

    def pidfile(self, name: str) -> Path:
        return self.run / f"{name}.pid"

    def ensure(self) -> None:
        for d in (self.logs, self.run):
            d.mkdir(parents=True, exist_ok=True)


def _is_workspace_root(d: Path) -> bool:
    try:
        data = tomllib.loads((d / "pyproject.toml").read_text())
    except (OSError, tomllib.TOMLDecodeError):
        return False
    return "workspace" in data.get("tool", {}).get("uv", {})


def find_repo_root(start: Path | None = None) -> Path:
    """The checkout root: the nearest directory up whose pyproject.toml has [tool.uv.workspace].

    Without ``start`` the current directory is tried first, then this file's location (hubctl is
    installed editable from the workspace, so that works from anywhere).
    """
    starts = [start] if start is not None else [Path.cwd(), Path(__file__)]
    for s in starts:
        s = s.resolve()
        for d in (s, *s.parents):
            if _is_workspace_root(d):
                return d
    raise StackError(
        "repository root not found: run hubctl inside the integration-hub checkout "
        "(a pyproject.toml with [tool.uv.workspace])"
    )


def say(message: str) -> None:
    """One progress line on stderr; a lock keeps lines of parallel components whole."""
    with _say_lock:
        print(message, file=sys.stderr, flush=True)


def show(path: Path) -> str:
    """A path as messages print it: relative to the current directory when inside it."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def tail(path: Path, lines: int = 5) -> list[str]:
    try:
        with path.open("rb") as fh:
            fh.seek(0, os.SEEK_END)
            fh.seek(max(0, fh.tell() - 16384))
            text = fh.read().decode("utf-8", "replace")
    except OSError:
        return []
    # Only this run: hubctl writes a "=== " marker before each command it runs.
    text = text[text.rfind("\n=== ") + 1 :].split("\n", 1)[-1] if "\n=== " in text else text
    # Java stack frames say little: keep the exception and log lines around them.
    keep = [ln.rstrip() for ln in text.splitlines() if ln.strip() and not _FRAME.match(ln)]
    return keep[-lines:]


def with_tail(message: str, log: Path, lines: int = 5) -> str:
    """The one-line cause followed by the last few log lines, indented."""
    return "\n".join([message, *(f"  | {ln}" for ln in tail(log, lines))])


def read_pid(path: Path) -> int | None:
    try:
        return int(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def write_pid(path: Path, pid: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"{pid}\n")


def pid_alive(pid: int) -> bool:
    """True when the process exists and is not a zombie."""
    # Reap it if it is our own child (up and down in one Python process); else no-op.
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    # A zombie is not reaped where PID 1 is not an init (containers): treat it as dead.
    return stat.rsplit(")", 1)[-1].split()[0] not in ("Z", "X")


def cmdline(pid: int) -> str:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return ""
    return raw.replace(b"\0", b" ").decode("utf-8", "replace").strip()


def port_open(port: int, host: str = HOST, timeout: float = 0.3) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def _listening_inodes(port: int) -> set[str]:
    inodes: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            rows = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            f = row.split()
            # f[1] is "ADDR:PORT" in hex, f[3] the state (0A = LISTEN), f[9] the socket inode.
            if len(f) > 9 and f[3] == "0A" and int(f[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(f[9])
    return inodes


def port_owner(port: int) -> str | None:
    """'pid N: command' of the process listening on ``port``, when /proc lets us see it."""
    targets = {f"socket:[{i}]" for i in _listening_inodes(port)}
    if not targets:
        return None
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            for fd in (proc / "fd").iterdir():
                if os.readlink(fd) in targets:
                    return f"pid {proc.name}: {cmdline(int(proc.name))[:100]}"
    return None


def ensure_port_free(name: str, port: int) -> None:
    if port_open(port):
        owner = port_owner(port)
        who = f" ({owner})" if owner else ""
        raise StackError(f"{name}: port {HOST}:{port} is taken by another process{who}; stop it and retry")


def describe(pid: int | None, port: int) -> str:
    """The status line of one component, as ``hubctl stack status`` prints it."""
    addr = f"{HOST}:{port}"
    if pid is not None:
        if port_open(port):
            return f"running (pid {pid}) on {addr}"
        return f"starting (pid {pid}), not answering on {addr} yet"
    if port_open(port):
        return f"stopped ({addr} is taken by another process)"
    return "stopped"


def wait_until(check: Callable[[], bool], timeout: float, interval: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while True:
        if check():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)


def terminate(pid: int, *, group: bool, timeout: float) -> bool:
    """SIGTERM, then SIGKILL after ``timeout`` seconds; True when it had to be killed."""

    def send(sig: signal.Signals) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            if group:
                os.killpg(pid, sig)
            else:
                os.kill(pid, sig)

    send(signal.SIGTERM)
    if wait_until(lambda: not pid_alive(pid), timeout):
        return False
    send(signal.SIGKILL)
    wait_until(lambda: not pid_alive(pid), 5)
    return True


def run(
    cmd: Sequence[str | Path],
    *,
    what: str,
    log: Path,
    see: Path | None = None,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float | None = None,
) -> None:
    """Run a command to completion, appending its output to ``log``.

    On failure raise a StackError naming ``what`` and the log to read (``see``, default ``log``)
    with its last lines.
    """
    argv = [str(c) for c in cmd]
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        out.write(f"\n=== {time.strftime('%Y-%m-%d %H:%M:%S')} $ {' '.join(argv)}\n".encode())
        out.flush()
        try:
            proc = subprocess.run(  # noqa: S603 - argv built here, no shell
                argv,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=cwd,
                env=None if env is None else dict(env),
                timeout=timeout,
                check=False,
            )
        except FileNotFoundError as exc:
            raise StackError(f"{what}: {argv[0]} not found") from exc
        except subprocess.TimeoutExpired as exc:
            msg = f"{what} did not finish within {timeout:.0f}s; see {show(log)}"
            raise StackError(msg) from exc
    if proc.returncode != 0:
        shown = see or log
        msg = f"{what} failed (exit {proc.returncode}); see {show(shown)}"
        raise StackError(with_tail(msg, shown))


@contextlib.contextmanager
def stack_lock(paths: StackPaths) -> Iterator[None]:
    """Serialize concurrent ``hubctl stack`` commands on one checkout (e.g. parallel make runs)."""
    paths.run.mkdir(parents=True, exist_ok=True)
    with (paths.run / "stack.lock").open("w") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            say("stack: waiting for another hubctl stack command to finish")
            fcntl.flock(fh, fcntl.LOCK_EX)
        yield
