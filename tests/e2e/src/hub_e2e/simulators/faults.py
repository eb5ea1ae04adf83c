"""Fault injection (``/_sim/faults``): make the next N matching calls fail, hang or lag."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from starlette.responses import JSONResponse, Response

from hub_e2e.simulators.config import ConfigError

ENDPOINTS = ("authorize", "token", "revoke", "identity", "any")
# status: answer `status` at once, untouched state. delay: wait `delay_s`, then process normally
# (the request did reach the server: the ambiguous case a client timeout creates). hang: wait
# `delay_s`, then 504 without processing. invalid_grant: the token endpoint refuses the grant
# without touching state (e.g. a provider-side revocation the client cannot see).
ACTIONS = ("status", "delay", "hang", "invalid_grant")


@dataclass
class Fault:
    endpoint: str
    action: str = "status"
    count: int = 1
    status: int = 503
    delay_s: float = 30.0
    retry_after: int | None = None
    grant_type: str | None = None  # token endpoint only: match this grant type

    @classmethod
    def from_json(cls, data: Any) -> Fault:
        if not isinstance(data, Mapping):
            raise ConfigError("a fault is a JSON object")
        try:
            fault = cls(**data)
        except TypeError as exc:
            raise ConfigError(f"bad fault: {exc}") from None
        if fault.endpoint not in ENDPOINTS:
            raise ConfigError(f"endpoint is one of {ENDPOINTS}")
        if fault.action not in ACTIONS:
            raise ConfigError(f"action is one of {ACTIONS}")
        if fault.action == "invalid_grant" and fault.endpoint != "token":
            raise ConfigError("invalid_grant faults apply to the token endpoint only")
        if not isinstance(fault.count, int) or fault.count < 1:
            raise ConfigError("count is a positive integer")
        if not isinstance(fault.status, int) or not 400 <= fault.status <= 599:
            raise ConfigError("status is an HTTP error status")
        if not isinstance(fault.delay_s, int | float) or fault.delay_s < 0:
            raise ConfigError("delay_s is a non-negative number")
        return fault

    def matches(self, endpoint: str, grant_type: str | None) -> bool:
        if self.endpoint not in ("any", endpoint):
            return False
        return self.grant_type is None or self.grant_type == grant_type


class Faults:
    def __init__(self) -> None:
        self.pending: list[Fault] = []

    def add(self, fault: Fault) -> None:
        self.pending.append(fault)

    def clear(self) -> None:
        self.pending.clear()

    def take(self, endpoint: str, grant_type: str | None = None) -> Fault | None:
        """Consume one use of the first matching fault (FIFO)."""
        for fault in self.pending:
            if fault.matches(endpoint, grant_type):
                fault.count -= 1
                if fault.count == 0:
                    self.pending.remove(fault)
                return fault
        return None

    def view(self) -> list[dict[str, Any]]:
        return [asdict(f) for f in self.pending]


async def fault_response(fault: Fault) -> Response | None:
    """What the endpoint answers instead, or None to carry on with the normal handling."""
    if fault.action in ("delay", "hang"):
        await asyncio.sleep(fault.delay_s)
        if fault.action == "delay":
            return None
        return JSONResponse(
            {"error": "temporarily_unavailable", "error_description": "injected hang"}, status_code=504
        )
    if fault.action == "status":
        headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else {}
        # RFC 6749 §4.1.2.1 names server_error and temporarily_unavailable for these cases.
        error = "temporarily_unavailable" if fault.status == 503 else "server_error"
        return JSONResponse(
            {"error": error, "error_description": "injected fault"}, status_code=fault.status, headers=headers
        )
    return None
