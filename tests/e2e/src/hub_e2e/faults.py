"""Faults on demand for end-to-end tests: a TCP proxy that can cut a dependency off, and a Kafka
broker of the test's own that can be killed and restarted (the shared stack's broker serves
every other test and must never be stopped).

A Kafka client follows the broker's advertised listener after bootstrapping, so a proxy in
front of the shared broker cannot cut Kafka off: the throwaway broker can.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from string import Template
from typing import Self

from hub_e2e.processes import free_port

REPO = Path(__file__).resolve().parents[4]


class TcpProxy:
    """Forwards 127.0.0.1:<port> to ``target``; ``cut()`` drops every connection and refuses new
    ones (as a dead host does), ``restore()`` accepts again. Runs its own loop in a thread."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = free_port()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True, name="tcp-proxy")
        self._server: asyncio.base_events.Server | None = None
        self._open: set[asyncio.StreamWriter] = set()

    def __enter__(self) -> Self:
        self._thread.start()
        self.restore()
        return self

    def __exit__(self, *_: object) -> None:
        self.cut()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    def _run(self, coro) -> None:  # type: ignore[no-untyped-def]
        asyncio.run_coroutine_threadsafe(coro, self._loop).result(10)

    def restore(self) -> None:
        async def start() -> None:
            if self._server is None:
                self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)

        self._run(start())

    def cut(self) -> None:
        async def stop() -> None:
            if self._server is not None:
                self._server.close()
                self._server = None
            for writer in list(self._open):
                writer.transport.abort()
            self._open.clear()

        self._run(stop())

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.transport.abort()
            return
        self._open.update({writer, up_writer})

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(OSError, asyncio.CancelledError):
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            dst.transport.abort()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
        self._open.discard(writer)
        self._open.discard(up_writer)


def kafka_libs() -> Path:
    """The broker's jars, as `hubctl stack up` fetched them (``HUB_KAFKA_LIBS`` overrides)."""
    configured = os.environ.get("HUB_KAFKA_LIBS")
    libs = Path(configured) if configured else REPO / ".stack" / "kafka" / "libs"
    if not libs.is_dir():
        raise RuntimeError(f"no Kafka jars at {libs}: run `make up` (or set HUB_KAFKA_LIBS)")
    return libs


class ThrowawayKafka:
    """A single-node KRaft broker on free ports, data in a temporary folder; ``kill()`` is a
    SIGKILL, ``start()`` again keeps the data (as a broker restart does)."""

    def __init__(self) -> None:
        self.port, self.controller_port = free_port(), free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="hub-kafka-"))
        self.libs = kafka_libs()
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = self.dir / "broker.log"
        deploy = REPO / "deploy" / "local" / "kafka"
        template = (deploy / "server.properties.template").read_text()
        self.config = self.dir / "server.properties"
        self.config.write_text(
            Template(template).substitute(
                host="127.0.0.1",
                broker_port=self.port,
                controller_port=self.controller_port,
                log_dirs=str(self.dir / "data"),
            )
        )
        self.log4j = self.dir / "log4j2.properties"
        shutil.copyfile(deploy / "log4j2.properties", self.log4j)
        self._formatted = False

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def _classpath(self) -> str:
        return str(self.libs / "*")

    def start(self, timeout_s: float = 90.0) -> Self:
        java = shutil.which("java") or "java"
        if not self._formatted:
            cluster_id = base64.urlsafe_b64encode(os.urandom(16)).rstrip(b"=").decode()
            subprocess.run(
                [
                    java,
                    "-cp",
                    self._classpath(),
                    f"-Dlog4j2.configurationFile={self.log4j}",
                    "kafka.tools.StorageTool",
                    "format",
                    f"--cluster-id={cluster_id}",
                    "-c",
                    str(self.config),
                ],
                check=True,
                capture_output=True,
                timeout=120,
            )
            self._formatted = True
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                [
                    java,
                    "-Xms256m",
                    "-Xmx512m",
                    "-XX:+UseG1GC",
                    "-cp",
                    self._classpath(),
                    f"-Dlog4j2.configurationFile={self.log4j}",
                    "kafka.Kafka",
                    str(self.config),
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.dir,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"kafka exited: {self.log_path.read_text(errors='replace')[-2000:]}")
            if "Kafka Server started" in self.log_path.read_text(errors="replace"):
                return self
            time.sleep(0.2)
        raise TimeoutError(f"kafka did not start in {timeout_s}s")

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)
        # Count only the next start's banner.
        self.log_path.write_bytes(b"")

    def close(self) -> None:
        self.kill()
        shutil.rmtree(self.dir, ignore_errors=True)
