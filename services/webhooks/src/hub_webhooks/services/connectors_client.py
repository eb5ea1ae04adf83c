"""What the webhooks service asks the connectors service: a connection (tenant, connector,
manifest), and to register or unregister a hook at the provider through the connector."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from hub_common.clients.service import ServiceClient, ServiceResponse
from hub_common.errors import HubError, NotFound, ServiceUnavailable, Unprocessable


@dataclass(frozen=True, slots=True)
class ConnectionInfo:
    id: UUID
    tenant_id: str
    connector_id: str
    status: str
    external_account_id: str | None
    signature_spec: dict[str, Any] | None
    webhook_triggers: frozenset[str]


@dataclass(frozen=True, slots=True)
class ProviderHook:
    external_id: str
    events: list[str]
    expires_at: datetime | None
    metadata: dict[str, Any]
    provider_secret_key: str | None


def chosen_signature(manifest: dict[str, Any], config: dict[str, Any]) -> dict[str, Any] | None:
    """The connector's scheme, or the alternative preset the connection's config names
    (``webhook_signature``); an unknown name keeps the default."""
    wanted = config.get("webhook_signature")
    for alternative in manifest.get("webhook_signature_alternatives") or []:
        if isinstance(wanted, str) and alternative.get("preset") == wanted:
            return dict(alternative)
    spec = manifest.get("webhook_signature")
    return dict(spec) if isinstance(spec, dict) else None


def _error(resp: ServiceResponse, default: str) -> HubError:
    try:
        err = resp.json().get("error", {})
    except ValueError:
        err = {}
    code, message = err.get("code", default), err.get("message", f"connectors answered {resp.status_code}")
    if resp.status_code >= 500:
        return ServiceUnavailable(message, code="connectors_unavailable")
    return Unprocessable(message, code=code, details=err.get("details") or {})


class ConnectorsClient:
    def __init__(self, client: ServiceClient) -> None:
        self._client = client

    async def connection(self, connection_id: UUID) -> ConnectionInfo | None:
        resp = await self._client.request("GET", f"/internal/v1/connections/{connection_id}")
        if resp.status_code == 404:
            return None
        if not resp.is_success:
            raise _error(resp, "connection_lookup_failed")
        data = resp.json()
        manifest = data.get("manifest") or {}
        triggers = frozenset(
            t["id"] for t in manifest.get("triggers", []) if t.get("delivery", "webhook") == "webhook"
        )
        return ConnectionInfo(
            id=UUID(data["id"]),
            tenant_id=data["tenant_id"],
            connector_id=data["connector_id"],
            status=data["status"],
            external_account_id=data.get("external_account_id"),
            signature_spec=chosen_signature(manifest, data.get("config") or {}),
            webhook_triggers=triggers,
        )

    async def register(
        self, tenant_id: str, connection_id: UUID, trigger_ids: list[str], target_url: str, secret: str
    ) -> ProviderHook:
        resp = await self._client.request(
            "POST",
            f"/internal/v1/connections/{connection_id}/webhooks",
            json={
                "tenant_id": tenant_id,
                "trigger_ids": trigger_ids,
                "target_url": target_url,
                "secret": secret,
            },
        )
        if resp.status_code == 404:
            raise NotFound("no such connection", code="connection_not_found")
        if not resp.is_success:
            raise _error(resp, "webhook_registration_failed")
        data = resp.json()
        expires = data.get("expires_at")
        return ProviderHook(
            external_id=data["external_id"],
            events=list(data.get("events") or []),
            expires_at=datetime.fromisoformat(expires) if expires else None,
            metadata=dict(data.get("metadata") or {}),
            provider_secret_key=data.get("provider_secret_key"),
        )

    async def unregister(
        self, tenant_id: str, connection_id: UUID, external_id: str, metadata: dict[str, Any]
    ) -> None:
        resp = await self._client.request(
            "POST",
            f"/internal/v1/connections/{connection_id}/webhooks/unregister",
            json={"tenant_id": tenant_id, "external_id": external_id, "metadata": metadata},
        )
        if resp.status_code == 404 or resp.is_success:
            return
        raise _error(resp, "webhook_unregistration_failed")
