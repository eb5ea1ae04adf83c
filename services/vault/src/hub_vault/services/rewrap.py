"""Online rewrap: move every stored DEK to the primary KEK, in batches, resumably.

* Optimistic: each batch is read without locks and written back only where ``row_version`` is
  unchanged, so a concurrent write (already under the primary) is never overwritten.
* Resumable: progress and the id cursor are committed with every batch; a job left ``running``
  by a stopped process is picked up where it stopped by the next start request.
* One runner at a time across replicas: a session advisory lock on a dedicated connection
  (released by Postgres if the process dies).
* After the cursor reaches the end, rows still not under the target (written by a replica with a
  stale keyring) get another pass, as long as passes make progress.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from uuid import UUID

import asyncpg

from hub_common.db import Database
from hub_common.db.outbox import write_event
from hub_common.db.pool import connect
from hub_common.events.models import CredentialChanged
from hub_vault.adapters.keyring_source import KeyringSource, LoadedKeyring
from hub_vault.config import SCHEMA
from hub_vault.domain import crypto
from hub_vault.domain.errors import RewrapJobNotFound, RewrapRunning
from hub_vault.domain.operations import Operation, Outcome
from hub_vault.repositories import credentials, rewrap_jobs
from hub_vault.repositories.credentials import Rewrapped, StoredCredential
from hub_vault.repositories.rewrap_jobs import RewrapJob as RewrapJob  # the routes' type
from hub_vault.services import audit_trail
from hub_vault.services.access import AccessControl
from hub_vault.services.call_context import CallContext
from hub_vault.services.credentials import EVENT_SOURCE
from hub_vault.services.keys import KeyService

log = logging.getLogger(__name__)
LOCK_KEY = "hub-vault:rewrap"
MAX_PASSES = 5
HELD_ROWS_PAUSE_S = 0.2  # before another pass over rows requests held during the last one

Progress = Callable[[RewrapJob, int], None]


class RewrapService:
    def __init__(
        self,
        db: Database,
        dsn: str,
        source: KeyringSource,
        keys: KeyService,
        access: AccessControl,
        default_batch_size: int,
    ) -> None:
        self.db = db
        self.dsn = dsn
        self.source = source
        self.keys = keys
        self.access = access
        self.default_batch_size = default_batch_size
        self._task: asyncio.Task[RewrapJob] | None = None

    async def start(self, ctx: CallContext, batch_size: int | None = None) -> RewrapJob:
        """Start (or resume) a job in the background; returns at once."""
        await self.access.require(ctx, Operation.REWRAP_START)
        job, lock_conn = await self._claim(ctx, batch_size or self.default_batch_size)
        self._task = asyncio.create_task(self._run(ctx, job, lock_conn), name=f"rewrap:{job.id}")
        self._task.add_done_callback(_retrieve)
        return job

    async def run_to_completion(
        self, ctx: CallContext, batch_size: int | None = None, progress: Progress | None = None
    ) -> RewrapJob:
        """The same job, in the foreground (``hub-vault rewrap``: an operator with the keyring)."""
        job, lock_conn = await self._claim(ctx, batch_size or self.default_batch_size)
        return await self._run(ctx, job, lock_conn, progress)

    async def status(self, ctx: CallContext, job_id: UUID) -> tuple[RewrapJob, int]:
        """The job and how many values are still not under its target version."""
        await self.access.require(ctx, Operation.REWRAP_READ)
        async with self.db.transaction() as conn:
            job = await rewrap_jobs.get(conn, job_id)
            remaining = await credentials.count_not_at(conn, job.target_version) if job else 0
            await audit_trail.record(
                conn,
                ctx,
                Operation.REWRAP_READ,
                Outcome.OK if job else Outcome.NOT_FOUND,
                details={"job_id": str(job_id)},
            )
        if job is None:
            raise RewrapJobNotFound
        return job, remaining

    async def recent(self, ctx: CallContext) -> list[RewrapJob]:
        await self.access.require(ctx, Operation.REWRAP_READ)
        async with self.db.transaction() as conn:
            jobs = await rewrap_jobs.recent(conn)
            await audit_trail.record(conn, ctx, Operation.REWRAP_READ, Outcome.OK)
        return jobs

    async def stop(self) -> None:
        """On shutdown: stop between batches; the job stays resumable."""
        if self._task is not None and not self._task.done():
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task

    async def _claim(self, ctx: CallContext, batch_size: int) -> tuple[RewrapJob, asyncpg.Connection]:
        loaded = await self.keys.writable()
        target = loaded.keyring.primary_version
        lock_conn = await connect(self.dsn, schema=SCHEMA)
        try:
            if not await lock_conn.fetchval("SELECT pg_try_advisory_lock(hashtext($1))", LOCK_KEY):
                async with self.db.transaction() as conn:
                    running = await rewrap_jobs.running(conn)
                    await audit_trail.record(conn, ctx, Operation.REWRAP_START, Outcome.CONFLICT)
                raise RewrapRunning(str(running.id) if running else "unknown")
            async with self.db.transaction() as conn:
                job = await rewrap_jobs.running(conn)
                resumed = job is not None and job.target_version == target
                if job is not None and not resumed:
                    # Its target is no longer the primary: it ends here, audited as any end is.
                    await _record_finish(conn, ctx, job, "superseded")
                if not resumed:
                    total = await credentials.count_not_at(conn, target)
                    job = await rewrap_jobs.create(
                        conn,
                        target_version=target,
                        batch_size=batch_size,
                        total=total,
                        started_by=ctx.caller,
                        request_id=ctx.request_id,
                    )
                assert job is not None  # we hold the lock and finished any other running job
                await audit_trail.record(
                    conn,
                    ctx,
                    Operation.REWRAP_START,
                    Outcome.OK,
                    key_version=target,
                    details={"job_id": str(job.id), "resumed": resumed},
                )
        except BaseException:
            await lock_conn.close()
            raise
        log.info(
            "rewrap job started",
            extra={"job_id": str(job.id), "key_version": target, "resumed": resumed, "total": job.total},
        )
        return job, lock_conn

    async def _run(
        self,
        ctx: CallContext,
        job: RewrapJob,
        lock_conn: asyncpg.Connection,
        progress: Progress | None = None,
    ) -> RewrapJob:
        status, error = "completed", None
        try:
            status = await self._batches(ctx, job, progress)
        except asyncio.CancelledError:
            log.info("rewrap job paused; start again to resume", extra={"job_id": str(job.id)})
            await _release(lock_conn)
            raise
        except Exception as exc:
            log.exception("rewrap job failed", extra={"job_id": str(job.id)})
            status, error = "failed", type(exc).__name__
        # The end is recorded while the lock is still held: a start in between would otherwise
        # see the job running, resume it, and two runners would end the same job.
        try:
            async with self.db.transaction() as conn:
                final = await _record_finish(conn, ctx, job, status, error)
        except Exception:
            # The row stays 'running', so the next start resumes it and records its end then.
            log.exception("rewrap job ended but its end was not recorded", extra={"job_id": str(job.id)})
            raise
        finally:
            await _release(lock_conn)
        log.info(
            "rewrap job finished",
            extra={
                "job_id": str(job.id),
                "status": status,
                "rewrapped": final.rewrapped,
                "failed": final.failed,
            },
        )
        return final

    async def _batches(self, ctx: CallContext, job: RewrapJob, progress: Progress | None) -> str:
        cursor, passes = job.cursor, job.passes
        pass_progress = pass_skipped = 0
        full_pass = cursor is None  # a resumed pass saw only part of the table
        pause = False
        while True:
            if pause:  # outside any transaction: nothing is held while waiting
                await asyncio.sleep(HELD_ROWS_PAUSE_S)
                pause = False
            loaded = self.source.current()
            if loaded.keyring.primary_version != job.target_version:
                return "superseded"  # rotated again: a new job should target the new primary
            async with self.db.transaction() as conn:
                batch = await credentials.batch_not_at(conn, job.target_version, cursor, job.batch_size)
                if not batch:
                    remaining = await credentials.count_not_at(conn, job.target_version)
                    # Only undecryptable rows left. Rows skipped because a request held them
                    # (or wrote them) are not that: they get another pass, after a pause.
                    stuck = full_pass and pass_progress == 0 and pass_skipped == 0
                    if remaining == 0 or stuck or passes + 1 >= MAX_PASSES:
                        return "completed"
                    await rewrap_jobs.next_pass(conn, job.id)
                    pause = pass_skipped > 0 and pass_progress == 0
                    cursor, passes, pass_progress, pass_skipped, full_pass = None, passes + 1, 0, 0, True
                    continue
                # Undecryptable values are counted (and logged) on the first pass only, which sees
                # each row once, resumed or not; later passes meet the same ones again.
                first = passes == 0
                done, skipped, failed = await self._rewrap_batch(conn, ctx, job, loaded, batch, first)
                cursor = batch[-1].id
                await rewrap_jobs.advance(
                    conn, job.id, cursor=cursor, rewrapped=done, skipped=skipped, failed=failed
                )
                pass_progress += done
                pass_skipped += skipped
                current = await rewrap_jobs.get(conn, job.id)
            if progress is not None and current is not None:
                progress(current, len(batch))
            await asyncio.sleep(0)  # let requests in between batches

    async def _rewrap_batch(
        self,
        conn: asyncpg.Connection,
        ctx: CallContext,
        job: RewrapJob,
        loaded: LoadedKeyring,
        batch: list[StoredCredential],
        count_failures: bool,
    ) -> tuple[int, int, int]:
        target = loaded.ciphers[job.target_version]
        items: list[Rewrapped] = []
        failed = 0
        for stored in batch:
            old = loaded.ciphers.get(stored.sealed.key_version)
            try:
                if old is None:
                    raise crypto.IntegrityError
                sealed = crypto.rewrap(old, target, stored.owner, stored.sealed)
            except crypto.IntegrityError:
                if not count_failures:
                    continue  # met on the first pass: counted and logged then
                failed += 1  # tampered, or its version is gone: left as is, counted, logged
                log.warning(
                    "rewrap skipped a value that does not decrypt",
                    extra={"credential_id": str(stored.id), "key_version": stored.sealed.key_version},
                )
                continue
            items.append(Rewrapped(stored.id, stored.version, sealed.dek_encrypted, sealed.dek_iv))
        owners = await credentials.apply_rewraps(conn, job.target_version, items) if items else []
        for owner in owners:
            await write_event(
                conn,
                CredentialChanged(
                    tenant_id=owner.tenant_id,
                    connection_id=owner.connection_id,
                    credential_key=owner.credential_key,
                    change="rewrapped",
                    key_version=job.target_version,
                ),
                source=EVENT_SOURCE,
                schema=SCHEMA,
            )
        skipped = len(items) - len(owners)
        await audit_trail.record(
            conn,
            ctx,
            Operation.REWRAP_BATCH,
            Outcome.OK,
            key_version=job.target_version,
            details={"job_id": str(job.id), "rewrapped": len(owners), "skipped": skipped, "failed": failed},
        )
        return len(owners), skipped, failed


async def _record_finish(
    conn: asyncpg.Connection, ctx: CallContext, job: RewrapJob, status: str, error: str | None = None
) -> RewrapJob:
    """End a job and audit its end in the caller's transaction; returns the ended job."""
    await rewrap_jobs.finish(conn, job.id, status, error)
    final = await rewrap_jobs.get(conn, job.id)
    assert final is not None  # finished in this transaction
    await audit_trail.record(
        conn,
        ctx,
        Operation.REWRAP_FINISH,
        Outcome.ERROR if status == "failed" else Outcome.OK,
        key_version=job.target_version,
        details={
            "job_id": str(job.id),
            "status": status,
            "rewrapped": final.rewrapped,
            "skipped": final.skipped,
            "failed": final.failed,
            "error": error,
        },
    )
    return final


async def _release(lock_conn: asyncpg.Connection) -> None:
    """Closing the lock's connection releases the advisory lock (and it must close even when
    the database is gone: Postgres releases the lock with the session)."""
    with contextlib.suppress(Exception):
        await lock_conn.close()


def _retrieve(task: asyncio.Task[RewrapJob]) -> None:
    """A background job's failure was logged where it happened; take it so asyncio does not
    report it again as never retrieved."""
    if not task.cancelled():
        task.exception()
