"""Migration runner for plain numbered SQL files (``NNN_description.sql``).

Each service owns one Postgres schema. The runner takes a session advisory lock keyed by the
schema, so concurrent runners (several replicas starting at once) apply each file exactly
once; applied files are recorded with a checksum, and a changed file is an error rather than
a silent divergence. Every file runs in its own transaction with the schema on the search path.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

import asyncpg

from hub_common.db.pool import check_identifier, connect

log = logging.getLogger(__name__)
_FILE = re.compile(r"^(\d{3,})_([a-z0-9_]+)\.sql$")


class MigrationError(Exception):
    pass


@dataclass(frozen=True)
class Migration:
    source: str
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


@dataclass(frozen=True)
class MigrationSource:
    """A named folder of numbered SQL files (a package resource or a path)."""

    name: str
    folder: Traversable | Path

    def load(self) -> list[Migration]:
        found: list[Migration] = []
        for entry in self.folder.iterdir():
            m = _FILE.match(entry.name)
            if not m:
                continue
            found.append(Migration(self.name, int(m.group(1)), m.group(2), entry.read_text("utf-8")))
        versions = [mig.version for mig in found]
        if len(versions) != len(set(versions)):
            raise MigrationError(f"duplicate migration numbers in {self.name}")
        return sorted(found, key=lambda mig: mig.version)

    @classmethod
    def from_package(cls, name: str, package: str, folder: str = "migrations") -> MigrationSource:
        return cls(name, resources.files(package).joinpath(folder))


def common_migrations() -> MigrationSource:
    """Tables every service has in its own schema: the outbox and consumer dedupe."""
    return MigrationSource.from_package("common", "hub_common.db")


async def migrate(dsn: str, schema: str, sources: list[MigrationSource]) -> list[str]:
    """Apply what is missing; return the names applied by this call."""
    check_identifier(schema)
    pending = [mig for src in sources for mig in src.load()]
    conn = await connect(dsn)
    applied_now: list[str] = []
    lock_key = f"hub-migrate:{schema}"
    try:
        await conn.execute("SELECT pg_advisory_lock(hashtext($1))", lock_key)
        try:
            await conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
            await conn.execute(
                f"""CREATE TABLE IF NOT EXISTS "{schema}".schema_migrations (
                    source text NOT NULL,
                    version int NOT NULL,
                    name text NOT NULL,
                    checksum text NOT NULL,
                    applied_at timestamptz NOT NULL DEFAULT now(),
                    PRIMARY KEY (source, version))"""
            )
            # The schema name passed check_identifier above, so interpolating it is safe.
            rows = await conn.fetch(
                f'SELECT source, version, checksum FROM "{schema}".schema_migrations'  # noqa: S608
            )
            done = {(r["source"], r["version"]): r["checksum"] for r in rows}
            for mig in pending:
                key = (mig.source, mig.version)
                if key in done:
                    if done[key] != mig.checksum:
                        raise MigrationError(
                            f"{schema}: applied migration {mig.source}/{mig.version:03d}_{mig.name} "
                            "was edited afterwards; add a new numbered file instead"
                        )
                    continue
                await _apply(conn, schema, mig)
                applied_now.append(f"{mig.source}/{mig.version:03d}_{mig.name}")
        finally:
            await conn.execute("SELECT pg_advisory_unlock(hashtext($1))", lock_key)
    finally:
        await conn.close()
    if applied_now:
        log.info("migrations applied", extra={"schema": schema, "applied": applied_now})
    return applied_now


async def _apply(conn: asyncpg.Connection, schema: str, mig: Migration) -> None:
    async with conn.transaction():
        await conn.execute(f'SET LOCAL search_path TO "{schema}", public')
        try:
            await conn.execute(mig.sql)
        except asyncpg.PostgresError as exc:
            raise MigrationError(
                f"{schema}: {mig.source}/{mig.version:03d}_{mig.name} failed: {exc}"
            ) from None
        await conn.execute(
            f'INSERT INTO "{schema}".schema_migrations (source, version, name, checksum) '  # noqa: S608
            "VALUES ($1, $2, $3, $4)",
            mig.source,
            mig.version,
            mig.name,
            mig.checksum,
        )
