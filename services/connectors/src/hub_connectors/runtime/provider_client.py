"""The HTTP client a built-in connector gets: bound to the gateway's proxy route of one connection,
carrying this service's own token and the tenant (built-ins are trusted code of this service).
Plugins get a narrower client in their own process: ``hub_connectors.plugin_host.worker``.

The SDK's ``ProviderClient`` already refuses absolute URLs and dot segments; the transport below
is the second gate, so that even a connector that rewrites its client's base URL cannot send a
request anywhere but ``{gateway}/v1/proxy/{its connection id}/``. The gateway then allows only
the hosts the connection resolved to (its manifest's ``api.allowed_hosts``). A connector never
holds a credential: the gateway injects it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import httpx

from hub_common.web.auth import ServiceTokenMinter
from hub_connector_sdk import ConnectionContext, ProviderClient
from hub_connectors.plugin_host.transport import GatewayOnlyTransport

__all__ = ["GatewayOnlyTransport", "ProviderClientFactory", "TransportFactory"]

TransportFactory = Callable[[], httpx.AsyncBaseTransport]
TENANT_HEADER = "X-Hub-Tenant"
TIER_HEADER = "X-Hub-Tier"
CONNECTOR_HEADER = "X-Hub-Connector"
# Marks the calls of a health check: the gateway lets this service's health check through a
# connection still `initializing` (an API-key connection's first check), and nothing else.
PURPOSE_HEADER = "X-Hub-Purpose"
HEALTH_CHECK = "health-check"


class ProviderClientFactory:
    """Makes a fresh client per call (inside the event loop that will use it)."""

    def __init__(
        self,
        gateway_url: str,
        *,
        minter: ServiceTokenMinter | None = None,
        timeout_s: float = 30.0,
        transport_factory: TransportFactory | None = None,
    ) -> None:
        self.gateway_url = gateway_url.rstrip("/")
        self._minter = minter
        self._timeout_s = timeout_s
        self._transport_factory = transport_factory or httpx.AsyncHTTPTransport

    def proxy_prefix(self, connection_id: str) -> str:
        return f"{self.gateway_url}/v1/proxy/{connection_id}/"

    def _headers(
        self, context: ConnectionContext, connector_id: str, tier: str | None, health_check: bool
    ) -> Callable[[], Mapping[str, str]]:
        # The tenant's tier sets the gateway quota; without it the gateway applies its default
        # for service calls (Teams), which would lift a WriterPro tenant's quota.
        extra = {TIER_HEADER: tier} if tier else {}
        if health_check:
            extra[PURPOSE_HEADER] = HEALTH_CHECK

        def headers() -> Mapping[str, str]:
            # This service's own token: the gateway trusts it to act for the tenant named here.
            base = self._minter.headers_for("gateway") if self._minter else {}
            return {**base, TENANT_HEADER: context.tenant_id, CONNECTOR_HEADER: connector_id, **extra}

        return headers

    def __call__(
        self,
        context: ConnectionContext,
        connector_id: str,
        tier: str | None = None,
        *,
        health_check: bool = False,
    ) -> ProviderClient:
        transport = GatewayOnlyTransport(self._transport_factory(), self.proxy_prefix(context.connection_id))
        return ProviderClient(
            gateway_url=self.gateway_url,
            connection_id=context.connection_id,
            headers=self._headers(context, connector_id, tier, health_check),
            transport=transport,
            timeout_s=self._timeout_s,
        )
