"""The ``credentials`` table. Every statement is scoped by tenant (or by row id for rewrap)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

import asyncpg

from hub_vault.domain.crypto import Sealed
from hub_vault.domain.names import Owner


@dataclass(frozen=True, slots=True)
class CredentialMeta:
    credential_key: str
    key_version: int
    version: int
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class StoredCredential:
    id: UUID
    owner: Owner
    sealed: Sealed
    version: int


@dataclass(frozen=True, slots=True)
class WriteResult:
    version: int
    created: bool
    created_at: datetime
    updated_at: datetime


def stored_from_row(row: asyncpg.Record) -> StoredCredential:
    owner = Owner(row["tenant_id"], row["connection_id"], row["credential_key"])
    sealed = Sealed(
        row["value_encrypted"], row["value_iv"], row["dek_encrypted"], row["dek_iv"], row["key_version"]
    )
    return StoredCredential(row["id"], owner, sealed, row["row_version"])


async def get(conn: asyncpg.Connection, owner: Owner) -> StoredCredential | None:
    row = await conn.fetchrow(
        "SELECT id, tenant_id, connection_id, credential_key, value_encrypted, value_iv, "
        "dek_encrypted, dek_iv, key_version, row_version FROM credentials "
        "WHERE tenant_id = $1 AND connection_id = $2 AND credential_key = $3",
        owner.tenant_id,
        owner.connection_id,
        owner.credential_key,
    )
    return stored_from_row(row) if row is not None else None


async def get_many(
    conn: asyncpg.Connection, tenant_id: str, connection_id: UUID, keys: list[str]
) -> list[StoredCredential]:
    rows = await conn.fetch(
        "SELECT id, tenant_id, connection_id, credential_key, value_encrypted, value_iv, "
        "dek_encrypted, dek_iv, key_version, row_version FROM credentials "
        "WHERE tenant_id = $1 AND connection_id = $2 AND credential_key = ANY($3::text[])",
        tenant_id,
        connection_id,
        keys,
    )
    return [stored_from_row(r) for r in rows]


async def delete_all(conn: asyncpg.Connection, tenant_id: str, connection_id: UUID) -> list[str]:
    # Locked in key order first (code points, as a multi-value write sorts them): no deadlock.
    rows = await conn.fetch(
        """WITH locked AS (
               SELECT id FROM credentials WHERE tenant_id = $1 AND connection_id = $2
               ORDER BY credential_key COLLATE "C" FOR UPDATE
           )
           DELETE FROM credentials c USING locked WHERE c.id = locked.id RETURNING c.credential_key""",
        tenant_id,
        connection_id,
    )
    return sorted(r["credential_key"] for r in rows)


async def list_keys(conn: asyncpg.Connection, tenant_id: str, connection_id: UUID) -> list[CredentialMeta]:
    rows = await conn.fetch(
        "SELECT credential_key, key_version, row_version, created_at, updated_at FROM credentials "
        "WHERE tenant_id = $1 AND connection_id = $2 ORDER BY credential_key",
        tenant_id,
        connection_id,
    )
    return [
        CredentialMeta(
            r["credential_key"], r["key_version"], r["row_version"], r["created_at"], r["updated_at"]
        )
        for r in rows
    ]


async def counts_by_key_version(conn: asyncpg.Connection) -> dict[int, int]:
    rows = await conn.fetch("SELECT key_version, count(*) AS n FROM credentials GROUP BY key_version")
    return {r["key_version"]: r["n"] for r in rows}


async def count_with_key_version(conn: asyncpg.Connection, version: int) -> int:
    return int(await conn.fetchval("SELECT count(*) FROM credentials WHERE key_version = $1", version))


async def count_not_at(conn: asyncpg.Connection, version: int) -> int:
    return int(await conn.fetchval("SELECT count(*) FROM credentials WHERE key_version <> $1", version))


async def batch_not_at(
    conn: asyncpg.Connection, version: int, after: UUID | None, limit: int
) -> list[StoredCredential]:
    """The next rows (by id, after the cursor) that are not yet under ``version``."""
    rows = await conn.fetch(
        "SELECT id, tenant_id, connection_id, credential_key, value_encrypted, value_iv, "
        "dek_encrypted, dek_iv, key_version, row_version FROM credentials "
        "WHERE key_version <> $1 AND ($2::uuid IS NULL OR id > $2) ORDER BY id LIMIT $3",
        version,
        after,
        limit,
    )
    return [stored_from_row(r) for r in rows]


@dataclass(frozen=True, slots=True)
class Rewrapped:
    id: UUID
    row_version: int
    dek_encrypted: bytes
    dek_iv: bytes


async def apply_rewraps(conn: asyncpg.Connection, version: int, items: list[Rewrapped]) -> list[Owner]:
    """Optimistic: a row written since it was read (row_version moved on) is left alone, and so
    is a row a writer holds right now (SKIP LOCKED): the rewrap never waits on a request, so it
    cannot deadlock with a multi-row write; the next pass takes what was skipped.

    ``row_version`` does not move: the value is the same, and a caller's compare-and-swap
    (oauth's refresh-token rotation) must not fail because its row was rewrapped meanwhile."""
    rows = await conn.fetch(
        """
        WITH kv AS (
            SELECT version FROM key_versions WHERE version = $1 AND retired_at IS NULL FOR SHARE
        ), u AS (
            SELECT * FROM unnest($2::uuid[], $3::bigint[], $4::bytea[], $5::bytea[])
                AS u(id, row_version, dek_encrypted, dek_iv)
        ), free AS (
            SELECT c.id FROM credentials c JOIN u ON c.id = u.id AND c.row_version = u.row_version
            ORDER BY c.id
            FOR UPDATE OF c SKIP LOCKED
        )
        UPDATE credentials c SET
            dek_encrypted = u.dek_encrypted, dek_iv = u.dek_iv, key_version = kv.version
        FROM kv, u, free
        WHERE c.id = u.id AND c.id = free.id AND c.row_version = u.row_version
        RETURNING c.tenant_id, c.connection_id, c.credential_key
        """,
        version,
        [i.id for i in items],
        [i.row_version for i in items],
        [i.dek_encrypted for i in items],
        [i.dek_iv for i in items],
    )
    return [Owner(r["tenant_id"], r["connection_id"], r["credential_key"]) for r in rows]
