"""Custom connectors run in worker processes that hold no hub secret.

A worker (``hub_connectors.plugin_host.worker``) serves one connector, one call at a time, and is
reused for that connector's next calls (a spawn costs a fresh interpreter and the SDK's imports;
``docs/adr/0011-plugin-isolation.md`` has the figures). Bounds: at most ``max_per_connector``
calls (so workers) per connector and ``max_workers`` live workers overall; an idle worker of
another connector is ended to make room, and when every slot is busy the call is refused at once
with ``ConnectorBusy``. A call that passes its deadline (plus a grace) kills its worker's whole
process group, so a blocking or hostile plugin frees its slot at once; a worker that dies, or
answers something that is not a protocol message, is ended too. Nothing a worker does can end
the service: its answers are data, validated here.

Workers start with an environment built from scratch (``PATH``, locale, time zone and nothing
else: no ``HUB_*``, no DSN, no service credentials), in ``/``, in their own session, and lock
themselves into Landlock before importing the plugin (``plugin_host/sandbox.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urlsplit

from hub_connectors.plugin_host import protocol
from hub_connectors.plugin_host.launch import command, import_path, readable_paths, scrubbed_env
from hub_connectors.registry import PluginRef
from hub_connectors.runtime.isolation import ConnectorBusy, ConnectorCrashed, ConnectorTimedOut

log = logging.getLogger(__name__)
SandboxMode = Literal["auto", "required", "off"]
WORKER_MODULE = "hub_connectors.plugin_host.worker"


class WorkerFailed(ConnectorCrashed):
    """The worker died, could not start, or answered something that is not the protocol."""


def gateway_port(gateway_url: str) -> int:
    parts = urlsplit(gateway_url)
    return parts.port or (443 if parts.scheme == "https" else 80)


@dataclass(eq=False)  # identity: workers live in a set
class _Worker:
    connector_id: str
    proc: asyncio.subprocess.Process
    sandbox: str = "none"
    last_used: float = field(default_factory=time.monotonic)

    @property
    def alive(self) -> bool:
        return self.proc.returncode is None

    async def read(self, timeout_s: float) -> dict[str, Any]:
        assert self.proc.stdout is not None
        try:
            line = await asyncio.wait_for(self.proc.stdout.readline(), timeout_s)
        except (ValueError, asyncio.LimitOverrunError):  # a line above the reader's limit
            raise WorkerFailed("the plugin answered more than the size limit") from None
        if not line:
            raise WorkerFailed(f"the plugin process exited (code {await self._exit_code()})")
        try:
            return protocol.decode(line)
        except ValueError:
            raise WorkerFailed("the plugin answered something that is not a protocol message") from None

    async def call(self, request: protocol.Request, timeout_s: float) -> dict[str, Any]:
        assert self.proc.stdin is not None
        try:
            self.proc.stdin.write(protocol.encode(request))
            await self.proc.stdin.drain()
        except (ConnectionError, RuntimeError):
            raise WorkerFailed(f"the plugin process exited (code {await self._exit_code()})") from None
        return await self.read(timeout_s)

    async def _exit_code(self) -> int | None:
        with contextlib.suppress(TimeoutError):
            return await asyncio.wait_for(self.proc.wait(), 1.0)
        return None

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)  # its own session: whatever it started too


def pool_key(connector_id: str, tenant_id: str) -> str:
    """One pool of workers per connector and tenant: a plugin's process state never crosses tenants."""
    return f"{connector_id}@{tenant_id}"


