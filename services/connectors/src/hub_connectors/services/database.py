"""Staging the connectors service's events in the caller's unit of work.

The unit of work itself is ``hub_common.db.Database`` (docs/adr/0027).
"""

from __future__ import annotations

from uuid import UUID

import asyncpg

from hub_common.db.outbox import write_event
from hub_common.events import HubEvent
from hub_connectors.config import SCHEMA

EVENT_SOURCE = "/integration-hub/connectors"


async def publish(conn: asyncpg.Connection, event: HubEvent, *, event_id: UUID | None = None) -> str:
    """Stage an event in the outbox of the caller's transaction (relayed after commit)."""
    return await write_event(conn, event, source=EVENT_SOURCE, schema=SCHEMA, event_id=event_id)
