"""What another hub service may learn about a connection, by id alone (``/internal/v1``).

The gateway needs the base URL, the hosts the connection may reach and where its credential
sits; oauth and webhooks need the manifest. Values stay in the vault: only key names leave.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from hub_common.db import Database
from hub_connector_sdk import ApiSpec, AuthenticationMethod, ConnectorManifest
from hub_connectors.domain.connection import Connection
from hub_connectors.domain.credentials import vault_keys
from hub_connectors.domain.errors import ConnectionNotFound
from hub_connectors.domain.hosts import effective_allowed_hosts
from hub_connectors.registry import ConnectorRegistry
from hub_connectors.repositories import connections

OAUTH_KEYS = ["access_token"]


@dataclass(frozen=True, slots=True)
class ServiceView:
    connection: Connection
    manifest: ConnectorManifest | None
    allowed_hosts: list[str]
    default_headers: dict[str, str]
    api_key_placement: dict[str, Any] | None
    credential_keys: list[str]


def connection_headers(api: ApiSpec, config: dict[str, Any]) -> dict[str, str]:
    """The manifest's default headers plus the connection's config values it maps to headers
    (``api.config_headers``: OpenAI's organization and project)."""
    headers = dict(api.default_headers)
    for key, header in api.config_headers.items():
        value = config.get(key)
        if isinstance(value, str) and value:
            headers[header] = value
    return headers


class ConnectionLookup:
    def __init__(self, db: Database, registry: ConnectorRegistry) -> None:
        self._db = db
        self._registry = registry

    async def for_service(self, connection_id: UUID) -> ServiceView:
        """Unscoped on purpose: only hub services (checked by the route) ask, and the answer
        names the tenant so they can scope what they do next."""
        async with self._db.connection() as conn:
            connection = await connections.get_unscoped(conn, connection_id)
        if connection is None:
            raise ConnectionNotFound()
        registered = self._registry.get(connection.connector_id)
        manifest = registered.manifest if registered else None
        if manifest is None:
            return ServiceView(connection, None, [], {}, None, [])
        if manifest.auth.method is AuthenticationMethod.OAUTH2:
            keys = OAUTH_KEYS
        else:
            keys = sorted(set(vault_keys(manifest.auth).values()))
        placement = manifest.auth.api_key
        return ServiceView(
            connection=connection,
            manifest=manifest,
            allowed_hosts=effective_allowed_hosts(manifest.api.base_url, manifest.api.allowed_hosts),
            default_headers=connection_headers(manifest.api, connection.config),
            api_key_placement=placement.model_dump() if placement else None,
            credential_keys=keys,
        )
