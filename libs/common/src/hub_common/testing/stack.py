"""Where the tests' Kafka, Postgres and Redis come from, in this order:

1. addresses configured in the environment (``HUB_POSTGRES_DSN``, ``HUB_KAFKA_BOOTSTRAP``,
   ``HUB_REDIS_URL``) — used as given, and a clear error if they do not answer;
2. testcontainers, when a Docker engine answers;
3. the local stack (``hubctl stack up``), started if it is not running.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
from contextlib import ExitStack
from dataclasses import dataclass
from urllib.parse import urlsplit

from hub_common.settings import DEFAULT_KAFKA_BOOTSTRAP, DEFAULT_POSTGRES_DSN, DEFAULT_REDIS_URL


@dataclass(frozen=True)
class StackAddresses:
    postgres_dsn: str
    kafka_bootstrap: str
    redis_url: str
    origin: str


def _answers(host: str, port: int, timeout: float = 1.0) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def _hostport(address: str, default_port: int) -> tuple[str, int]:
    if "://" in address:
        parts = urlsplit(address)
        return parts.hostname or "127.0.0.1", parts.port or default_port
    host, _, port = address.split(",")[0].rpartition(":")
    return host or "127.0.0.1", int(port or default_port)


def _docker_answers() -> bool:
    if not shutil.which("docker") and not os.path.exists("/var/run/docker.sock"):
        return False
    try:
        import docker

        client = docker.from_env(timeout=2)
        return bool(client.ping())
    except Exception:
        return False


def _configured() -> StackAddresses | None:
    keys = ("HUB_POSTGRES_DSN", "HUB_KAFKA_BOOTSTRAP", "HUB_REDIS_URL")
    if not all(os.environ.get(k) for k in keys):
        return None
    addresses = StackAddresses(os.environ[keys[0]], os.environ[keys[1]], os.environ[keys[2]], "configured")
    for name, addr, port in (
        ("Postgres", addresses.postgres_dsn, 5432),
        ("Kafka", addresses.kafka_bootstrap, 9092),
        ("Redis", addresses.redis_url, 6379),
    ):
        host, p = _hostport(addr, port)
        if not _answers(host, p):
            raise RuntimeError(f"{name} configured at {host}:{p} does not answer")
    return addresses


def _containers(stack: ExitStack) -> StackAddresses:
    from testcontainers.kafka import KafkaContainer
    from testcontainers.postgres import PostgresContainer
    from testcontainers.redis import RedisContainer

    pg = stack.enter_context(PostgresContainer("postgres:16-alpine", driver=None))
    kafka = stack.enter_context(KafkaContainer("confluentinc/cp-kafka:7.6.0").with_kraft())
    redis = stack.enter_context(RedisContainer("redis:7-alpine"))
    redis_url = f"redis://{redis.get_container_host_ip()}:{redis.get_exposed_port(6379)}/0"
    return StackAddresses(pg.get_connection_url(), kafka.get_bootstrap_server(), redis_url, "testcontainers")


def _local() -> StackAddresses:
    addresses = StackAddresses(DEFAULT_POSTGRES_DSN, DEFAULT_KAFKA_BOOTSTRAP, DEFAULT_REDIS_URL, "local")
    if not (_answers("127.0.0.1", 15432) and _answers("127.0.0.1", 19092) and _answers("127.0.0.1", 16379)):
        hubctl = shutil.which("hubctl")
        if hubctl is None:
            raise RuntimeError("no stack configured, no Docker engine, and hubctl is not installed")
        subprocess.run([hubctl, "stack", "up"], check=True)  # noqa: S603
    return addresses


def resolve_stack(stack: ExitStack) -> StackAddresses:
    configured = _configured()
    if configured is not None:
        return configured
    if _docker_answers():
        return _containers(stack)
    return _local()


async def wait_for_port(host: str, port: int, timeout_s: float = 30.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not _answers(host, port, 0.5):
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError(f"{host}:{port} did not answer within {timeout_s}s")
        await asyncio.sleep(0.1)
