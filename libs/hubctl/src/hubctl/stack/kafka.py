"""Single-node KRaft Kafka on 127.0.0.1:19092 from Maven Central jars, run as a detached JVM."""

from __future__ import annotations

import asyncio
import logging
import shutil
import subprocess
import time
from pathlib import Path

from hubctl.stack.common import (
    HOST,
    StackError,
    StackPaths,
    cancelled,
    cmdline,
    describe,
    ensure_port_free,
    pid_alive,
    port_open,
    read_pid,
    run,
    say,
    show,
    terminate,
    with_tail,
    write_pid,
)
from hubctl.stack.kafka_config import (
    MIN_JAVA,
    POM_HASH_FILE,
    broker_port,
    controller_port,
    fetch_command,
    format_command,
    java_major,
    libs_need_fetch,
    new_cluster_id,
    pom_digest,
    render_server_properties,
    require_java,
    require_mvn,
    server_command,
)

NAME = "kafka"
START_TIMEOUT_S = 90
STOP_TIMEOUT_S = 30


def _config(paths: StackPaths) -> Path:
    return paths.kafka / "server.properties"


def _log4j(paths: StackPaths) -> Path:
    return paths.kafka / "log4j2.properties"


def _repo_file(paths: StackPaths, name: str) -> Path:
    path = paths.deploy / name
    if not path.is_file():
        raise StackError(f"kafka: {show(path)} is missing from the checkout")
    return path


def running_pid(paths: StackPaths) -> int | None:
    pid = read_pid(paths.pidfile(NAME))
    # Match our own config path: another checkout's broker is not ours to adopt or stop.
    if pid is not None and pid_alive(pid) and str(_config(paths)) in cmdline(pid):
        return pid
    return None


