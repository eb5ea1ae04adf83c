"""What a connector instance is told about its connection (never a secret)."""

from __future__ import annotations

from hub_connector_sdk import ConnectionContext
from hub_connectors.domain.connection import Connection


def context_of(connection: Connection) -> ConnectionContext:
    return ConnectionContext(
        connection_id=str(connection.id),
        tenant_id=connection.tenant_id,
        config=dict(connection.config),
        metadata={
            **connection.metadata,
            "base_url": connection.base_url,
            "external_account_id": connection.external_account_id,
        },
    )
