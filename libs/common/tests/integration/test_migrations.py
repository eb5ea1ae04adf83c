"""The migration runner against real Postgres: once under concurrency, checksums, errors."""

import asyncio
from pathlib import Path

import asyncpg
import pytest

from hub_common.db import MigrationSource, common_migrations, migrate
from hub_common.db.migrations import MigrationError

pytestmark = pytest.mark.integration


def write(folder: Path, name: str, sql: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(sql)


async def test_concurrent_runners_apply_each_file_exactly_once(pg_dsn, unique_name, tmp_path):
    schema = unique_name("mig")
    folder = tmp_path / "m"
    write(folder, "001_items.sql", "CREATE TABLE items (id int PRIMARY KEY);")
    # Not idempotent on purpose: a second application would fail with a duplicate key.
    write(folder, "002_seed.sql", "INSERT INTO items VALUES (1);")
    sources = [common_migrations(), MigrationSource("svc", folder)]
    results = await asyncio.gather(*(migrate(pg_dsn, schema, sources) for _ in range(12)))
    applied = [name for r in results for name in r]
    assert sorted(applied) == [
        "common/001_outbox",
        "common/002_processed_events_age",
        "svc/001_items",
        "svc/002_seed",
    ]
    conn = await asyncpg.connect(pg_dsn)
    try:
        assert await conn.fetchval(f'SELECT count(*) FROM "{schema}".items') == 1
        rows = await conn.fetch(f'SELECT source, version FROM "{schema}".schema_migrations ORDER BY 1, 2')
        assert [(r["source"], r["version"]) for r in rows] == [
            ("common", 1),
            ("common", 2),
            ("svc", 1),
            ("svc", 2),
        ]
    finally:
        await conn.close()
    assert await migrate(pg_dsn, schema, sources) == []  # repeatable


async def test_new_files_apply_and_edited_files_are_refused(pg_dsn, unique_name, tmp_path):
    schema = unique_name("mig")
    folder = tmp_path / "m"
    write(folder, "001_a.sql", "CREATE TABLE a (id int);")
    await migrate(pg_dsn, schema, [MigrationSource("svc", folder)])
    write(folder, "002_b.sql", "CREATE TABLE b (id int);")
    assert await migrate(pg_dsn, schema, [MigrationSource("svc", folder)]) == ["svc/002_b"]
    write(folder, "001_a.sql", "CREATE TABLE a (id bigint);")
    with pytest.raises(MigrationError, match="edited afterwards"):
        await migrate(pg_dsn, schema, [MigrationSource("svc", folder)])


async def test_a_failing_file_is_rolled_back_and_named(pg_dsn, unique_name, tmp_path):
    schema = unique_name("mig")
    folder = tmp_path / "m"
    write(folder, "001_ok.sql", "CREATE TABLE ok (id int);")
    write(folder, "002_bad.sql", "CREATE TABLE half (id int); SELECT no_such_function();")
    with pytest.raises(MigrationError, match="002_bad failed"):
        await migrate(pg_dsn, schema, [MigrationSource("svc", folder)])
    conn = await asyncpg.connect(pg_dsn)
    try:
        assert await conn.fetchval("SELECT to_regclass($1)", f"{schema}.half") is None
        assert await conn.fetchval("SELECT to_regclass($1)", f"{schema}.ok") is not None
    finally:
        await conn.close()


def test_duplicate_numbers_are_refused(tmp_path):
    write(tmp_path, "001_a.sql", "SELECT 1;")
    write(tmp_path, "001_b.sql", "SELECT 1;")
    with pytest.raises(MigrationError, match="duplicate"):
        MigrationSource("svc", tmp_path).load()
