"""The outbox relay in a child process of its service, off the serving event loop.

Publishing to Kafka costs CPU on whichever event loop runs the relay (encoding, batching,
acks), and a burst of rows stalls every request queued behind it: in the vault that was most of
the write tail (ADR 0008). With ``outbox_relay = "process"`` the service's lifespan starts this
module as a child process instead: it runs the same ``OutboxRelay`` (same claim, same advisory
lock, same LISTEN wake-up, so several relays stay safe), and is supervised by the parent:

* the parent passes its settings explicitly through the child's environment (settings built in
  code, as tests do, reach the child too) — never on the command line, which ``ps`` shows;
* ``start`` waits until the child says it is relaying, so events written right after start-up
  are not waiting on a child that is still importing;
* a child that dies is restarted (with a pause), and a child whose parent dies exits within a
  second rather than relaying for nobody;
* the child leads its own process group, so only its parent stops it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys

from hub_common.settings import HubSettings

log = logging.getLogger(__name__)

READY_LINE = b"outbox-relay ready\n"
_SCHEMA_ENV = "HUB_OUTBOX_RELAY_SCHEMA"
_PARENT_ENV = "HUB_OUTBOX_RELAY_PARENT"
START_TIMEOUT_S = 30.0
RESTART_PAUSE_S = 1.0
STOP_TIMEOUT_S = 10.0
RELAY_NICENESS = 10


def child_environment(settings: HubSettings, schema: str) -> dict[str, str]:
    """What the child needs, taken from the parent's settings object, not from its environment.
    No other ``HUB_*`` variable is passed on: the relay needs no keyring, service secret or
    signing key, so it does not get them."""
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("HUB_")},
        "HUB_SERVICE_NAME": settings.service_name,
        "HUB_ENVIRONMENT": settings.environment,
        "HUB_POSTGRES_DSN": settings.postgres_dsn,
        "HUB_KAFKA_BOOTSTRAP": settings.kafka_bootstrap,
        "HUB_OUTBOX_POLL_INTERVAL_S": str(settings.outbox_poll_interval_s),
        "HUB_LOG_LEVEL": settings.log_level,
        "HUB_LOG_JSON": "true" if settings.log_json else "false",
        _SCHEMA_ENV: schema,
        _PARENT_ENV: str(os.getpid()),
    }
    if settings.otlp_endpoint:  # its PRODUCER spans (and claim queries) are exported too
        env["HUB_OTLP_ENDPOINT"] = settings.otlp_endpoint
    return env


class RelayProcess:
    """The parent's handle: start, supervise and stop one relay child."""

    def __init__(self, settings: HubSettings, schema: str) -> None:
        self.settings = settings
        self.schema = schema
        self._proc: asyncio.subprocess.Process | None = None
        self._supervisor: asyncio.Task[None] | None = None
        self._stopping = False
        self.restarts = 0

    async def start(self) -> None:
        await self._spawn()
        self._supervisor = asyncio.create_task(self._supervise(), name=f"outbox-relay-process:{self.schema}")

    @property
    def alive(self) -> bool:
        return self._proc is not None and self._proc.returncode is None

    async def _spawn(self) -> None:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "hub_common.db.relay_process",
            env=child_environment(self.settings, self.schema),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            # Its own process group: a signal to the service's group (Ctrl+C, `hubctl down`)
            # reaches the parent, which stops the child in its shutdown, instead of ending the
            # child first and having it restarted (and reported as a crash) mid-shutdown.
            # (A new session, as uvloop cannot spawn into a new group without one; see
            # `_lower_priority` for what that means for its niceness.)
            start_new_session=True,
        )
        self._proc = proc
        assert proc.stdout is not None
        try:
            line = await asyncio.wait_for(proc.stdout.readline(), START_TIMEOUT_S)
        except TimeoutError:
            line = b""
        if line != READY_LINE:
            # Not fatal: the rows stay in the outbox; the supervisor keeps trying.
            log.warning("outbox relay process did not report ready", extra={"schema": self.schema})

    async def _supervise(self) -> None:
        while not self._stopping:
            proc = self._proc
            assert proc is not None
            code = await proc.wait()
            if self._stopping:
                return
            self.restarts += 1
            log.error(
                "outbox relay process exited; restarting",
                extra={"schema": self.schema, "returncode": code, "restarts": self.restarts},
            )
            await asyncio.sleep(RESTART_PAUSE_S)
            if not self._stopping:
                await self._spawn()

    async def stop(self) -> None:
        self._stopping = True
        proc = self._proc
        if proc is not None and proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proc.terminate()
            try:
                await asyncio.wait_for(proc.wait(), STOP_TIMEOUT_S)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
                await proc.wait()
        if self._supervisor is not None:
            self._supervisor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._supervisor


async def _relay_until_told(settings: HubSettings, schema: str, parent: int) -> None:
    from hub_common.db.outbox import OutboxRelay
    from hub_common.db.pool import create_pool
    from hub_common.kafka.producer import EventProducer

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    pool = await create_pool(
        settings.postgres_dsn,
        schema=schema,
        application_name=f"hub-{settings.service_name}-outbox-relay",
        min_size=1,
        max_size=2,
    )
    producer = EventProducer(settings.kafka_bootstrap, source=f"/integration-hub/{settings.service_name}")
    relay = OutboxRelay(
        pool=pool,
        dsn=settings.postgres_dsn,
        schema=schema,
        producer=producer,
        poll_interval_s=settings.outbox_poll_interval_s,
    )
    try:
        await producer.start()
        await relay.start()
        sys.stdout.buffer.write(READY_LINE)
        sys.stdout.flush()
        os.dup2(2, 1)  # nobody reads the pipe after this line: anything else goes to stderr
        while not stop.is_set() and os.getppid() == parent:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 0.5)
    finally:
        await relay.stop()
        await producer.stop()
        await pool.close()


def _lower_priority() -> None:
    """Background work: when cores are scarce, requests being served go first.

    Where the kernel shares CPU time out by session (autogroup: hosts that do not give services
    cgroups of their own), a niceness only ranks a process against the others of its session,
    and this child leads a session of its own: there, nice 10 alone changed nothing. The
    session's own niceness (``/proc/self/autogroup``) ranks it against everything else."""
    os.nice(RELAY_NICENESS)
    with contextlib.suppress(OSError), open("/proc/self/autogroup", "w") as autogroup:
        autogroup.write(str(RELAY_NICENESS))


def main() -> None:
    from hub_common.logging import configure_logging
    from hub_common.telemetry import setup_telemetry

    schema = os.environ[_SCHEMA_ENV]
    parent = int(os.environ[_PARENT_ENV])
    settings = HubSettings()
    configure_logging(f"{settings.service_name}-outbox-relay", settings.log_level, settings.log_json)
    # Before the priority drops: the exporter's imports take seconds on a loaded machine, and
    # the parent waits for the ready line. Only Postgres is instrumented here (no Redis, no HTTP).
    setup_telemetry(
        f"hub-{settings.service_name}-outbox-relay", settings.otlp_endpoint, libraries={"asyncpg"}
    )
    _lower_priority()
    asyncio.run(_relay_until_told(settings, schema, parent))


if __name__ == "__main__":
    main()
