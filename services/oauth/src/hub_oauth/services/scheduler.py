"""Proactive refresh: tokens expiring within the margin (or idle too long) are refreshed before
anyone needs them; client-credentials tokens are re-minted. The margin is capped at half the
token's lifetime, so a 30 s token is refreshed with 15 s left, not in every round.

One replica refreshes a given connection: a round claims its due rows (``FOR UPDATE SKIP
LOCKED`` plus a lease in ``next_attempt_at`` that the other replicas' rounds skip), and the
refresh it makes coalesces with any refresh that completed after the round began."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from uuid import UUID

from hub_common.db import Database
from hub_common.errors import HubError
from hub_oauth.repositories import flows, tokens
from hub_oauth.services.refresh import Refresher

log = logging.getLogger(__name__)
FAILED_RETRY_S = 600.0  # a refresh that crashed is tried again after this long
# A stop lets the refresh in hand finish this long: cancelled while the provider rotates the
# refresh token, the new one would be lost and the connection go token_invalid on the next try.
STOP_GRACE_S = 25.0
# A claimed connection is left to the claiming replica this long (a refresh waits at most 30 s
# for the lock); a replica that dies mid-round leaves its claims to expire.
CLAIM_LEASE_S = 90.0


class RefreshScheduler:
    def __init__(
        self,
        *,
        db: Database,
        refresher: Refresher,
        interval_s: float,
        margin_s: float,
        idle_s: float,
        batch: int = 50,
    ) -> None:
        self.db = db
        self.refresher = refresher
        self.interval_s = interval_s
        self.margin_s = margin_s
        self.idle_s = idle_s
        self.batch = batch
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="oauth-refresh-scheduler")

    async def stop(self, grace_s: float = STOP_GRACE_S) -> None:
        """No new refresh starts; the one in hand may finish (bounded), then the loop ends."""
        self._stopping.set()
        if self._task is None:
            return
        try:
            await asyncio.wait_for(asyncio.shield(self._task), grace_s)
        except TimeoutError:
            log.warning("proactive refresh still running at shutdown; cancelled", extra={"grace_s": grace_s})
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _loop(self) -> None:
        while not self._stopping.is_set():
            try:
                await self.run_once()
                if not self._stopping.is_set():
                    async with self.db.connection() as conn:
                        await flows.purge(conn, older_than_s=24 * 3600)
            except Exception:
                log.exception("refresh round failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self.interval_s)

    async def run_once(self) -> int:
        """One round; returns how many provider refreshes it made."""
        began = await self.refresher.locks.now()
        async with self.db.transaction() as conn:
            due = await tokens.due_for_refresh(
                conn, margin_s=self.margin_s, idle_s=self.idle_s, limit=self.batch, lease_s=CLAIM_LEASE_S
            )
            rows = [await tokens.get_unscoped(conn, cid) for cid in due]
        refreshed = 0
        for row in rows:
            if row is None:
                continue
            if self._stopping.is_set():
                # The rest are due again at the next replica's (or start's) round.
                await self._release(row.connection_id)
                continue
            try:
                outcome = await self.refresher.refresh(
                    row.tenant_id, row.connection_id, force=False, asked_at=began
                )
                refreshed += int(outcome.performed)
                if not outcome.performed:
                    await self._release(row.connection_id)
            except HubError as exc:
                log.info(
                    "proactive refresh did not succeed",
                    extra={"connection_id": str(row.connection_id), "code": exc.code},
                )
            except Exception:
                # One connection's bug must not stop the round for those after it, nor put
                # itself first in every round: it waits like a failed refresh does.
                log.exception("proactive refresh failed", extra={"connection_id": str(row.connection_id)})
                async with self.db.connection() as conn:
                    await tokens.record_failure(conn, row.connection_id, "internal_error", FAILED_RETRY_S)
        return refreshed

    async def _release(self, connection_id: UUID) -> None:
        async with self.db.connection() as conn:
            await tokens.release_claim(conn, connection_id)