def ensure_libs(paths: StackPaths) -> None:
    pom = _repo_file(paths, "pom.xml")
    libs = paths.kafka_libs
    if not libs_need_fetch(libs, pom):
        return
    mvn = require_mvn()
    say("kafka: fetching the Kafka jars from Maven Central (first run only)")
    # Fill a sibling folder and swap it in: an interrupted fetch never looks complete.
    tmp = libs.with_name("libs.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    run(fetch_command(mvn, pom, tmp), what="mvn (fetching the Kafka jars)", log=paths.log("kafka-fetch"))
    (tmp / POM_HASH_FILE).write_text(pom_digest(pom) + "\n")
    shutil.rmtree(libs, ignore_errors=True)
    tmp.rename(libs)


def _check_java(java: str) -> None:
    out = subprocess.run(  # noqa: S603 - fixed argv
        [java, "-version"], capture_output=True, text=True, check=False
    )
    major = java_major(out.stderr + out.stdout)
    if major is not None and major < MIN_JAVA:
        raise StackError(f"java {major} is too old for Kafka 4: install a JDK {MIN_JAVA}+")


def _write_config(paths: StackPaths) -> None:
    template = _repo_file(paths, "server.properties.template").read_text()
    paths.kafka_data.mkdir(parents=True, exist_ok=True)
    _config(paths).write_text(render_server_properties(template, data_dir=paths.kafka_data))
    shutil.copyfile(_repo_file(paths, "log4j2.properties"), _log4j(paths))


def _format_once(paths: StackPaths, java: str) -> None:
    if (paths.kafka_data / "meta.properties").is_file():
        return
    id_file = paths.kafka / "cluster-id"
    cluster_id = id_file.read_text().strip() if id_file.is_file() else ""
    if not cluster_id:
        cluster_id = new_cluster_id()
        id_file.write_text(cluster_id + "\n")
    say("kafka: formatting the storage (first run)")
    run(
        format_command(java, paths.kafka_libs, _log4j(paths), _config(paths), cluster_id),
        what="kafka storage format",
        log=paths.log(NAME),
    )


def _launch(paths: StackPaths, java: str) -> subprocess.Popen[bytes]:
    log = paths.log(NAME)
    with log.open("ab") as out:
        out.write(f"\n=== {time.strftime('%Y-%m-%d %H:%M:%S')} hubctl: starting kafka\n".encode())
        out.flush()
        # A new session: Ctrl-C on hubctl does not reach the broker, and down can kill the group.
        proc = subprocess.Popen(  # noqa: S603 - argv built here, no shell
            server_command(java, paths.kafka_libs, _log4j(paths), _config(paths)),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=paths.kafka,
            start_new_session=True,
        )
    write_pid(paths.pidfile(NAME), proc.pid)
    return proc


async def _metadata_ok() -> bool:
    """True when a client bootstraps and the metadata lists a broker (registered, unfenced)."""
    from aiokafka.client import AIOKafkaClient
    from aiokafka.errors import KafkaError

    client = AIOKafkaClient(bootstrap_servers=f"{HOST}:{broker_port()}", request_timeout_ms=3000)
    try:
        await client.bootstrap()
        return bool(client.cluster.brokers())
    except (KafkaError, OSError, TimeoutError):
        return False
    finally:
        await client.close()


async def _wait_ready(
    paths: StackPaths, pid: int, proc: subprocess.Popen[bytes] | None, limit_s: float
) -> None:
    log = paths.log(NAME)
    deadline = time.monotonic() + limit_s
    while True:
        code = proc.poll() if proc is not None else (None if pid_alive(pid) else -1)
        if code is not None:
            paths.pidfile(NAME).unlink(missing_ok=True)
            how = f"exited with code {code}" if code >= 0 else "exited"
            raise StackError(with_tail(f"kafka (pid {pid}) {how} during startup; see {show(log)}", log))
        if port_open(broker_port()) and await _metadata_ok():
            return
        if cancelled.is_set():
            raise StackError("kafka: interrupted (the broker keeps starting; `hubctl stack down`)")
        if time.monotonic() >= deadline:
            raise StackError(
                with_tail(
                    f"kafka did not answer on {HOST}:{broker_port()} within {limit_s:.0f}s; see {show(log)}",
                    log,
                )
            )
        await asyncio.sleep(0.25)


def up(paths: StackPaths) -> str:
    # aiokafka logs every refused connection at ERROR; hubctl has no logging set up, so
    # Python's last-resort handler would print them all while we poll.
    logging.getLogger("aiokafka").addHandler(logging.NullHandler())
    java = require_java()
    paths.kafka.mkdir(parents=True, exist_ok=True)
    pid = running_pid(paths)
    if pid is not None:
        # Never swap jars under a running JVM: a changed pom takes effect at the next start.
        if libs_need_fetch(paths.kafka_libs, _repo_file(paths, "pom.xml")):
            say("kafka: pom.xml changed; `hubctl stack down` then `up` to use the new jars")
        asyncio.run(_wait_ready(paths, pid, None, START_TIMEOUT_S))
        return f"already running (pid {pid}) on {HOST}:{broker_port()}"
    ensure_libs(paths)
    paths.pidfile(NAME).unlink(missing_ok=True)
    for port in (broker_port(), controller_port()):
        ensure_port_free(NAME, port)
    _check_java(java)
    _write_config(paths)
    _format_once(paths, java)
    proc = _launch(paths, java)
    asyncio.run(_wait_ready(paths, proc.pid, proc, START_TIMEOUT_S))
    return f"ready on {HOST}:{broker_port()}"


def down(paths: StackPaths) -> str:
    pid = running_pid(paths)
    if pid is None:
        paths.pidfile(NAME).unlink(missing_ok=True)
        return "not running"
    # The JVM leads its own process group (start_new_session): signal the group.
    killed = terminate(pid, group=True, timeout=STOP_TIMEOUT_S)
    paths.pidfile(NAME).unlink(missing_ok=True)
    return f"killed (no exit within {STOP_TIMEOUT_S}s)" if killed else "stopped"


def purge(paths: StackPaths) -> list[Path]:
    # The jars stay: they are a download cache, not data.
    shutil.rmtree(paths.kafka_data, ignore_errors=True)
    (paths.kafka / "cluster-id").unlink(missing_ok=True)
    return [paths.kafka_data]


def status(paths: StackPaths) -> str:
    return describe(running_pid(paths), broker_port())
