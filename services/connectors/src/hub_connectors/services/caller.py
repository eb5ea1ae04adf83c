"""Who asks: the tenant, user and tier of a verified bearer token."""

from __future__ import annotations

from dataclasses import dataclass

from hub_common.web.auth import Principal, Tier


@dataclass(frozen=True)
class Caller:
    tenant_id: str
    user_id: str
    tier: Tier

    @classmethod
    def of(cls, principal: Principal) -> Caller:
        assert principal.tenant_id and principal.user_id and principal.tier
        return cls(principal.tenant_id, principal.user_id, principal.tier)
