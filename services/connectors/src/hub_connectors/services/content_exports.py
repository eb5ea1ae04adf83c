"""Content exports: started and inspected per connection, run by a background task that
checkpoints its cursor in Postgres and resumes after a restart (docs/adr/0016).

Each page is one transaction: the documents are staged in the outbox as ``integration.content``
events and the cursor moves on together, so after a crash the export resumes at the first page
not committed; the documents of a page whose commit was lost are sent again with the same ids
(consumers upsert by ``id``). A worker holds an export through a lease renewed every page: a
worker that dies stops renewing, and another one takes the export over when the lease runs out.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from datetime import timedelta
from uuid import UUID

from hub_common.db import Database
from hub_common.errors import Conflict, NotFound, Unprocessable
from hub_common.license import Feature, policy_for, require_feature
from hub_common.redaction import redact_text
from hub_common.web.auth import Tier
from hub_connector_sdk import ConnectorError, ProviderError
from hub_connectors.domain.content_export import ContentExport, ExportMode, content_event
from hub_connectors.domain.errors import ConnectionNotActive, ConnectionNotFound, ConnectorUnavailable
from hub_connectors.domain.states import ConnectionStatus
from hub_connectors.registry import ConnectorRegistry
from hub_connectors.repositories import connections, tenants
from hub_connectors.repositories import content_exports as exports
from hub_connectors.runtime import ConnectorRuntime
from hub_connectors.services.caller import Caller
from hub_connectors.services.contexts import context_of
from hub_connectors.services.database import publish

log = logging.getLogger(__name__)
MAX_MESSAGE_CHARS = 500


class ExportNotFound(NotFound):
    code = "export_not_found"

    def __init__(self) -> None:
        super().__init__("no such export")


class ExportUnsupported(Unprocessable):
    code = "content_export_unsupported"


class ExportAlreadyRunning(Conflict):
    code = "export_running"


class ContentExportService:
    """What the API does: start, inspect, list and cancel exports."""

    def __init__(self, db: Database, registry: ConnectorRegistry) -> None:
        self._db = db
        self._registry = registry
        self.started = asyncio.Event()  # wakes the runner at once instead of at its next poll

    async def start(self, caller: Caller, connection_id: UUID, mode: ExportMode) -> ContentExport:
        async with self._db.transaction() as conn:
            connection = await connections.get(conn, caller.tenant_id, connection_id)
            if connection is None:
                raise ConnectionNotFound()
            registered = self._registry.get(connection.connector_id)
            if registered is None:
                raise ConnectorUnavailable(f"connector {connection.connector_id} is not loaded in this hub")
            if registered.custom:
                require_feature(caller.tier, Feature.CUSTOM_CONNECTORS)
            if not registered.manifest.content_export:
                raise ExportUnsupported(f"{connection.connector_id} does not export content")
            if connection.status is not ConnectionStatus.ACTIVE:
                raise ConnectionNotActive(
                    f"the connection is {connection.status}, not active",
                    details={"status": str(connection.status)},
                )
            await tenants.observe(conn, caller.tenant_id, caller.tier.value)
            start = None
            if mode == "incremental":
                start = await exports.last_completed_cursor(conn, caller.tenant_id, connection_id)
            try:
                export = await exports.insert(
                    conn,
                    export_id=uuid.uuid4(),
                    tenant_id=caller.tenant_id,
                    connection_id=connection_id,
                    connector_id=connection.connector_id,
                    user_id=caller.user_id,
                    mode=mode,
                    start_cursor=start,
                )
            except exports.ExportRunning:
                running = await exports.running_for(conn, caller.tenant_id, connection_id)
                raise ExportAlreadyRunning(
                    "the connection already has a running export",
                    details={"export_id": str(running.id) if running else None},
                ) from None
        self.started.set()
        return export

    async def get(self, caller: Caller, connection_id: UUID, export_id: UUID) -> ContentExport:
        async with self._db.connection() as conn:
            export = await exports.get(conn, caller.tenant_id, connection_id, export_id)
        if export is None:
            raise ExportNotFound()
        return export

    async def list(self, caller: Caller, connection_id: UUID, limit: int = 20) -> list[ContentExport]:
        async with self._db.connection() as conn:
            if await connections.get(conn, caller.tenant_id, connection_id) is None:
                raise ConnectionNotFound()
            return await exports.list_for(conn, caller.tenant_id, connection_id, limit)

    async def cancel(self, caller: Caller, connection_id: UUID, export_id: UUID) -> ContentExport:
        async with self._db.transaction() as conn:
            export = await exports.get(conn, caller.tenant_id, connection_id, export_id)
            if export is None:
                raise ExportNotFound()
            ended = await exports.finish(
                conn, export_id, "cancelled", tenant_id=caller.tenant_id, message="cancelled by the user"
            )
        return ended or export  # already finished: the export as it ended


class ExportRunner:
    """The background task: claims running exports and runs them page by page."""

    def __init__(
        self,
        db: Database,
        registry: ConnectorRegistry,
        runtime: ConnectorRuntime,
        service: ContentExportService,
        *,
        lease_s: float = 60.0,
        poll_interval_s: float = 2.0,
        concurrency: int = 2,
        max_attempts: int = 3,
        max_text_bytes: int = 256 * 1024,
        max_retry_wait_s: float = 60.0,
    ) -> None:
        self.owner = f"exports-{uuid.uuid4().hex[:12]}"
        self._db = db
        self._registry = registry
        self._runtime = runtime
        self._service = service
        self._lease = timedelta(seconds=lease_s)
        self._poll_interval_s = poll_interval_s
        self._slots = asyncio.Semaphore(concurrency)
        self._max_attempts = max_attempts
        self._max_text_bytes = max_text_bytes
        self._max_retry_wait_s = max_retry_wait_s
        self._loop_task: asyncio.Task[None] | None = None
        self._running: set[asyncio.Task[None]] = set()

    def start(self) -> None:
        self._loop_task = asyncio.create_task(self._loop(), name="content-exports")

    async def stop(self, *, release: bool = True) -> None:
        """Stop; ``release`` hands the exports back at once (a clean shutdown), else they wait
        for their lease to run out as after a crash."""
        tasks = [t for t in (self._loop_task, *self._running) if t is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._loop_task = None
        if release:
            async with self._db.transaction() as conn:
                await exports.release(conn, self.owner)

    async def _loop(self) -> None:
        while True:
            try:
                await self._claim_available()
            except Exception:
                log.exception("content export claim failed")
            self._service.started.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._service.started.wait(), self._poll_interval_s)

    async def _claim_available(self) -> None:
        while not self._slots.locked():
            async with self._db.transaction() as conn:
                export = await exports.claim(conn, self.owner, self._lease)
            if export is None:
                return
            await self._slots.acquire()
            task = asyncio.create_task(self._run(export), name=f"content-export:{export.id}")
            self._running.add(task)
            task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._running.discard(task)
        self._slots.release()
        if not task.cancelled() and task.exception() is not None:
            log.error("content export task failed", exc_info=task.exception())

    async def _run(self, export: ContentExport) -> None:
        log.info(
            "content export running", extra={"export_id": str(export.id), "cursor_set": bool(export.cursor)}
        )
        while export.status == "running":
            next_export = await self._step(export)
            if next_export is None:
                return  # lost the lease, cancelled, or ended by a failure
            export = next_export

    async def _step(self, export: ContentExport) -> ContentExport | None:
        """Fetch one page and commit it with its cursor; None when the export ends here."""
        async with self._db.connection() as conn:
            connection = await connections.get(conn, export.tenant_id, export.connection_id)
            tier = await tenants.tier_of(conn, export.tenant_id)
        registered = self._registry.get(export.connector_id)
        if connection is None or connection.status is not ConnectionStatus.ACTIVE:
            status = connection.status if connection else "missing"
            await self._end(export, "connection_not_active", f"the connection is {status}")
            return None
        if registered is None:
            await self._end(export, "connector_unavailable", f"{export.connector_id} is not loaded")
            return None
        if registered.custom and not _allows_custom(tier):
            await self._end(export, "feature_not_in_tier", "custom connectors need the enterprise tier")
            return None
        try:
            page = await self._runtime.export_page(
                registered, context_of(connection), export.cursor, tier=tier
            )
        except ConnectorError as exc:
            return await self._failed_attempt(export, exc)
        async with self._db.transaction() as conn:
            if await exports.lock_held(conn, export.id, self.owner) is None:
                return None  # cancelled meanwhile, or taken over: nothing of this page is written
            for document in page.documents:
                await publish(conn, content_event(export, document, max_text_bytes=self._max_text_bytes))
            cursor = page.cursor if page.cursor is not None else export.cursor
            return await exports.checkpoint(
                conn, export.id, cursor=cursor, documents=len(page.documents), done=not page.has_more,
                lease=self._lease,
            )  # fmt: skip

    async def _failed_attempt(self, export: ContentExport, exc: ConnectorError) -> ContentExport | None:
        message = redact_text(exc.message)[:MAX_MESSAGE_CHARS]
        async with self._db.transaction() as conn:
            attempts = await exports.note_attempt(
                conn,
                export.id,
                self.owner,
                exc.code,
                message,
                self._lease + timedelta(seconds=self._max_retry_wait_s),
            )
        if attempts == 0:
            return None  # no longer ours
        if attempts >= self._max_attempts or exc.code in _FINAL_CODES:
            await self._end(export, exc.code, message)
            return None
        wait = exc.retry_after_s if isinstance(exc, ProviderError) and exc.retry_after_s else 2.0**attempts
        await asyncio.sleep(min(wait, self._max_retry_wait_s))
        return export

    async def _end(self, export: ContentExport, code: str, message: str) -> None:
        async with self._db.transaction() as conn:
            await exports.finish(conn, export.id, "failed", owner=self.owner, code=code, message=message)
        log.warning("content export failed", extra={"export_id": str(export.id), "error_code": code})
        return None


# Failures a retry cannot fix.
_FINAL_CODES = frozenset(
    {"credentials_rejected", "content_export_unsupported", "invalid_config", "connector_error"}
)


def _allows_custom(tier: str | None) -> bool:
    return policy_for(tier or Tier.CORE).has(Feature.CUSTOM_CONNECTORS)
