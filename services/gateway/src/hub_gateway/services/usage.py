"""Token usage metering (docs/adr/0021): what :mod:`hub_gateway.domain.usage` reads from AI
providers' answers is counted in Prometheus at once and added to ``gateway.token_usage`` in
batches, off the hot path (a call never waits for Postgres)."""

from __future__ import annotations

import contextlib
import logging
import uuid
from dataclasses import dataclass

from prometheus_client import Counter

from hub_common.background import BackgroundTask, every
from hub_common.db import Database
from hub_gateway.domain.usage import TokenUsage
from hub_gateway.repositories import token_usage

log = logging.getLogger(__name__)
TOKENS = Counter(
    "hub_gateway_provider_tokens_total",
    "Tokens AI providers reported using, per connector and direction",
    ["connector", "direction"],
)
METERED = Counter(
    "hub_gateway_metered_responses_total", "Answers whose token usage was metered", ["connector", "streamed"]
)


@dataclass(slots=True)
class _Pending:
    tenant_id: str
    connector_id: str
    input_tokens: int = 0
    output_tokens: int = 0
    responses: int = 0


class UsageMeter:
    def __init__(
        self, db: Database | None, *, flush_interval_s: float = 1.0, max_pending: int = 50_000
    ) -> None:
        self._db = db
        self._flush_interval_s = flush_interval_s
        self._max_pending = max_pending
        self._pending: dict[uuid.UUID, _Pending] = {}
        self._flusher = BackgroundTask("gateway-token-usage")

    def record(
        self,
        connection_id: uuid.UUID,
        tenant_id: str,
        connector_id: str,
        usage: TokenUsage,
        *,
        streamed: bool,
    ) -> None:
        TOKENS.labels(connector_id, "input").inc(usage.input_tokens)
        TOKENS.labels(connector_id, "output").inc(usage.output_tokens)
        METERED.labels(connector_id, "true" if streamed else "false").inc()
        pending = self._pending.get(connection_id)
        if pending is None:
            if len(self._pending) >= self._max_pending:
                log.warning("token usage dropped: too many connections pending")
                return
            pending = self._pending[connection_id] = _Pending(tenant_id, connector_id)
        pending.input_tokens += usage.input_tokens
        pending.output_tokens += usage.output_tokens
        pending.responses += 1

    def pending_for(self, connection_id: uuid.UUID) -> _Pending | None:
        return self._pending.get(connection_id)

    async def start(self) -> None:
        self._flusher.start(
            every(self._flush_interval_s, self.flush, what="token usage not persisted yet", logger=log)
        )

    async def stop(self) -> None:
        await self._flusher.stop()
        with contextlib.suppress(Exception):
            await self.flush()

    async def flush(self) -> int:
        if not self._pending or self._db is None:
            return 0
        batch, self._pending = self._pending, {}
        rows = [
            (cid, p.tenant_id, p.connector_id, p.input_tokens, p.output_tokens, p.responses)
            for cid, p in batch.items()
        ]
        try:
            async with self._db.connection() as conn:
                await token_usage.add_many(conn, rows)
        except Exception:
            for cid, p in batch.items():  # added back: counted on the next flush, never twice
                mine = self._pending.setdefault(cid, _Pending(p.tenant_id, p.connector_id))
                mine.input_tokens += p.input_tokens
                mine.output_tokens += p.output_tokens
                mine.responses += p.responses
            raise
        return len(rows)
