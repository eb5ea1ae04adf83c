"""``/v1/connections``: the Integration Manager API (CONTRACT)."""

from __future__ import annotations

import math
from typing import Annotated

from fastapi import APIRouter, Header, Query, Response, status

from hub_connector_sdk import ActionResult, ConnectorCategory
from hub_connectors.api.deps import CallerDep, ConnectionIdDep, ContainerDep
from hub_connectors.api.schemas import (
    ConnectionList,
    ConnectionOut,
    CreateConnection,
    ExecuteAction,
    HealthOut,
    RotateCredentials,
)

router = APIRouter(prefix="/v1/connections", tags=["connections"])


@router.post("", response_model=ConnectionOut, status_code=status.HTTP_201_CREATED)
async def create_connection(
    body: CreateConnection,
    caller: CallerDep,
    container: ContainerDep,
    response: Response,
    idempotency_key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            min_length=1,
            max_length=255,
            pattern=r"^[\x21-\x7e]+$",
            description="Makes the create safe to retry: a retry with the same key returns (and "
            "finishes) the connection the first attempt made. Kept for a day.",
        ),
    ] = None,
) -> ConnectionOut:
    """API-key/basic/bearer: credentials go to the vault, a health check decides the status
    (active, token_invalid or error). OAuth: the connection waits in ``initializing`` for the
    oauth flow."""
    connection, replayed = await container.connections.create(
        caller,
        connector_id=body.connector_id,
        name=body.name,
        config=body.config,
        credentials=body.credentials,
        idempotency_key=idempotency_key,
    )
    if replayed:
        response.headers["idempotent-replayed"] = "true"
    return ConnectionOut.of(connection)


@router.get("", response_model=ConnectionList)
async def list_connections(
    caller: CallerDep,
    container: ContainerDep,
    category: ConnectorCategory | None = None,
    include_disconnected: bool = Query(False),
) -> ConnectionList:
    found = await container.connections.list(
        caller, category=str(category) if category else None, include_disconnected=include_disconnected
    )
    return ConnectionList(connections=[ConnectionOut.of(c) for c in found])


@router.get("/{connection_id}", response_model=ConnectionOut)
async def get_connection(
    connection_id: ConnectionIdDep, caller: CallerDep, container: ContainerDep
) -> ConnectionOut:
    return ConnectionOut.of(await container.connections.get(caller, connection_id))


@router.delete("/{connection_id}", response_model=ConnectionOut)
async def disconnect(
    connection_id: ConnectionIdDep, caller: CallerDep, container: ContainerDep
) -> ConnectionOut:
    """Revoke at the provider (oauth connections), delete the credentials, emit
    ``integration.disconnected``. Repeating it is harmless."""
    return ConnectionOut.of(await container.connections.disconnect(caller, connection_id))


@router.put("/{connection_id}/credentials", response_model=ConnectionOut)
async def rotate_credentials(
    connection_id: ConnectionIdDep, body: RotateCredentials, caller: CallerDep, container: ContainerDep
) -> ConnectionOut:
    """New credentials for an API-key, basic or bearer connection (a rotated key): checked
    against the connector's fields, stored in the vault in place of the old ones (every gateway
    replica drops the old one on ``credential.changed``), then health-checked. OAuth connections
    reconnect through the OAuth flow instead (``422 credentials_not_accepted``)."""
    return ConnectionOut.of(await container.connection_admin.rotate(caller, connection_id, body.credentials))


@router.post("/{connection_id}/health", response_model=HealthOut)
async def check_health(
    connection_id: ConnectionIdDep, caller: CallerDep, container: ContainerDep
) -> HealthOut:
    connection, health = await container.health.check(caller, connection_id)
    return HealthOut(health=health, connection=ConnectionOut.of(connection))


@router.post("/{connection_id}/actions/{action_id}", response_model=ActionResult)
async def execute_action(
    connection_id: ConnectionIdDep,
    action_id: str,
    body: ExecuteAction,
    caller: CallerDep,
    container: ContainerDep,
    response: Response,
    idempotency_key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            min_length=1,
            max_length=255,
            pattern=r"^[\x21-\x7e]+$",
            description="Makes the action safe to retry: a retry with the same key returns the "
            "first attempt's result (`Idempotent-Replayed: true`) and never runs the action twice; "
            "while the first attempt has no result (still running, or interrupted) the answer is "
            "409 `idempotency_key_in_use`. Kept for a day.",
        ),
    ] = None,
) -> ActionResult:
    """200 with the ActionResult whenever the action ran (``success`` says how it went). When
    the provider or the gateway said when to try again, ``Retry-After`` says it too."""
    if idempotency_key is None:
        result = await container.actions.execute(caller, connection_id, action_id, body.parameters)
    else:
        result, replayed = await container.actions.execute_once(
            caller, connection_id, action_id, body.parameters, idempotency_key
        )
        if replayed:
            response.headers["idempotent-replayed"] = "true"
    if result.retry_after_s is not None:
        response.headers["Retry-After"] = str(math.ceil(result.retry_after_s))
    return result
