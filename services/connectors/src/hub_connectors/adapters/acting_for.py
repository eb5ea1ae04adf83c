"""The headers with which this service calls a neighbour for a tenant's user (docs/security.md):
its own service token says who calls, these say for whom."""

from __future__ import annotations

from typing import Protocol

from hub_common.web.auth import Tier


class ActsFor(Protocol):
    """Whom a call is for (``services.caller.Caller`` is one)."""

    @property
    def tenant_id(self) -> str: ...

    @property
    def user_id(self) -> str: ...

    @property
    def tier(self) -> Tier: ...


def acting_for(caller: ActsFor) -> dict[str, str]:
    return {"X-Hub-Tenant": caller.tenant_id, "X-Hub-Tier": str(caller.tier), "X-Hub-User": caller.user_id}
