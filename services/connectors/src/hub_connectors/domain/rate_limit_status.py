"""A connection's rate-limit status as the gateway reports it (``GET /v1/connections/{id}/rate-limit``,
services/gateway/README.md), read for the connection's page: the summary, and each hub quota and
provider budget by name."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any


def _time(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) and value else None


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


@dataclass(frozen=True)
class Budget:
    name: str  # "Hub quota (connection)", "Provider: core", ...
    limit: int | None
    remaining: int | None
    reset_at: datetime | None


def _budget(name: str, body: Mapping[str, Any]) -> Budget:
    return Budget(name, _int(body.get("limit")), _int(body.get("remaining")), _time(body.get("reset_at")))


@dataclass(frozen=True)
class RateLimitStatus:
    requests_limit: int | None
    requests_remaining: int | None
    reset_at: datetime | None
    is_limited: bool
    blocked_until: datetime | None  # set only while calls are refused
    budgets: tuple[Budget, ...]

    @classmethod
    def from_gateway(cls, body: Mapping[str, Any], now: datetime | None = None) -> RateLimitStatus:
        now = now or datetime.now(UTC)
        budgets = [_budget(f"Hub quota ({b.get('scope')})", b) for b in body.get("gateway") or []]
        budgets += [_budget(f"Provider: {b.get('api_name')}", b) for b in body.get("provider") or []]
        is_limited = bool(body.get("is_limited"))
        blocked_until = None
        if is_limited:
            # The provider's blocks say until when; a spent hub quota says when to retry.
            ends = [t for t in (_time(b.get("until")) for b in body.get("provider_blocks") or []) if t]
            retry = _int(body.get("retry_after_s"))
            if ends:
                blocked_until = max(ends)
            elif retry is not None:
                blocked_until = now + timedelta(seconds=retry)
            else:
                blocked_until = _time(body.get("reset_at"))
        return cls(
            requests_limit=_int(body.get("requests_limit")),
            requests_remaining=_int(body.get("requests_remaining")),
            reset_at=_time(body.get("reset_at")),
            is_limited=is_limited,
            blocked_until=blocked_until,
            budgets=tuple(budgets),
        )
