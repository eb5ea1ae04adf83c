"""After the whole run: no secret the run used appears in a service log, a hub event or a table
row (docs/adr/0034). This module runs last (the package's conftest moves it to the end of the
pytest run, after every tier); ``hub_e2e.secret_scan`` holds what the run registered.

The first test checks the scanner itself: a secret planted in a log file, a Kafka record and a
database row (as text and as bytea) is found in each, and nothing else is.
"""

from __future__ import annotations

import uuid

import asyncpg
import pytest
from aiokafka import AIOKafkaProducer

from hub_e2e.secret_scan import REGISTRY, Registry, scan, scan_database, scan_kafka, scan_logs

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]


async def test_the_scanner_finds_a_planted_secret_everywhere_it_looks(
    tmp_path, new_database, create_topic, kafka_bootstrap
):
    planted, absent = f"planted-{uuid.uuid4().hex}", f"absent-{uuid.uuid4().hex}"
    secrets = {planted: "planted", absent: "never written"}

    log = tmp_path / "service.log"
    log.write_text(f'{{"msg": "calling provider", "url": "https://x.test/?key={planted}"}}\n')
    assert [(h.label, h.form) for h in scan_logs([log], secrets)] == [("planted", "raw")]

    topic = await create_topic(f"secret-scan-{uuid.uuid4().hex[:8]}", 1)
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
    await producer.start()
    try:
        await producer.send_and_wait(topic, b'{"data": "nothing"}', headers=[("x", planted.encode())])
        await producer.send_and_wait(topic, b"{}")
    finally:
        await producer.stop()
    hits, records = await scan_kafka(kafka_bootstrap, [topic], secrets, since_ms=0)
    assert records == 2 and [(h.label, h.where.endswith("@0")) for h in hits] == [("planted", True)]

    dsn = await new_database("e2e_secret_scan")
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("CREATE SCHEMA app; CREATE TABLE app.t (note text, blob bytea)")
        await conn.execute(
            "INSERT INTO app.t VALUES ($1, NULL), (NULL, $2)", f"x{planted}x", planted.encode()
        )
    finally:
        await conn.close()
    hits, rows = await scan_database(dsn, secrets)
    assert rows == 2 and sorted((h.label, h.form) for h in hits) == [("planted", "hex"), ("planted", "raw")]

    registry = Registry()
    with pytest.raises(ValueError):
        registry.register("short", "too short to scan for")
    registry.register("short", "skipped for the harness", strict=False)
    assert registry.secrets == {}


def test_no_secret_of_the_run_is_in_a_log_an_event_or_a_table():
    if not REGISTRY.secrets or not REGISTRY.logs:
        pytest.skip("no secrets or service logs registered: run it after the e2e suite (make test)")
    report = scan()
    print(report.summary())
    shown = "\n".join(f"{h.where}: {h.label} ({h.form})" for h in report.hits[:50])
    assert not report.hits, f"{report.summary()}\n{shown}"
