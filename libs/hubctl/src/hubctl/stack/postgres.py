"""PostgreSQL on 127.0.0.1:15432 from Debian's packages, run as the ``postgres`` system user.

The server refuses to run as root, and a checkout under a private home folder is not traversable
by ``postgres``; so the data directory (and the server's log, symlinked into ``.stack/logs``)
lives under ``/var/tmp/integration-hub-<hash of the checkout path>``.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import shutil
import time
from dataclasses import dataclass
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
    say,
    show,
    with_tail,
)
from hubctl.stack.packages import ensure_debian_packages, newest_pg_bin, pg_bin_dirs

NAME = "postgres"
USER = PASSWORD = DATABASE = "hub"
START_TIMEOUT_S = 60

# Test-friendly: durability off (the data is disposable), room for many service pools.
SETTINGS: dict[str, str] = {
    "listen_addresses": "'127.0.0.1'",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "300",
    "shared_buffers": "128MB",
}


def pg_port() -> int:
    """15432 unless HUB_POSTGRES_PORT says otherwise."""
    return StackPorts.from_env().postgres


INCLUDE_LINE = "include_if_exists = 'hub.conf'  # written by hubctl on every start"


@dataclass(frozen=True)
class PgLayout:
    base: Path  # owned by postgres; also the unix socket directory

    @property
    def data(self) -> Path:
        return self.base / "pgdata"

    @property
    def server_log(self) -> Path:
        return self.base / "postgres.log"

    @classmethod
    def for_root(cls, root: Path) -> PgLayout:
        digest = hashlib.sha256(str(root.resolve()).encode()).hexdigest()[:12]
        # /var/tmp: world-traversable and survives reboots (unlike /tmp on some systems).
        return cls(Path("/var/tmp") / f"integration-hub-{digest}")  # noqa: S108


def render_conf(layout: PgLayout) -> str:
    lines = [f"{k} = {v}" for k, v in {**SETTINGS, "port": str(pg_port())}.items()]
    lines.append(f"unix_socket_directories = '{layout.base}'")
    return "# Managed by hubctl stack: rewritten on every start.\n" + "\n".join(lines) + "\n"


def _as_postgres(cmd: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return cmd  # a normal user may run the server itself
    runuser = shutil.which("runuser") or "/usr/sbin/runuser"
    return [runuser, "-u", "postgres", "--", *cmd]


def _chown(path: Path) -> None:
    if os.geteuid() == 0:
        shutil.chown(path, "postgres", "postgres")


def running_pid(layout: PgLayout) -> int | None:
    pid = read_pid(layout.data / "postmaster.pid")
    if pid is not None and pid_alive(pid) and "postgres" in cmdline(pid):
        return pid
    return None


def _bin_dir(layout: PgLayout) -> Path:
    """The server matching an existing cluster's version, else the newest installed."""
    try:
        major = int((layout.data / "PG_VERSION").read_text().strip())
    except (OSError, ValueError):
        newest = newest_pg_bin()
        if newest is None:
            raise StackError("postgresql not installed: apt-get install -y postgresql") from None
        return newest
    found = pg_bin_dirs().get(major)
    if found is None:
        raise StackError(
            f"the cluster in {layout.data} needs PostgreSQL {major}, which is not installed: "
            f"apt-get install postgresql-{major}, or `hubctl stack down --purge`"
        )
    return found


def _prepare(paths: StackPaths, layout: PgLayout, bin_dir: Path) -> bool:
    """Directories, cluster, config and log link; True when the cluster was just created."""
    layout.base.mkdir(mode=0o755, exist_ok=True)
    _chown(layout.base)
    if not layout.server_log.exists():
        # Created here so that it is readable by all (pg_ctl would create it 0600).
        layout.server_log.touch(mode=0o644)
        _chown(layout.server_log)
    ctl_log = paths.log("postgres-ctl")
    fresh = not (layout.data / "PG_VERSION").is_file()
    if fresh:
        say(f"postgres: creating the cluster in {layout.data}")
        pwfile = layout.base / "pwfile"
        pwfile.write_text(PASSWORD + "\n")
        pwfile.chmod(0o600)
        _chown(pwfile)
        try:
            run(
                _as_postgres(
                    [
                        str(bin_dir / "initdb"),
                        "-D",
                        str(layout.data),
                        "-U",
                        USER,
                        f"--pwfile={pwfile}",
                        "--auth-host=scram-sha-256",
                        "--auth-local=trust",
                        "-E",
                        "UTF8",
                        "--locale=C.UTF-8",
                    ]
                ),
                what="postgres initdb",
                log=ctl_log,
                cwd=layout.base,
            )
        finally:
            pwfile.unlink(missing_ok=True)
    conf = layout.data / "hub.conf"
    conf.write_text(render_conf(layout))
    _chown(conf)
    main_conf = layout.data / "postgresql.conf"
    if INCLUDE_LINE not in main_conf.read_text():
        with main_conf.open("a") as fh:
            fh.write(f"\n{INCLUDE_LINE}\n")
    # The server writes its log as postgres under /var/tmp; .stack/logs shows it via a symlink.
    link = paths.log("postgres")
    if link.is_symlink() or link.exists():
        link.unlink()
    link.symlink_to(layout.server_log)
    return fresh


