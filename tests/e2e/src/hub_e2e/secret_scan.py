"""Secrets the test run used, and a scan of where the hub writes for them (docs/adr/0034).

The registry lives for the whole pytest process (one ``make test`` run): tests and the harness
register every secret they hand the hub or are handed by it (``register``), every hub service's
log file and database are registered when a :class:`hub_e2e.processes.ServiceProcess` starts,
and the simulators register the client secrets, PATs and tokens they know
(:mod:`hub_e2e.simulators.runner`). ``tests/e2e/tests/security/test_secret_scan.py`` runs
last (its conftest moves it to the end of the run) and calls :func:`scan`: zero hits of any
registered secret in the service logs, the hub's Kafka topics (records written since the run
began) and every table of every registered database. The vault stores values encrypted, so
a secret in plaintext anywhere is a leak.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

MIN_LENGTH = 12  # shorter values would match by chance (and no real secret is that short)
RUN_STARTED_MS = int(time.time() * 1000)


@dataclass
class Registry:
    secrets: dict[str, str] = field(default_factory=dict)  # value -> where it came from
    logs: set[Path] = field(default_factory=set)
    databases: set[str] = field(default_factory=set)
    kafka: set[str] = field(default_factory=set)  # bootstrap servers
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def register(self, value: str | bytes | None, label: str, *, strict: bool = True) -> None:
        """A secret the run used: it must appear in no log, event or table row. A value too
        short to scan for is an error for a test (``strict``), skipped for the harness."""
        if not value:
            return
        text = value.decode() if isinstance(value, bytes) else value
        if len(text) < MIN_LENGTH:
            if not strict:
                return
            raise ValueError(f"{label}: a secret under {MIN_LENGTH} characters cannot be scanned for")
        with self._lock:
            self.secrets.setdefault(text, label)

    def register_service(self, log: Path, env: dict[str, str]) -> None:
        with self._lock:
            self.logs.add(log)
            if env.get("HUB_POSTGRES_DSN"):
                self.databases.add(env["HUB_POSTGRES_DSN"])
            if env.get("HUB_KAFKA_BOOTSTRAP"):
                self.kafka.add(env["HUB_KAFKA_BOOTSTRAP"])


REGISTRY = Registry()


def register(value: str | bytes | None, label: str, *, strict: bool = True) -> None:
    REGISTRY.register(value, label, strict=strict)


@dataclass(frozen=True)
class Hit:
    where: str  # "log <path>", "kafka <topic>/<partition>@<offset>", "db <database>.<schema>.<table>"
    label: str  # the registry's label of the secret (never the secret)
    form: str  # raw | url-encoded | hex


def _forms(secret: str) -> list[tuple[str, bytes]]:
    raw = secret.encode()
    forms = [("raw", raw), ("hex", raw.hex().encode())]  # hex: how bytea shows as text
    quoted = quote(secret, safe="").encode()
    if quoted != raw:
        forms.append(("url-encoded", quoted))
    return forms


def find(haystack: bytes, secrets: dict[str, str], where: str) -> list[Hit]:
    return [
        Hit(where, label, form)
        for secret, label in secrets.items()
        for form, needle in _forms(secret)
        if needle in haystack
    ]


def scan_logs(paths: Iterable[Path], secrets: dict[str, str]) -> list[Hit]:
    hits: list[Hit] = []
    for path in sorted(paths):
        if path.is_file():
            hits += find(path.read_bytes(), secrets, f"log {path}")
    return hits


async def scan_kafka(
    bootstrap: str, topics: Iterable[str], secrets: dict[str, str], since_ms: int
) -> tuple[list[Hit], int]:
    """Every record of ``topics`` written at or after ``since_ms``: its key, value and headers."""
    from aiokafka import AIOKafkaConsumer, TopicPartition

    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, group_id=None)
    await consumer.start()
    hits: list[Hit] = []
    records = 0
    try:
        # (the consumer's own metadata covers only topics it subscribed to: ask for all)
        cluster = await consumer._client.fetch_all_metadata()
        partitions = [
            TopicPartition(t, p)
            for t in sorted(set(topics) & cluster.topics())
            for p in sorted(cluster.partitions_for_topic(t) or ())
        ]
        if not partitions:
            return hits, records
        starts = await consumer.offsets_for_times(dict.fromkeys(partitions, since_ms))
        ends = await consumer.end_offsets(partitions)
        todo = {tp: ends[tp] for tp in partitions if starts[tp] is not None and starts[tp].offset < ends[tp]}
        if not todo:
            return hits, records
        consumer.assign(list(todo))
        for tp in todo:
            consumer.seek(tp, starts[tp].offset)
        while todo:
            batch = await consumer.getmany(*todo, timeout_ms=2000, max_records=5000)
            if not batch:
                break
            for tp, messages in batch.items():
                for m in messages:
                    records += 1
                    blob = b"\0".join([m.key or b"", m.value or b"", *(v or b"" for _, v in m.headers or ())])
                    hits += find(blob, secrets, f"kafka {tp.topic}/{tp.partition}@{m.offset}")
                    if m.offset + 1 >= todo.get(tp, 0):
                        todo.pop(tp, None)
    finally:
        await consumer.stop()
    return hits, records


async def scan_database(dsn: str, secrets: dict[str, str]) -> tuple[list[Hit], int]:
    """Every row of every table (as its text form) of the database ``dsn`` names."""
    import asyncpg

    try:
        conn = await asyncpg.connect(dsn)
    except asyncpg.InvalidCatalogNameError:
        return [], 0  # dropped already (a module that cleans up after itself)
    hits: list[Hit] = []
    rows = 0
    name = dsn.rsplit("/", 1)[-1]
    try:
        tables = await conn.fetch(
            "SELECT table_schema, table_name FROM information_schema.tables "
            "WHERE table_type = 'BASE TABLE' AND table_schema NOT IN ('pg_catalog', 'information_schema')"
        )
        for table in tables:
            ident = f'"{table["table_schema"]}"."{table["table_name"]}"'
            texts = await conn.fetch(f"SELECT t::text AS row FROM {ident} t")
            rows += len(texts)
            blob = "\n".join(r["row"] for r in texts).encode()
            hits += find(blob, secrets, f"db {name}.{table['table_schema']}.{table['table_name']}")
    finally:
        await conn.close()
    return hits, rows


@dataclass
class ScanReport:
    secrets: int
    logs: int
    kafka_records: int
    databases: int
    rows: int
    hits: list[Hit]

    def summary(self) -> str:
        return (
            f"secret scan: {self.secrets} secrets, {self.logs} service logs, {self.kafka_records} Kafka "
            f"records, {self.databases} databases ({self.rows} rows): {len(self.hits)} hits"
        )


def _answers(address: str) -> bool:
    """Whether anything listens at ``host:port`` (the first of a comma-separated list)."""
    host, _, port = address.split(",")[0].strip().rpartition(":")
    try:
        with socket.create_connection((host or "127.0.0.1", int(port)), timeout=2):
            return True
    except (OSError, ValueError):
        return False


def _dsn_address(dsn: str) -> str:
    netloc = urlsplit(dsn).netloc.rsplit("@", 1)[-1]
    return netloc if ":" in netloc else f"{netloc}:5432"


def hub_topics() -> list[str]:
    from hub_common.events import TOPICS

    return [name for topic in TOPICS for name in (topic, f"{topic}.dlq")]


def scan(registry: Registry = REGISTRY, *, since_ms: int = RUN_STARTED_MS) -> ScanReport:
    """Scan everything ``registry`` knows for every secret it holds (in a thread of its own, so
    a caller inside a running event loop can use it too)."""
    secrets = dict(registry.secrets)
    result: dict[str, Any] = {}

    async def run() -> None:
        hits = scan_logs(registry.logs, secrets)
        records = rows = 0
        # A stack a suite started for itself (the resilience suite's) is gone with its data by
        # now: nothing of it can keep a secret; its services' logs are still scanned above.
        for bootstrap in sorted(b for b in registry.kafka if _answers(b)):
            found, count = await scan_kafka(bootstrap, hub_topics(), secrets, since_ms)
            hits += found
            records += count
        for dsn in sorted(d for d in registry.databases if _answers(_dsn_address(d))):
            found, count = await scan_database(dsn, secrets)
            hits += found
            rows += count
        result["report"] = ScanReport(
            len(secrets), len(registry.logs), records, len(registry.databases), rows, hits
        )

    def target() -> None:
        try:
            asyncio.run(run())
        except BaseException as exc:  # handed to the caller's thread
            result["error"] = exc

    worker = threading.Thread(target=target, name="secret-scan")
    worker.start()
    worker.join()
    if "error" in result:
        raise result["error"]
    report: ScanReport = result["report"]
    return report
