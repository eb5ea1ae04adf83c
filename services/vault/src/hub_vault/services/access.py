"""Policy enforcement: a denied call is audited (in its own transaction) and answered 403."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from uuid import UUID

from hub_common.db import Database
from hub_vault.domain.errors import PolicyDenied
from hub_vault.domain.operations import Operation, Outcome
from hub_vault.domain.policy import Policy
from hub_vault.services import audit_trail
from hub_vault.services.call_context import CallContext

log = logging.getLogger(__name__)


class AccessControl:
    def __init__(self, db: Database, policy: Policy) -> None:
        self.db = db
        self.policy = policy

    async def require(
        self,
        ctx: CallContext,
        operation: Operation,
        *,
        tenant_id: str | None = None,
        connection_id: UUID | None = None,
        keys: Sequence[str | None] = (None,),
    ) -> None:
        denied = [k for k in keys if not self.policy.allows(ctx.caller, operation, k)]
        if not denied:
            return
        log.info("vault call denied by policy", extra={"caller": ctx.caller, "operation": operation.value})
        async with self.db.transaction() as conn:
            for key in denied:
                await audit_trail.record(
                    conn,
                    ctx,
                    operation,
                    Outcome.DENIED,
                    tenant_id=tenant_id,
                    connection_id=connection_id,
                    credential_key=key,
                )
        raise PolicyDenied(operation.value)