async def _create_database() -> None:
    import asyncpg

    conn = await asyncpg.connect(
        host=HOST, port=pg_port(), user=USER, password=PASSWORD, database="postgres", timeout=5
    )
    try:
        await conn.execute(f'CREATE DATABASE "{DATABASE}" OWNER "{USER}"')
    except asyncpg.DuplicateDatabaseError:
        pass
    finally:
        await conn.close()


async def _wait_ready(paths: StackPaths, limit_s: float) -> None:
    """Until a real ``SELECT 1`` as hub/hub on db hub works; creates db hub on first start."""
    import asyncpg

    deadline = time.monotonic() + limit_s
    last = ""
    while True:
        try:
            conn = await asyncpg.connect(
                host=HOST, port=pg_port(), user=USER, password=PASSWORD, database=DATABASE, timeout=3
            )
            try:
                await conn.fetchval("SELECT 1")
                return
            finally:
                await conn.close()
        except asyncpg.InvalidCatalogNameError:
            await _create_database()
            continue
        except asyncpg.InvalidAuthorizationSpecificationError as exc:
            msg = f"postgres on {HOST}:{pg_port()} rejected {USER}/{PASSWORD}: {exc}"
            raise StackError(msg) from exc
        except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            last = str(exc) or type(exc).__name__
        if cancelled.is_set():
            raise StackError("postgres: interrupted")
        if time.monotonic() >= deadline:
            raise StackError(
                with_tail(
                    f"postgres did not answer on {HOST}:{pg_port()} within {limit_s:.0f}s ({last}); "
                    f"see {show(paths.log('postgres'))}",
                    paths.log("postgres"),
                )
            )
        await asyncio.sleep(0.2)


def up(paths: StackPaths) -> str:
    ensure_debian_packages(paths)
    layout = PgLayout.for_root(paths.root)
    pid = running_pid(layout)
    if pid is not None:
        asyncio.run(_wait_ready(paths, START_TIMEOUT_S))
        return f"already running (pid {pid}) on {HOST}:{pg_port()}"
    ensure_port_free(NAME, pg_port())
    bin_dir = _bin_dir(layout)
    fresh = _prepare(paths, layout, bin_dir)
    run(
        _as_postgres(
            [
                str(bin_dir / "pg_ctl"),
                "-D",
                str(layout.data),
                "-l",
                str(layout.server_log),
                "-w",
                "-t",
                str(START_TIMEOUT_S),
                "start",
            ]
        ),
        what="postgres (pg_ctl start)",
        log=paths.log("postgres-ctl"),
        see=paths.log("postgres"),
        cwd=layout.base,
    )
    if fresh:
        asyncio.run(_create_database())  # before the first real check: no FATAL in the log
    asyncio.run(_wait_ready(paths, START_TIMEOUT_S))
    return f"ready on {HOST}:{pg_port()}"


def down(paths: StackPaths) -> str:
    layout = PgLayout.for_root(paths.root)
    if running_pid(layout) is None:
        return "not running"
    run(
        _as_postgres(
            [str(_bin_dir(layout) / "pg_ctl"), "-D", str(layout.data), "-m", "fast", "-w", "-t", "60", "stop"]
        ),
        what="postgres (pg_ctl stop)",
        log=paths.log("postgres-ctl"),
        see=paths.log("postgres"),
        cwd=layout.base,
    )
    return "stopped"


def purge(paths: StackPaths) -> list[Path]:
    layout = PgLayout.for_root(paths.root)
    shutil.rmtree(layout.base, ignore_errors=True)
    paths.log("postgres").unlink(missing_ok=True)  # the symlink would dangle
    return [layout.base]


def status(paths: StackPaths) -> str:
    return describe(running_pid(PgLayout.for_root(paths.root)), pg_port())
