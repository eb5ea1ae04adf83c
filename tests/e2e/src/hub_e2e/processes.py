"""Run hub services as real processes for end-to-end tests (free ports, logs kept on failure)."""

from __future__ import annotations

import contextlib
import hashlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self

import httpx

from hub_common.testing.service_keys import service_env
from hub_e2e.secret_scan import REGISTRY

_handed_out: set[int] = set()
# Consumer groups of this test run. Without it, the services `make up` left running on the same
# Kafka would share the test processes' groups and take some of their partitions: the test's
# connectors service then never saw the integration.connected of its own connection.
RUN_GROUP_PREFIX = f"e2e-{uuid.uuid4().hex[:8]}"


def group_prefix(dsn: str) -> str:
    """This run's groups, one set per database: a module's processes (replicas included) share a
    database and so their groups, while the next module's processes never resume a group where
    an earlier module's consumers left off — behind a backlog a flood of events (the security
    suite's) left, which made the next module's first events arrive late."""
    return f"{RUN_GROUP_PREFIX}-{hashlib.sha256(dsn.encode()).hexdigest()[:8]}"


def _isolation(service: str, dsn: str) -> dict[str, str]:
    prefix = group_prefix(dsn)
    return {
        "connectors": {"HUB_CONNECTORS_CONSUMER_GROUP_PREFIX": f"{prefix}.connectors"},
        "webhooks": {
            "HUB_WEBHOOKS_DELIVERY_GROUP": f"{prefix}.webhooks.delivery-fanout",
            "HUB_WEBHOOKS_INTAKE_GROUP": f"{prefix}.webhooks.intake",
        },
    }.get(service, {})


def free_port() -> int:
    """A port nothing listens on, never one this process has handed out before: a service binds
    only after its start-up, so a second call in that window could otherwise get the same port
    back, and two "replicas" would then be one process answering on both URLs."""
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port: int = s.getsockname()[1]
        if port not in _handed_out:
            _handed_out.add(port)
            return port


def _command(service: str) -> list[str]:
    return [sys.executable, "-c", f"from hub_{service}.cli import main; main()"]


def new_log(prefix: str) -> Path:
    fd, name = tempfile.mkstemp(prefix=f"{prefix}-", suffix=".log")
    os.close(fd)
    return Path(name)


