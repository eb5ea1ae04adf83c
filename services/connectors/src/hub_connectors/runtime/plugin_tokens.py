"""The only credential a plugin worker ever holds: a gateway token for one call.

Minted with this service's own key through ``ServiceTokenMinter`` (whatever algorithm
``hub_common.web.auth`` signs with), with ``typ=plugin``, ``aud=gateway``, the connection
(``conn``), its tenant (``tenant``) and tier (``tier``), and an expiry just past the call's
deadline. The gateway accepts it on ``/v1/proxy/{conn}/`` only, for that tenant only, and never
with ``X-Hub-Tenant``; no other service accepts it at all (``typ`` is not ``service``).
"""

from __future__ import annotations

import math

from hub_common.web.auth import ServiceTokenMinter
from hub_connector_sdk import ConnectionContext

PLUGIN_TOKEN_TYPE = "plugin"
GATEWAY_AUDIENCE = "gateway"


class PluginTokens:
    def __init__(self, minter: ServiceTokenMinter) -> None:
        self._minter = minter

    def mint(
        self,
        context: ConnectionContext,
        connector_id: str,
        tier: str | None,
        ttl_s: float,
        *,
        purpose: str | None = None,
    ) -> str:
        if not tier:
            # Never a default: the gateway gates custom connectors by this claim.
            raise ValueError("a plugin token needs the tenant's tier")
        return self._minter.token_for(
            GATEWAY_AUDIENCE,
            extra_claims={
                "typ": PLUGIN_TOKEN_TYPE,
                "conn": context.connection_id,
                "tenant": context.tenant_id,
                "tier": tier,
                "connector": connector_id,
                # "health-check": the gateway lets this call through an initializing connection.
                **({"purpose": purpose} if purpose else {}),
            },
            ttl_s=math.ceil(ttl_s),
        )
