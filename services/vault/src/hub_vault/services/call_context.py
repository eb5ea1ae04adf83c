"""Who is asking, and under which request id (both end up in the audit)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class CallContext:
    caller: str
    request_id: str | None = None
