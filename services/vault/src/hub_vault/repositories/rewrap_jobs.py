"""The ``rewrap_jobs`` table: one running job at most (a partial unique index says so)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

import asyncpg


@dataclass(frozen=True, slots=True)
class RewrapJob:
    id: UUID
    target_version: int
    status: str
    batch_size: int
    total: int
    rewrapped: int
    skipped: int
    failed: int
    passes: int
    cursor: UUID | None
    started_by: str
    error: str | None
    started_at: datetime
    updated_at: datetime
    finished_at: datetime | None


_FIELDS = tuple(RewrapJob.__dataclass_fields__)


def _job(r: asyncpg.Record) -> RewrapJob:
    return RewrapJob(**{k: r[k] for k in _FIELDS})


async def create(
    conn: asyncpg.Connection,
    *,
    target_version: int,
    batch_size: int,
    total: int,
    started_by: str,
    request_id: str | None,
) -> RewrapJob | None:
    """None when another job is running (the partial unique index refused a second one)."""
    row = await conn.fetchrow(
        "INSERT INTO rewrap_jobs (target_version, batch_size, total, started_by, request_id) "
        "VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING RETURNING *",
        target_version,
        batch_size,
        total,
        started_by,
        request_id,
    )
    return _job(row) if row is not None else None


async def get(conn: asyncpg.Connection, job_id: UUID) -> RewrapJob | None:
    row = await conn.fetchrow("SELECT * FROM rewrap_jobs WHERE id = $1", job_id)
    return _job(row) if row is not None else None


async def running(conn: asyncpg.Connection) -> RewrapJob | None:
    row = await conn.fetchrow("SELECT * FROM rewrap_jobs WHERE status = 'running'")
    return _job(row) if row is not None else None


async def recent(conn: asyncpg.Connection, limit: int = 20) -> list[RewrapJob]:
    rows = await conn.fetch("SELECT * FROM rewrap_jobs ORDER BY started_at DESC LIMIT $1", limit)
    return [_job(r) for r in rows]


async def advance(
    conn: asyncpg.Connection, job_id: UUID, *, cursor: UUID | None, rewrapped: int, skipped: int, failed: int
) -> None:
    await conn.execute(
        "UPDATE rewrap_jobs SET cursor = $2, rewrapped = rewrapped + $3, skipped = skipped + $4, "
        "failed = failed + $5, updated_at = now() WHERE id = $1",
        job_id,
        cursor,
        rewrapped,
        skipped,
        failed,
    )


async def next_pass(conn: asyncpg.Connection, job_id: UUID) -> None:
    await conn.execute(
        "UPDATE rewrap_jobs SET cursor = NULL, passes = passes + 1, updated_at = now() WHERE id = $1",
        job_id,
    )


async def finish(conn: asyncpg.Connection, job_id: UUID, status: str, error: str | None = None) -> None:
    await conn.execute(
        "UPDATE rewrap_jobs SET status = $2, error = $3, updated_at = now(), finished_at = now() "
        "WHERE id = $1",
        job_id,
        status,
        error,
    )
