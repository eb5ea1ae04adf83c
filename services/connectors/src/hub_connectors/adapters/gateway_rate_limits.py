"""A connection's rate-limit status from the gateway (``GET /v1/connections/{id}/rate-limit``),
asked with this service's token for the tenant it names in ``X-Hub-Tenant``, as the gateway
accepts from the connectors service (services/gateway/README.md)."""

from __future__ import annotations

from uuid import UUID

from hub_common.clients.service import ServiceClient
from hub_common.web.auth import ServiceTokenMinter
from hub_connectors.adapters.acting_for import ActsFor, acting_for
from hub_connectors.adapters.service_answers import refusal
from hub_connectors.domain.rate_limit_status import RateLimitStatus


class GatewayRateLimits:
    def __init__(self, gateway_url: str, minter: ServiceTokenMinter, *, timeout_s: float = 5.0) -> None:
        self._gateway = ServiceClient(gateway_url, minter, audience="gateway", timeout_s=timeout_s)

    async def aclose(self) -> None:
        await self._gateway.aclose()

    async def status(self, caller: ActsFor, connection_id: UUID) -> RateLimitStatus:
        resp = await self._gateway.request(
            "GET", f"/v1/connections/{connection_id}/rate-limit", headers=acting_for(caller)
        )
        if not resp.is_success:
            raise refusal(resp, "gateway", "rate_limit_unavailable")
        return RateLimitStatus.from_gateway(resp.json())
