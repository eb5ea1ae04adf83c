"""A polling trigger's cursor for providers that offer no change feed, only "get this item":
the items an action started (an OpenAI batch, an Anthropic message batch) are watched until
they end, then fired once.

The hub stores the cursor (opaque to it) per connection and trigger, adds items with
:meth:`BaseConnector.watch` when an action reports them (:meth:`BaseConnector.polled_items`),
and commits each poll's events together with the cursor the poll returned, so an item that
ended is fired exactly once, even across restarts.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from hub_connector_sdk.errors import ConnectorError

MAX_WATCHED = 1000  # a cursor is one Postgres text value: keep it small


@dataclass
class WatchCursor:
    pending: list[str] = field(default_factory=list)

    @classmethod
    def decode(cls, cursor: str | None) -> WatchCursor:
        if not cursor:
            return cls()
        try:
            data = json.loads(cursor)
            pending = data["pending"]
            if not isinstance(pending, list) or not all(isinstance(i, str) for i in pending):
                raise TypeError("pending")
        except (ValueError, TypeError, KeyError):
            raise ConnectorError(
                "polling cursor is not one this connector wrote", code="invalid_cursor"
            ) from None
        return cls(list(pending))

    def add(self, item_id: str) -> WatchCursor:
        if item_id not in self.pending:
            if len(self.pending) >= MAX_WATCHED:
                raise ConnectorError(
                    f"already watching {MAX_WATCHED} items for this trigger", code="too_many_watched"
                )
            self.pending.append(item_id)
        return self

    def encode(self) -> str:
        return json.dumps({"pending": self.pending}, separators=(",", ":"))