class ProcessIsolation:
    def __init__(
        self,
        *,
        gateway_url: str,
        max_workers: int = 8,
        max_per_connector: int = 4,
        grace_s: float = 1.0,
        spawn_timeout_s: float = 30.0,
        idle_s: float = 300.0,
        sandbox: SandboxMode = "auto",
        max_answer_bytes: int = 16 * 1024 * 1024,
    ) -> None:
        self.gateway_url = gateway_url.rstrip("/")
        self.max_workers = max_workers
        self.max_per_connector = max_per_connector
        self.grace_s = grace_s
        self.spawn_timeout_s = spawn_timeout_s
        self.idle_s = idle_s
        self.sandbox = sandbox
        self.max_answer_bytes = max_answer_bytes
        self._idle: dict[str, list[_Worker]] = {}
        self._busy: Counter[str] = Counter()
        self._live = 0
        self._reaping: set[asyncio.Task[Any]] = set()
        self._workers: set[_Worker] = set()  # every live worker, busy or idle (ended at close)
        self.spawned = 0

    def in_flight(self, key: str | None = None) -> int:
        return sum(self._busy.values()) if key is None else self._busy[key]

    def idle_workers(self, key: str) -> int:
        return len(self._idle.get(key, ()))

    async def run(self, connector_id: str, plugin: PluginRef, request: protocol.Request) -> dict[str, Any]:
        """``connector_id`` names the pool: callers pass ``pool_key(connector, tenant)``, so a
        worker (its memory, its leftover tasks, a token it kept) never serves another tenant."""
        return await self._run(connector_id, plugin, request)

    async def _run(self, connector_id: str, plugin: PluginRef, request: protocol.Request) -> dict[str, Any]:
        """One call in a worker of ``connector_id``: the worker's reply, or ConnectorBusy,
        ConnectorTimedOut (the worker is killed) or WorkerFailed."""
        worker = await self._checkout(connector_id, plugin)
        healthy = False
        try:
            reply = await worker.call(request, request["timeout_s"] + self.grace_s)
            healthy = True
            return reply
        except TimeoutError:
            raise ConnectorTimedOut(f"{connector_id}: no answer within {request['timeout_s']:g}s") from None
        finally:
            self._checkin(worker, healthy)

    # -- the pool -----------------------------------------------------------------------------
    async def _checkout(self, key: str, plugin: PluginRef) -> _Worker:
        self._end_idle(older_than=time.monotonic() - self.idle_s)
        if self._busy[key] >= self.max_per_connector:
            raise ConnectorBusy(f"{key}: too many calls still running")
        idle = self._idle.get(key)
        while idle:
            worker = idle.pop()
            if worker.alive:
                self._busy[key] += 1
                return worker
            self._live -= 1
        if self._live >= self.max_workers and not self._end_one_idle():
            raise ConnectorBusy(f"{key}: every plugin worker is busy")
        self._live += 1
        self._busy[key] += 1
        try:
            return await self._spawn(key, plugin)
        except BaseException:
            self._live -= 1
            self._busy[key] -= 1
            raise

    def _checkin(self, worker: _Worker, healthy: bool) -> None:
        self._busy[worker.connector_id] -= 1
        if self._busy[worker.connector_id] <= 0:
            del self._busy[worker.connector_id]
        if healthy and worker.alive:
            worker.last_used = time.monotonic()
            self._idle.setdefault(worker.connector_id, []).append(worker)
        else:
            self._end(worker)

    def _end(self, worker: _Worker) -> None:
        self._live -= 1
        self._discard(worker)

    def _discard(self, worker: _Worker) -> None:
        self._workers.discard(worker)
        worker.kill()
        task = asyncio.ensure_future(worker.proc.wait())  # reaped, never a zombie
        self._reaping.add(task)
        task.add_done_callback(self._reaping.discard)

    def _end_idle(self, older_than: float) -> None:
        for workers in self._idle.values():
            for worker in [w for w in workers if w.last_used < older_than]:
                workers.remove(worker)
                self._end(worker)

    def _end_one_idle(self) -> bool:
        candidates = [w for ws in self._idle.values() for w in ws]
        if not candidates:
            return False
        oldest = min(candidates, key=lambda w: w.last_used)
        self._idle[oldest.connector_id].remove(oldest)
        self._end(oldest)
        return True

    async def _spawn(self, key: str, plugin: PluginRef) -> _Worker:
        spec: protocol.WorkerSpec = {
            "module": plugin.module,
            "qualname": plugin.qualname,
            "file": plugin.file,
            "sys_path": import_path(),
            "read_paths": readable_paths([os.path.dirname(plugin.file)] if plugin.file else []),
            "gateway_port": gateway_port(self.gateway_url),
            "sandbox": self.sandbox,
        }
        proc = await asyncio.create_subprocess_exec(
            *command(WORKER_MODULE, protocol.encode(spec).decode().strip()),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            env=scrubbed_env(),
            cwd="/",
            start_new_session=True,
            limit=self.max_answer_bytes,
        )
        self.spawned += 1
        worker = _Worker(key, proc)
        self._workers.add(worker)
        try:
            hello = await worker.read(self.spawn_timeout_s)
            if hello.get("kind") != protocol.READY:
                raise WorkerFailed(f"the plugin could not be loaded: {str(hello.get('message'))[:300]}")
        except TimeoutError:
            self._discard(worker)
            raise WorkerFailed(f"the plugin worker did not start within {self.spawn_timeout_s:g}s") from None
        except BaseException:
            self._discard(worker)
            raise
        worker.sandbox = str(hello.get("sandbox"))
        log.log(
            logging.WARNING if worker.sandbox == "none" and self.sandbox != "off" else logging.INFO,
            "plugin worker started",
            extra={"connector_id": key, "pid": proc.pid, "sandbox": worker.sandbox},
        )
        return worker

    async def aclose(self) -> None:
        """End every worker, busy ones too (their calls then fail as crashed)."""
        for worker in list(self._workers):
            self._discard(worker)
        self._idle.clear()
        if self._reaping:
            await asyncio.wait(list(self._reaping), timeout=5)
