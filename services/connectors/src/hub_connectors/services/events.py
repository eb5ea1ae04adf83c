"""The events a connection's own changes produce (built from the row after the change)."""

from __future__ import annotations

from typing import Literal, cast

from hub_common.events import ConnectionStatusChanged, IntegrationConnected, IntegrationDisconnected
from hub_connectors.domain.connection import Connection
from hub_connectors.domain.states import ConnectionStatus

StatusName = Literal["initializing", "active", "token_expired", "token_invalid", "disconnected", "error"]


def connected(c: Connection) -> IntegrationConnected:
    return IntegrationConnected(
        tenant_id=c.tenant_id,
        connection_id=c.id,
        connector_id=c.connector_id,
        external_account_id=c.external_account_id or "",
        user_id=c.user_id,
        auth_method=c.auth_method,
    )


def disconnected(c: Connection, reason: str) -> IntegrationDisconnected:
    return IntegrationDisconnected(
        tenant_id=c.tenant_id, connection_id=c.id, connector_id=c.connector_id, reason=reason
    )


def status_changed(c: Connection, previous: ConnectionStatus) -> ConnectionStatusChanged:
    return ConnectionStatusChanged(
        tenant_id=c.tenant_id,
        connection_id=c.id,
        connector_id=c.connector_id,
        status=cast(StatusName, str(c.status)),
        previous_status=str(previous),
        reason=c.last_error,
    )
