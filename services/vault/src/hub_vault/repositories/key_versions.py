"""The ``key_versions`` table: metadata about KEK versions, never material."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg

from hub_vault.domain.keyring import Keyring, KeyVersion


@dataclass(frozen=True, slots=True)
class KeyVersionRow:
    version: int
    key_check: str
    created_at: datetime | None
    registered_at: datetime
    retired_at: datetime | None


def _row(r: asyncpg.Record) -> KeyVersionRow:
    return KeyVersionRow(r["version"], r["key_check"], r["created_at"], r["registered_at"], r["retired_at"])


async def register(conn: asyncpg.Connection, keyring: Keyring) -> list[KeyVersionRow]:
    """Insert rows for versions seen for the first time; return every row."""
    versions = sorted(keyring.versions.values(), key=lambda k: k.version)
    await conn.execute(
        "INSERT INTO key_versions (version, key_check, created_at) "
        "SELECT * FROM unnest($1::int[], $2::text[], $3::timestamptz[]) ON CONFLICT DO NOTHING",
        [k.version for k in versions],
        [k.key_check for k in versions],
        [k.created_at for k in versions],
    )
    return await all_versions(conn)


async def highest(conn: asyncpg.Connection) -> int | None:
    value: int | None = await conn.fetchval("SELECT max(version) FROM key_versions")
    return value


async def reserve(conn: asyncpg.Connection, key: KeyVersion) -> bool:
    """Register a rotation's new version before the keyring file has it; False when another
    rotation took that version number first."""
    row = await conn.fetchval(
        "INSERT INTO key_versions (version, key_check, created_at) VALUES ($1, $2, $3) "
        "ON CONFLICT DO NOTHING RETURNING version",
        key.version,
        key.key_check,
        key.created_at,
    )
    return row is not None


async def abandon_reservation(conn: asyncpg.Connection, key: KeyVersion) -> None:
    """A reservation whose file write failed is retired, not deleted: its number is never used
    again, so no replica that saw its key check can meet another key under that number."""
    await conn.execute(
        "UPDATE key_versions k SET retired_at = now(), retired_by = 'rotation not applied' "
        "WHERE k.version = $1 AND k.key_check = $2 AND k.retired_at IS NULL "
        "AND NOT EXISTS (SELECT 1 FROM credentials c WHERE c.key_version = k.version)",
        key.version,
        key.key_check,
    )


async def all_versions(conn: asyncpg.Connection) -> list[KeyVersionRow]:
    rows = await conn.fetch("SELECT * FROM key_versions ORDER BY version")
    return [_row(r) for r in rows]


async def get(conn: asyncpg.Connection, version: int, *, for_update: bool = False) -> KeyVersionRow | None:
    sql = (
        "SELECT * FROM key_versions WHERE version = $1 FOR UPDATE"
        if for_update
        else "SELECT * FROM key_versions WHERE version = $1"
    )
    row = await conn.fetchrow(sql, version)
    return _row(row) if row is not None else None


async def retire(conn: asyncpg.Connection, version: int, by: str) -> None:
    await conn.execute(
        "UPDATE key_versions SET retired_at = now(), retired_by = $2 WHERE version = $1",
        version,
        by,
    )