class ManagedProcess:
    """Start a local server as its own process group, wait until it answers, stop it cleanly.

    Subclasses provide ``port``, ``proc``, ``log_path``, ``env`` and the ``command()`` to run and
    the ``ready_path`` that answers 200 once the server is up.
    """

    port: int
    proc: subprocess.Popen[bytes] | None
    log_path: Path
    env: Mapping[str, str]
    ready_path: str = "/readyz"

    @property
    def label(self) -> str:
        return type(self).__name__

    def command(self) -> list[str]:
        raise NotImplementedError

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def process_env(self) -> dict[str, str]:
        return {**os.environ, **self.env}

    def start(self, timeout_s: float = 30.0) -> Self:
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                self.command(),
                env=self.process_env(),
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.label} exited: {self.log_tail()}")
            try:
                if httpx.get(f"{self.url}{self.ready_path}", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        self.stop()
        raise TimeoutError(f"{self.label} not ready in {timeout_s}s: {self.log_tail()}")

    def stop(self, timeout_s: float = 15.0) -> int | None:
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            return self.proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            return self.proc.wait(5)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    def log_tail(self, lines: int = 15) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


@dataclass
class ServiceProcess(ManagedProcess):
    """A hub service (``hub-<name> serve``) on a free port."""

    service: str
    env: Mapping[str, str]
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None
    log_path: Path = field(init=False)

    def __post_init__(self) -> None:
        self.log_path = new_log(f"hub-{self.service}")

    @property
    def label(self) -> str:
        return self.service

    def command(self) -> list[str]:
        return [*_command(self.service), "serve", "--port", str(self.port)]

    def start(self, timeout_s: float = 30.0) -> Self:
        # Its log, database and Kafka are scanned for the run's secrets at the end (ADR 0034).
        REGISTRY.register_service(self.log_path, dict(self.env))
        return super().start(timeout_s)

    def process_env(self) -> dict[str, str]:
        """The test's env over this run's own consumer groups and the service's identity (its
        own key of this run, its callers' public keys, HUB_ENVIRONMENT=test) over the machine's."""
        dsn = self.env.get("HUB_POSTGRES_DSN") or os.environ.get("HUB_POSTGRES_DSN", "")
        return {**os.environ, **service_env(self.service), **_isolation(self.service, dsn), **self.env}

    def migrate(self) -> None:
        subprocess.run(
            [*_command(self.service), "migrate"],
            env=self.process_env(),
            check=True,
            capture_output=True,
            timeout=60,
        )


# What a connector's e2e module runs: the services an action, a proxied call and an OAuth
# connect go through, and the webhooks service for triggers.
CONNECTOR_SERVICES = ("vault", "connectors", "oauth", "gateway", "webhooks")


@dataclass(frozen=True)
class PublicOAuth:
    """The oauth service's address fixed before anything starts: a provider simulator must know
    the redirect URI of its registered client before the hub (and so the oauth port) is up."""

    port: int = field(default_factory=free_port)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def client(self, client_id: str, client_secret: str) -> dict[str, Any]:
        """A simulator's OAuth client whose only redirect URI is the hub's callback."""
        return {
            "client_id": client_id,
            "client_secret": client_secret,
            "redirect_uris": [f"{self.url}/v1/oauth/callback"],
        }


@contextlib.contextmanager
def running_hub(
    stack: Any,
    dsn: str,
    services: Sequence[str],
    extra_env: Mapping[str, str] | None = None,
    *,
    oauth: PublicOAuth | None = None,
    parallel: bool = False,
) -> Iterator[dict[str, ServiceProcess]]:
    """The hub's services as real processes on one database: migrated, started in the order
    given (all at once with ``parallel``: a service's migration and start wait on its imports
    and its own schema, not on the other services), stopped in reverse. A name may repeat with
    a suffix (``gateway``, ``gateway-2``) for replicas; every process knows every service's URL
    (the first replica's). With ``oauth``, the oauth service listens on that port and calls it
    its public URL."""
    procs = {
        name: ServiceProcess(name.split("-", 1)[0], {}, port=oauth.port)
        if oauth is not None and name == "oauth"
        else ServiceProcess(name.split("-", 1)[0], {})
        for name in services
    }
    env = {
        "HUB_POSTGRES_DSN": dsn,
        "HUB_KAFKA_BOOTSTRAP": stack.kafka_bootstrap,
        "HUB_REDIS_URL": stack.redis_url,
        "HUB_CONNECTORS_CONSUMER_OFFSET_RESET": "latest",
        **{f"HUB_{name.upper()}_URL": proc.url for name, proc in procs.items() if "-" not in name},
        **({"HUB_OAUTH_PUBLIC_URL": oauth.url} if oauth is not None else {}),
        **(extra_env or {}),
    }
    try:
        for proc in procs.values():
            proc.env = env
        migrators: dict[str, ServiceProcess] = {}  # each service's first replica
        for proc in procs.values():
            migrators.setdefault(proc.service, proc)
        if parallel:  # each service migrates its own schema under its own advisory lock
            with ThreadPoolExecutor(len(procs)) as pool:
                for migrated in [pool.submit(p.migrate) for p in migrators.values()]:
                    migrated.result()
                for started in [pool.submit(p.start, timeout_s=120) for p in procs.values()]:
                    started.result()
        else:
            for proc in migrators.values():
                proc.migrate()
            for proc in procs.values():
                proc.start(timeout_s=60)
        yield procs
    finally:
        for proc in reversed(list(procs.values())):
            proc.stop()
