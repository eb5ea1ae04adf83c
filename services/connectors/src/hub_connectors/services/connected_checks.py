"""The health check after an OAuth connect, run beside the consumer that saw the connect.

A connection an OAuth flow just activated gets the check an API-key connection gets at
creation: its first check time and, when oauth could not name the account, the connector's
identity of it. Off the consumer's path (the check calls the provider through the gateway); a
check still running at shutdown is cancelled, and the periodic check covers it later.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from uuid import UUID

from hub_common.errors import HubError
from hub_connectors.services.health import HealthService

log = logging.getLogger(__name__)


class ConnectedChecks:
    def __init__(self, health: HealthService) -> None:
        self._health = health
        self._running: set[asyncio.Task[None]] = set()

    def start(self, tenant_id: str, connection_id: UUID) -> None:
        task = asyncio.create_task(
            self._check(tenant_id, connection_id), name=f"connected-check:{connection_id}"
        )
        self._running.add(task)
        task.add_done_callback(self._running.discard)

    async def stop(self) -> None:
        for task in list(self._running):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _check(self, tenant_id: str, connection_id: UUID) -> None:
        try:
            await self._health.verify(tenant_id, connection_id)
        except HubError as exc:  # disconnected meanwhile, say: nothing to check
            log.info(
                "check after connect skipped", extra={"connection_id": str(connection_id), "code": exc.code}
            )
        except Exception:
            log.exception("check after connect failed", extra={"connection_id": str(connection_id)})
