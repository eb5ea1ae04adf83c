"""A Postgres, Kafka (KRaft) and Redis of a test's own, on free ports in a temporary folder, that
the test may stop, kill and restart: the shared stack serves every other test and engineer and is
never touched.

It reuses ``hubctl.stack`` (the same binaries, the same Kafka jars, the same settings as `make
up`) by pointing a throwaway "checkout" at it: ``<tmp>/deploy/local/kafka`` links to this
repository's Kafka configuration, ``<tmp>/.stack/kafka/libs`` to the jars `hubctl stack up`
fetched (``HUB_KAFKA_LIBS`` overrides, as in :mod:`hub_e2e.faults`). Each component runs in a
subprocess whose ``HUB_*_PORT`` variables name the free ports, so this process's environment is
never changed. Postgres keeps its data under ``/var/tmp/integration-hub-<hash of the folder>``
(hubctl's layout); :meth:`DedicatedStack.close` deletes it with the rest.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Self

from hub_e2e.faults import REPO, kafka_libs
from hub_e2e.processes import free_port

COMPONENTS = ("postgres", "kafka", "redis")
_DRIVER = """
import sys
from pathlib import Path
from hubctl.stack import {component} as component
from hubctl.stack.common import StackError, StackPaths
try:
    print(component.{action}(StackPaths(Path(sys.argv[1]))))
except StackError as exc:
    print(exc, file=sys.stderr)
    sys.exit(1)
"""


class DedicatedStack:
    """``with DedicatedStack() as stack:`` -- ``stack.dsn``, ``stack.kafka_bootstrap``,
    ``stack.redis_url``; ``stop(c)``/``start(c)`` (hubctl's own down/up), ``kill_kafka()``."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="hub-dedicated-stack-"))
        self.ports = {
            "HUB_POSTGRES_PORT": free_port(),
            "HUB_KAFKA_PORT": free_port(),
            "HUB_KAFKA_CONTROLLER_PORT": free_port(),
            "HUB_REDIS_PORT": free_port(),
        }
        (self.root / "deploy" / "local").mkdir(parents=True)
        (self.root / "deploy" / "local" / "kafka").symlink_to(REPO / "deploy" / "local" / "kafka")
        (self.root / ".stack" / "kafka").mkdir(parents=True)
        (self.root / ".stack" / "kafka" / "libs").symlink_to(kafka_libs())
        self._check_jars()

    def _check_jars(self) -> None:
        from hubctl.stack.kafka_config import libs_need_fetch

        if libs_need_fetch(self.root / ".stack" / "kafka" / "libs", REPO / "deploy/local/kafka/pom.xml"):
            raise RuntimeError(
                f"the Kafka jars at {kafka_libs()} do not match deploy/local/kafka/pom.xml: "
                "`hubctl stack up` refreshes them (or point HUB_KAFKA_LIBS at current ones)"
            )

    @property
    def dsn(self) -> str:
        return f"postgresql://hub:hub@127.0.0.1:{self.ports['HUB_POSTGRES_PORT']}/hub"

    @property
    def kafka_bootstrap(self) -> str:
        return f"127.0.0.1:{self.ports['HUB_KAFKA_PORT']}"

    @property
    def redis_url(self) -> str:
        return f"redis://127.0.0.1:{self.ports['HUB_REDIS_PORT']}/0"

    def log(self, component: str) -> Path:
        return self.root / ".stack" / "logs" / f"{component}.log"

    def _run(self, component: str, action: str, timeout_s: float = 180) -> str:
        (self.root / ".stack" / "logs").mkdir(parents=True, exist_ok=True)
        (self.root / ".stack" / "run").mkdir(parents=True, exist_ok=True)
        env = {**os.environ, **{k: str(v) for k, v in self.ports.items()}}
        done = subprocess.run(
            [sys.executable, "-c", _DRIVER.format(component=component, action=action), str(self.root)],
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"{component} {action}: {done.stderr.strip()[-2000:]}")
        return done.stdout.strip()

    def start(self, component: str) -> str:
        return self._run(component, "up")

    def stop(self, component: str) -> str:
        return self._run(component, "down")

    def kill_kafka(self) -> None:
        """SIGKILL the broker's process group (no clean shutdown), as a crashed node."""
        pidfile = self.root / ".stack" / "run" / "kafka.pid"
        pid = int(pidfile.read_text().split()[0])
        os.killpg(pid, signal.SIGKILL)
        _wait(lambda: not Path(f"/proc/{pid}").exists() or _zombie(pid), 15)

    def __enter__(self) -> Self:
        try:
            with ThreadPoolExecutor(len(COMPONENTS)) as pool:  # as `hubctl stack up` does
                for started in [pool.submit(self.start, c) for c in COMPONENTS]:
                    started.result()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        for component in reversed(COMPONENTS):
            try:
                self.stop(component)
                self._run(component, "purge")
            except (RuntimeError, subprocess.TimeoutExpired) as exc:
                print(f"dedicated stack: {component}: {exc}", file=sys.stderr)
        shutil.rmtree(self.root, ignore_errors=True)


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()[0] in ("Z", "X")
    except OSError:
        return True


def _wait(check: Callable[[], bool], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError(f"not done within {timeout_s}s")
        time.sleep(0.05)
