"""The tools the stack runs on; PostgreSQL, Redis, and Chromium with its WebDriver (the UI's
browser tests, docs/adr/0029) are installed from apt when missing."""

from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path

from hubctl.stack.common import StackError, StackPaths, run, say, show

PG_LIB = Path("/usr/lib/postgresql")

# Postgres and Redis start in parallel threads; one apt-get at a time (dpkg holds a lock anyway).
_apt_lock = threading.Lock()


def pg_bin_dirs(base: Path = PG_LIB) -> dict[int, Path]:
    """Installed PostgreSQL server versions (major -> bin dir), from Debian's layout."""
    found: dict[int, Path] = {}
    if base.is_dir():
        for d in base.iterdir():
            if d.name.isdigit() and (d / "bin" / "postgres").is_file():
                found[int(d.name)] = d / "bin"
    return found


def newest_pg_bin(base: Path = PG_LIB) -> Path | None:
    dirs = pg_bin_dirs(base)
    return dirs[max(dirs)] if dirs else None


def redis_server() -> str | None:
    return shutil.which("redis-server") or (
        "/usr/bin/redis-server" if Path("/usr/bin/redis-server").is_file() else None
    )


def chromium() -> str | None:
    """Debian's ``chromium`` (the browser tests drive it headless through ``chromedriver``)."""
    return shutil.which("chromium") or shutil.which("chromium-browser")


def chromedriver() -> str | None:
    return shutil.which("chromedriver")


def require_tool(name: str, hint: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise StackError(f"{name} not found: {hint}")
    return path


def _missing() -> list[str]:
    missing = []
    if newest_pg_bin() is None:
        missing.append("postgresql")
    if redis_server() is None:
        missing.append("redis-server")
    if chromium() is None:
        missing.append("chromium")
    if chromedriver() is None:
        missing.append("chromium-driver")
    return missing


def ensure_debian_packages(paths: StackPaths) -> None:
    """apt-get install what is missing; a no-op (a few stat calls) when everything is present."""
    with _apt_lock:
        missing = _missing()
        if not missing:
            return
        names = " ".join(missing)
        if os.geteuid() != 0:
            raise StackError(f"{names} not installed: run `sudo apt-get install -y {names}`")
        apt = shutil.which("apt-get")
        if apt is None:
            raise StackError(f"{names} not installed and apt-get not found: install them by hand")
        say(f"packages: installing {names} with apt-get")
        log = paths.log("apt")
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        install = [apt, "install", "-y", "-q", *missing]
        try:
            run(install, what=f"apt-get install {names}", log=log, env=env)
        except StackError:
            # A fresh machine has empty package lists: refresh them only when needed.
            run([apt, "update", "-q"], what="apt-get update", log=log, env=env)
            run(install, what=f"apt-get install {names}", log=log, env=env)
        still = _missing()
        if still:
            names = " ".join(still)
            raise StackError(f"{names} still missing after apt-get install; see {show(log)}")
